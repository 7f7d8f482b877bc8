//! Who is around: "Here now" (presence events and my own heartbeats), the
//! participants (everyone who has posted, most recent first), and "is
//! typing" (theirs shown for a while, mine sent at most every few seconds).

use super::ladder::ConnState;
use super::{Effect, Model};
use crate::case;
use protocol::{ClientFrame, Message, Presence, UserId};

/// A presence heartbeat goes out this often (the server forgets after 45 s).
pub const PRESENCE_EVERY_MS: f64 = 20_000.0;

/// Someone's "is typing" line disappears this long after their last notice.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

/// My own typing notices go out at most this often.
pub const TYPING_EVERY_MS: f64 = 3_000.0;

/// A person listed in the info panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    /// `None` in the participants list; the status in "Here now".
    pub presence: Option<Presence>,
}

/// "Bob is typing…", "Bob and Carol are typing…", "Several people are typing…".
pub fn typing_text(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("{one} is typing…"),
        [a, b] => format!("{a} and {b} are typing…"),
        _ => "Several people are typing…".to_owned(),
    }
}

impl Model {
    /// Fills the info panel's lists as the server rendered them.
    pub fn with_people(mut self, present: Vec<Person>, participants: Vec<Person>) -> Self {
        self.present = present.into_iter().map(|p| (p.id.clone(), p)).collect();
        self.participants = participants;
        self
    }

    /// Who is here now, sorted by name.
    pub fn present(&self) -> Vec<Person> {
        let mut people: Vec<Person> = self.present.values().cloned().collect();
        people.sort_by_key(|p| case::lower(&p.name));
        people
    }

    /// Everyone who has posted, most recent first.
    pub fn participants(&self) -> &[Person] {
        &self.participants
    }

    /// People to offer for `@` completion: here now first, then participants.
    pub fn people(&self) -> Vec<Person> {
        let mut people = self.present();
        people.extend(self.participants.iter().cloned());
        people
    }

    pub(super) fn my_status(&self) -> Presence {
        if self.hidden {
            Presence::Away
        } else {
            Presence::Active
        }
    }

    pub(super) fn heartbeat(&mut self, fx: &mut Vec<Effect>) {
        if self.connection != ConnState::Connected || !self.signed_in() {
            return;
        }
        self.presence_sent_ms = Some(self.now_ms);
        self.out(
            ClientFrame::Presence {
                room: self.room.clone(),
                status: Some(self.my_status()),
            },
            fx,
        );
    }

    pub(super) fn show_typing(&self, fx: &mut Vec<Effect>) {
        let names: Vec<&str> = self.typing.values().map(|(n, _)| n.as_str()).collect();
        fx.push(Effect::ShowTyping(typing_text(&names)));
    }

    /// Puts `author` first in the participants list.
    pub(super) fn saw_author(&mut self, message: &Message, fx: &mut Vec<Effect>) {
        if self
            .participants
            .first()
            .is_some_and(|p| p.id == message.author)
        {
            return;
        }
        self.participants.retain(|p| p.id != message.author);
        self.participants.insert(
            0,
            Person {
                id: message.author.clone(),
                name: message.author_name.clone(),
                presence: None,
            },
        );
        fx.push(Effect::ShowParticipants(self.participants.clone()));
    }

    /// Someone came, changed status or left "Here now".
    pub(super) fn on_presence(
        &mut self,
        user: UserId,
        name: String,
        presence: Option<Presence>,
        fx: &mut Vec<Effect>,
    ) {
        let shown = match presence {
            Some(Presence::Invisible) | None => None,
            Some(p) => Some(p),
        };
        let changed = match shown {
            Some(p) => {
                let person = Person {
                    id: user.clone(),
                    name,
                    presence: Some(p),
                };
                self.present.insert(user, person.clone()) != Some(person)
            }
            None => self.present.remove(&user).is_some(),
        };
        if changed {
            fx.push(Effect::ShowPresent(self.present()));
        }
    }

    /// Someone is typing: shown for [`TYPING_SHOWN_MS`].
    pub(super) fn on_typing(&mut self, user: UserId, name: String, fx: &mut Vec<Effect>) {
        if user == self.me {
            return;
        }
        self.typing
            .insert(user, (name, self.now_ms + TYPING_SHOWN_MS));
        self.show_typing(fx);
    }

    /// Drops the "is typing" lines whose time is up.
    pub(super) fn expire_typing(&mut self, fx: &mut Vec<Effect>) {
        let now = self.now_ms;
        let before = self.typing.len();
        self.typing.retain(|_, (_, until)| *until > now);
        if self.typing.len() != before {
            self.show_typing(fx);
        }
    }

    /// Repeats the presence heartbeat every [`PRESENCE_EVERY_MS`].
    pub(super) fn heartbeat_if_due(&mut self, fx: &mut Vec<Effect>) {
        if self
            .presence_sent_ms
            .is_some_and(|at| self.now_ms - at >= PRESENCE_EVERY_MS)
        {
            self.heartbeat(fx);
        }
    }

