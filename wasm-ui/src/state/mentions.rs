//! `@`-mentions: spotting them in messages (for notifications) and
//! completing them in the input. The completion list is state like any
//! other: the view reports the text and caret ([`Msg::MentionQuery`]), keys
//! and clicks move or pick ([`Msg::MentionMove`], [`Msg::MentionPick`]), and
//! [`Effect::ShowMentions`] and [`Effect::SetInput`] draw the result.
//!
//! [`Msg::MentionQuery`]: super::Msg::MentionQuery
//! [`Msg::MentionMove`]: super::Msg::MentionMove
//! [`Msg::MentionPick`]: super::Msg::MentionPick

use super::people::Person;
use super::{Effect, Model};
use crate::case;
use protocol::{Message, UserId};

/// Whether `message` mentions `me` (the server's parsed `mentions`).
pub fn mentions(message: &Message, me: &UserId) -> bool {
    !me.as_str().is_empty() && message.mentions.contains(me)
}

/// The `@name` being typed at `caret` (a byte offset), if any: the text
/// after an `@` that starts a word, up to the caret.
pub fn mention_query(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    let word = query
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (starts_word && word).then_some((at, query))
}

/// Up to 6 people whose id or name starts with `query` (case-insensitive),
/// in the order given, without repeats and without me.
pub fn mention_candidates<'a>(
    query: &str,
    people: impl IntoIterator<Item = &'a Person>,
    me: &UserId,
) -> Vec<Person> {
    let q = case::lower(query);
    let mut out: Vec<Person> = Vec::new();
    for p in people {
        let hit =
            case::lower(p.id.as_str()).starts_with(&q) || case::lower(&p.name).starts_with(&q);
        if hit && &p.id != me && !out.iter().any(|o| o.id == p.id) {
            out.push(Person {
                presence: None,
                ..p.clone()
            });
        }
        if out.len() == 6 {
            break;
        }
    }
    out
}

/// The `@` completions on offer, and the highlighted one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Up to 6 people matching the `@word` at the caret (empty: hidden).
    pub people: Vec<Person>,
    /// The index of the highlighted one.
    pub selected: usize,
}

impl Model {
    /// The `@` completions on offer (empty: none shown).
    pub fn completions(&self) -> &[Person] {
        &self.completion.people
    }

    /// Offers completions for the `@word` at `caret` in `text` (none: hidden).
    pub(super) fn query_mentions(&mut self, text: &str, caret: usize, fx: &mut Vec<Effect>) {
        let people = match mention_query(text, caret) {
            Some((_, query)) => mention_candidates(query, &self.people(), &self.me),
            None => Vec::new(),
        };
        self.completion = Completion {
            people: people.clone(),
            selected: 0,
        };
        fx.push(Effect::ShowMentions {
            people,
            selected: 0,
        });
    }

    /// Moves the highlight one down (or up), wrapping around.
    pub(super) fn move_mention(&mut self, down: bool, fx: &mut Vec<Effect>) {
        let len = self.completion.people.len();
        if len == 0 {
            return;
        }
        let at = self.completion.selected;
        self.completion.selected = if down {
            (at + 1) % len
        } else {
            (at + len - 1) % len
        };
        fx.push(Effect::ShowMentions {
            people: self.completion.people.clone(),
            selected: self.completion.selected,
        });
    }

    /// Completes with `user` (`None`: the highlighted one): the `@word` at
    /// `caret` in `text` becomes `@id `, and the list closes.
    pub(super) fn pick_mention(
        &mut self,
        user: Option<UserId>,
        text: &str,
        caret: usize,
        fx: &mut Vec<Effect>,
    ) {
        let chosen = match user {
            Some(id) => self.completion.people.iter().find(|p| p.id == id),
            None => self.completion.people.get(self.completion.selected),
        };
        let Some(person) = chosen.cloned() else {
            return;
        };
        if let Some((at, _)) = mention_query(text, caret) {
            let mut next = String::with_capacity(text.len() + person.id.as_str().len() + 2);
            next.push_str(&text[..at]);
            next.push('@');
            next.push_str(person.id.as_str());
            next.push(' ');
            let end = next.len();
            next.push_str(&text[caret..]);
            fx.push(Effect::SetInput {
                text: next.clone(),
                caret: end,
            });
            self.draft_changed(next, fx);
        }
        self.close_mentions(fx);
        fx.push(Effect::FocusInput);
    }