    /// The input changed: more text is typing, told at most every
    /// [`TYPING_EVERY_MS`].
    pub(super) fn draft_changed(&mut self, text: String, fx: &mut Vec<Effect>) {
        let due = self
            .typing_sent_ms
            .is_none_or(|at| self.now_ms - at >= TYPING_EVERY_MS);
        // A command being typed is nobody's business.
        let typing = !text.trim().is_empty()
            && !text.trim_start().starts_with('/')
            && text.len() > self.draft.len();
        self.draft = text;
        if typing && due && self.can_post && self.connection == ConnState::Connected {
            self.typing_sent_ms = Some(self.now_ms);
            self.out(
                ClientFrame::Typing {
                    room: self.room.clone(),
                },
                fx,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::*;
    use crate::state::*;
    use protocol::{ClientFrame, Event, Presence, RoomId, UserId};

    fn presence(user: &str, p: Option<Presence>) -> Msg {
        ev(Event::Presence {
            user: UserId::new(user),
            name: user.to_uppercase(),
            presence: p,
        })
    }

    #[test]
    fn subscribing_sends_a_presence_heartbeat_and_repeats_it_every_20_seconds() {
        let mut m = Model::new(config(0), []);
        m.now_ms = 1_000.0;
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketOpened);
        let active = ClientFrame::Presence {
            room: RoomId::new("r1"),
            status: Some(Presence::Active),
        };
        assert!(sent(&update(&mut m, subscribed())).contains(&active));
        m.now_ms = 20_000.0;
        assert!(!sent(&update(&mut m, Msg::Clock)).contains(&active));
        m.now_ms = 21_000.0;
        assert!(sent(&update(&mut m, Msg::Clock)).contains(&active));
        // Hiding the page says "away" at once.
        let fx = update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        assert!(sent(&fx).contains(&ClientFrame::Presence {
            room: RoomId::new("r1"),
            status: Some(Presence::Away),
        }));
    }

    #[test]
    fn presence_events_update_here_now_and_invisible_or_gone_people_leave_it() {
        let mut m = connected(0);
        let fx = update(&mut m, presence("bob", Some(Presence::Active)));
        assert_eq!(
            fx,
            vec![Effect::ShowPresent(vec![Person {
                id: UserId::new("bob"),
                name: "BOB".into(),
                presence: Some(Presence::Active)
            }])]
        );
        assert!(update(&mut m, presence("bob", Some(Presence::Active))).is_empty());
        update(&mut m, presence("amy", Some(Presence::Away)));
        let names: Vec<String> = m.present().into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["AMY", "BOB"]);
        update(&mut m, presence("bob", Some(Presence::Invisible)));
        update(&mut m, presence("amy", None));
        assert!(m.present().is_empty());
    }

    #[test]
    fn a_new_author_goes_to_the_top_of_the_participants() {
        let mut m = connected(0).with_people(
            vec![],
            vec![Person {
                id: UserId::new("bob"),
                name: "bob".into(),
                presence: None,
            }],
        );
        let fx = update(&mut m, event(message(1, "carol")));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::ShowParticipants(p) if p.len() == 2)));
        let ids: Vec<&str> = m.participants().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["carol", "bob"]);
        let fx = update(&mut m, event(message(2, "carol")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowParticipants(_))));
    }

    #[test]
    fn typing_shows_for_five_seconds_and_ends_when_they_post() {
        let mut m = connected(0);
        m.now_ms = 10_000.0;
        let typing = |u: &str| {
            ev(Event::Typing {
                user: UserId::new(u),
                name: u.into(),
            })
        };
        let fx = update(&mut m, typing("bob"));
        assert_eq!(fx, vec![Effect::ShowTyping("bob is typing…".into())]);
        update(&mut m, typing("carol"));
        m.now_ms = 14_000.0;
        update(&mut m, typing("carol"));
        m.now_ms = 15_500.0;
        assert_eq!(
            update(&mut m, Msg::Clock),
            vec![Effect::ShowTyping("carol is typing…".into())]
        );
        let fx = update(&mut m, event(message(1, "carol")));
        assert!(fx.contains(&Effect::ShowTyping(String::new())));
        // My own notices echoed back are not shown.
        assert!(update(&mut m, typing("alice")).is_empty());
        assert_eq!(typing_text(&["a", "b", "c"]), "Several people are typing…");
        assert_eq!(typing_text(&["a", "b"]), "a and b are typing…");
    }

    #[test]
    fn my_typing_notices_go_out_at_most_every_three_seconds() {
        let mut m = connected(0);
        let typing = ClientFrame::Typing {
            room: RoomId::new("r1"),
        };
        m.now_ms = 1_000.0;
        assert_eq!(
            sent(&update(&mut m, Msg::DraftChanged("h".into()))),
            vec![typing.clone()]
        );
        m.now_ms = 2_000.0;
        assert!(sent(&update(&mut m, Msg::DraftChanged("he".into()))).is_empty());
        m.now_ms = 4_100.0;
        assert_eq!(
            sent(&update(&mut m, Msg::DraftChanged("hel".into()))),
            vec![typing]
        );
        // Deleting text is not typing.
        m.now_ms = 9_000.0;
        assert!(sent(&update(&mut m, Msg::DraftChanged("he".into()))).is_empty());
    }

    #[test]
    fn a_membership_change_fetches_the_members_panel_again() {
        let mut m = connected(0);
        let joined = ev(Event::Membership {
            user: UserId::new("carol"),
            name: "Carol".into(),
            role: Some(protocol::Role::Member),
        });
        assert_eq!(update(&mut m, joined), vec![Effect::RefreshPeople]);
        let removed = ev(Event::Membership {
            user: UserId::new("carol"),
            name: "Carol".into(),
            role: None,
        });
        assert_eq!(update(&mut m, removed), vec![Effect::RefreshPeople]);
    }
}