    /// Hides the completions.
    pub(super) fn close_mentions(&mut self, fx: &mut Vec<Effect>) {
        self.completion = Completion::default();
        fx.push(Effect::ShowMentions {
            people: Vec::new(),
            selected: 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::*;
    use crate::state::*;
    use protocol::{Presence, UserId};

    #[test]
    fn the_word_at_the_caret_is_completed_from_people_but_me() {
        assert_eq!(mention_query("hi @bo", 6), Some((3, "bo")));
        assert_eq!(mention_query("mail a@b", 8), None, "not at a word start");
        assert_eq!(mention_query("@", 1), Some((0, "")));
        assert_eq!(mention_query("@bob hi", 7), None);
        let people = [
            Person {
                id: UserId::new("bob"),
                name: "Bob".into(),
                presence: Some(Presence::Active),
            },
            Person {
                id: UserId::new("alice"),
                name: "Alice".into(),
                presence: None,
            },
            Person {
                id: UserId::new("bob"),
                name: "Bob".into(),
                presence: None,
            },
        ];
        let found = mention_candidates("B", &people, &UserId::new("alice"));
        assert_eq!(found.len(), 1);
        assert!(mention_candidates("a", &people, &UserId::new("alice")).is_empty());
    }

    fn person(id: &str, name: &str) -> Person {
        Person {
            id: UserId::new(id),
            name: name.into(),
            presence: None,
        }
    }

    /// Connected, with Bob and Bea among the participants.
    fn with_bs() -> Model {
        connected(0).with_people(vec![], vec![person("bob", "Bob"), person("bea", "Bea")])
    }

    #[test]
    fn completions_follow_the_caret_wrap_round_and_insert_the_id() {
        let mut m = with_bs();
        let both = vec![person("bob", "Bob"), person("bea", "Bea")];
        let fx = update(
            &mut m,
            Msg::MentionQuery {
                text: "hi @b".into(),
                caret: 5,
            },
        );
        assert_eq!(
            fx,
            vec![Effect::ShowMentions {
                people: both.clone(),
                selected: 0
            }]
        );
        // Down twice wraps round to the first; Up from there is the last.
        update(&mut m, Msg::MentionMove { down: true });
        assert_eq!(
            update(&mut m, Msg::MentionMove { down: true }),
            vec![Effect::ShowMentions {
                people: both.clone(),
                selected: 0
            }]
        );
        assert_eq!(
            update(&mut m, Msg::MentionMove { down: false }),
            vec![Effect::ShowMentions {
                people: both,
                selected: 1
            }]
        );
        // Enter picks the highlighted one; the text after the caret stays.
        let fx = update(
            &mut m,
            Msg::MentionPick {
                user: None,
                text: "hi @b and more".into(),
                caret: 5,
            },
        );
        assert_eq!(
            fx.first(),
            Some(&Effect::SetInput {
                text: "hi @bea  and more".into(),
                caret: 8
            })
        );
        assert!(sent(&fx).contains(&ClientFrame::Typing {
            room: RoomId::new("r1")
        }));
        assert_eq!(
            fx[fx.len() - 2..],
            [
                Effect::ShowMentions {
                    people: vec![],
                    selected: 0
                },
                Effect::FocusInput
            ]
        );
        assert_eq!(m.draft, "hi @bea  and more");
        assert!(m.completions().is_empty());
    }

    #[test]
    fn no_word_at_the_caret_hides_the_list_and_a_stranger_is_not_inserted() {
        let mut m = with_bs();
        let hidden = vec![Effect::ShowMentions {
            people: vec![],
            selected: 0,
        }];
        let query = |text: &str, caret| Msg::MentionQuery {
            text: text.into(),
            caret,
        };
        assert_eq!(update(&mut m, query("hi bob", 6)), hidden);
        update(&mut m, query("@", 1));
        assert_eq!(m.completions().len(), 2, "everyone but me");
        // A click on someone no longer offered changes nothing.
        let fx = update(
            &mut m,
            Msg::MentionPick {
                user: Some(UserId::new("zed")),
                text: "@".into(),
                caret: 1,
            },
        );
        assert!(fx.is_empty());
        // A click on one offered, after the caret left the word: no
        // insertion, but the list closes.
        let fx = update(
            &mut m,
            Msg::MentionPick {
                user: Some(UserId::new("bea")),
                text: "@ x".into(),
                caret: 3,
            },
        );
        assert_eq!(fx, [hidden.clone(), vec![Effect::FocusInput]].concat());
        update(&mut m, query("@", 1));
        assert_eq!(update(&mut m, Msg::MentionsClosed), hidden);
        assert!(update(&mut m, Msg::MentionMove { down: true }).is_empty());
    }
}
