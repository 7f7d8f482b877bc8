//! The conversation on screen: each message shown once (by id) in seq
//! order, the resume cursor (the last contiguous seq, so a reconnect replays
//! a gap instead of skipping it), edits and deletes, the history refetch
//! that catches changes made while away, and pages of older history. A live
//! message is also news: it is announced, counted and maybe beeped.

use super::mentions::mentions;
use super::reading::BEEP_EVERY_MS;
use super::{Effect, Model};
use protocol::{Event, Message, MessageId};

/// Messages per page of older history.
pub const HISTORY_PAGE: u32 = 50;

impl Model {
    /// The seqs on screen, in display order.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.messages.keys().copied()
    }

    /// Whether a message with this id is on screen.
    pub fn has(&self, id: &MessageId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Whether `seq` is a message of mine that is not deleted.
    pub fn is_mine(&self, seq: u64) -> bool {
        self.authors.get(&seq) == Some(&self.me)
            && self
                .sources
                .get(&seq)
                .is_none_or(|m| m.deleted_at.is_none())
    }

    /// Moves the cursor over every seq that is now contiguous with it.
    pub(super) fn advance_cursor(&mut self) {
        while self.messages.contains_key(&(self.last_seq + 1)) {
            self.last_seq += 1;
        }
    }

    /// The newest seq on screen.
    pub(super) fn newest(&self) -> u64 {
        self.messages.keys().next_back().copied().unwrap_or(0)
    }

    /// The seq of my newest message that is not deleted.
    pub(super) fn my_last(&self) -> Option<u64> {
        self.messages
            .keys()
            .rev()
            .copied()
            .find(|&seq| self.is_mine(seq))
    }

    /// A new message for the screen. `live` ones (not history pages) count
    /// as news: the unread count, the beep, notifications and participants.
    pub(super) fn on_message(&mut self, message: Message, live: bool, fx: &mut Vec<Effect>) {
        if message.room != self.room {
            return;
        }
        if let Some(&seq) = self.by_id.get(&message.id) {
            // Shown already, but from a copy without `html` (an upload's
            // answer, say, so its body is plain text): the stream's copy
            // has it, so draw the rendered body now.
            let bare = self
                .sources
                .get(&seq)
                .is_some_and(|known| known.html.is_empty());
            if bare && seq == message.seq && !message.html.is_empty() {
                self.sources.insert(seq, message.clone());
                fx.push(Effect::RenderMessage(message));
            }
            return;
        }
        // A different id at a seq we already show cannot happen with a sane
        // server; keep what is on screen rather than show two at one position.
        if self.messages.contains_key(&message.seq) {
            return;
        }
        self.by_id.insert(message.id.clone(), message.seq);
        self.messages.insert(message.seq, message.id.clone());
        self.authors.insert(message.seq, message.author.clone());
        self.sources.insert(message.seq, message.clone());
        let before = self.last_seq;
        self.advance_cursor();
        let mine = match self.acked.remove(&message.id) {
            Some(client_msg_id) => Some(client_msg_id),
            None if message.author == self.me => message.client_msg_id.clone(),
            None => None,
        };
        let from_other = message.author != self.me;
        if live {
            self.saw_author(&message, fx);
            if self.typing.remove(&message.author).is_some() {
                self.show_typing(fx);
            }
        }
        let news = live && from_other && message.deleted_at.is_none();
        let mentioned = mentions(&message, &self.me);
        let (seq, title, body) = (
            message.seq,
            format!("{} mentioned you", message.author_name),
            message.body.chars().take(140).collect::<String>(),
        );
        let announce = format!("{}: {body}", message.author_name);
        fx.push(Effect::RenderMessage(message));
        if self.last_seq != before {
            fx.push(Effect::ShowCursor(self.last_seq));
        }
        if let Some(client_msg_id) = mine {
            self.settle(&client_msg_id, fx);
        }
        if news {
            fx.push(Effect::Announce(announce));
            if !self.at_bottom {
                self.below += 1;
                fx.push(Effect::ShowNewBelow(self.below));
            }
            if self.hidden || !self.focused {
                self.unseen += 1;
                fx.push(Effect::ShowTitleCount(self.unseen));
                let quiet = self
                    .beep_ms
                    .is_some_and(|at| self.now_ms - at < BEEP_EVERY_MS);
                if !self.muted && !quiet {
                    self.beep_ms = Some(self.now_ms);
                    fx.push(Effect::Beep);
                }
                if mentioned && self.notify {
                    fx.push(Effect::Notify { title, body, seq });
                }
            }
        }
        if live {
            self.mark_read(fx);
        }
    }

    /// An edit or delete of a message on screen.
    pub(super) fn on_changed(&mut self, message: Message, fx: &mut Vec<Effect>) {
        if self.by_id.get(&message.id) != Some(&message.seq) {
            return;
        }
        if self.editing == Some(message.seq) {
            self.editing = None;
            fx.push(Effect::CloseEditor);
        }
        if self.reply_to == Some(message.seq) && message.deleted_at.is_some() {
            self.reply_to = None;
            fx.push(Effect::ShowReply(None));
        }
        self.sources.insert(message.seq, message.clone());
        fx.push(Effect::RenderMessage(message));
    }

    pub(super) fn on_event(&mut self, event: Event, fx: &mut Vec<Effect>) {
        match event {
            Event::Message { message } => self.on_message(message, true, fx),
            Event::Edited { message } | Event::Deleted { message } => {
                self.on_changed(message, fx);
            }
            Event::Presence {
                user,
                name,
                presence,
            } => self.on_presence(user, name, presence, fx),
            Event::Typing { user, name } => self.on_typing(user, name, fx),
            // The members panel is the server's to render (with the forms
            // the reader may use): fetch it again.
            Event::Membership { .. } => fx.push(Effect::RefreshPeople),
            Event::Profile { user, avatar, .. } => fx.push(Effect::ShowFace { user, avatar }),
            // Notifications come on the user's own channel, not a room's.
            Event::Notification { .. } => {}
        }
    }

    pub(super) fn on_history(&mut self, messages: Vec<Message>, older: bool, fx: &mut Vec<Effect>) {
        if older {
            self.loading_older = false;
            let oldest = messages.iter().map(|m| m.seq).min();
            if oldest.is_none_or(|s| s <= 1) {
                self.history_complete = true;
            }
            let mut fresh: Vec<Message> = messages
                .into_iter()
                .filter(|m| m.room == self.room && !self.by_id.contains_key(&m.id))
                .filter(|m| !self.messages.contains_key(&m.seq))
                .collect();
            fresh.sort_by_key(|m| m.seq);
            for m in &fresh {
                self.by_id.insert(m.id.clone(), m.seq);
                self.messages.insert(m.seq, m.id.clone());
                self.authors.insert(m.seq, m.author.clone());
                self.sources.insert(m.seq, m.clone());
            }
            if !fresh.is_empty() {
                fx.push(Effect::RenderOlder(fresh));
            }
            return;
        }
        let mut messages = messages;
        messages.sort_by_key(|m| m.seq);
        for m in messages {
            if m.room != self.room {
                continue;
            }
            match self.by_id.get(&m.id) {
                Some(&seq) if seq == m.seq => {
                    // Re-render what changed since it was drawn, and what the
                    // server's markup cannot show (reply links, mentions).
                    let redraw = match self.sources.get(&seq) {
                        Some(known) => known != &m,
                        None => {
                            m.edited_at.is_some()
                                || m.deleted_at.is_some()
                                || m.reply_to.is_some()
                                || mentions(&m, &self.me)
                        }
                    };
                    self.sources.insert(seq, m.clone());
                    if redraw {
                        fx.push(Effect::RenderMessage(m));
                    }
                }
                Some(_) => {}
                None => self.on_message(m, false, fx),
            }
        }
    }

    /// A history request failed: the next scroll to the top asks again.
    pub(super) fn history_failed(&mut self, older: bool) {
        if older {
            self.loading_older = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::*;
    use crate::state::Known;
    use crate::state::*;
    use protocol::{Event, MessageId, RoomId, ServerFrame, UserId};

    #[test]
    fn a_message_delivered_twice_is_rendered_once() {
        let mut m = connected(0);
        assert_eq!(rendered(&update(&mut m, event(message(1, "bob")))), vec![1]);
        assert!(rendered(&update(&mut m, event(message(1, "bob")))).is_empty());
        assert_eq!(m.seqs().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn server_rendered_messages_are_not_rendered_again() {
        let known = [Known {
            seq: 3,
            id: MessageId::new("m3"),
            author: UserId::new("bob"),
        }];
        let mut m = Model::new(config(3), known);
        assert!(rendered(&update(&mut m, event(message(3, "bob")))).is_empty());
        assert_eq!(rendered(&update(&mut m, event(message(4, "bob")))), vec![4]);
        assert_eq!(m.last_seq, 4);
    }

    #[test]
    fn out_of_order_arrivals_are_ordered_and_hold_the_cursor_at_the_gap() {
        let mut m = connected(1);
        update(&mut m, event(message(3, "bob")));
        assert_eq!(m.last_seq, 1, "seq 2 is missing, so resume from 1");
        update(&mut m, event(message(4, "bob")));
        assert_eq!(m.last_seq, 1);
        update(&mut m, event(message(2, "bob")));
        assert_eq!(
            m.last_seq, 4,
            "the gap filled: the cursor jumps over 3 and 4"
        );
        assert_eq!(m.seqs().collect::<Vec<_>>(), vec![2, 3, 4]);
    }

    #[test]
    fn reset_reloads_the_page() {
        let mut m = connected(0);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Reset {
                room: RoomId::new("r1"),
                first_seq: 40,
            }),
        );
        assert_eq!(fx, vec![Effect::Reload]);
        // A reset for another room is not ours to act on.
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Reset {
                room: RoomId::new("elsewhere"),
                first_seq: 40,
            }),
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn the_cursor_is_shown_when_it_moves() {
        let mut m = connected(1);
        let fx = update(&mut m, event(message(3, "bob")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowCursor(_))));
        let fx = update(&mut m, event(message(2, "bob")));
        assert!(fx.contains(&Effect::ShowCursor(3)));
    }

    #[test]
    fn edits_and_deletes_rerender_known_messages_only() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "bob")));
        let mut edited = message(1, "bob");
        edited.body = "changed".into();
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Edited { message: edited },
            }),
        );
        assert_eq!(rendered(&fx), vec![1]);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Deleted {
                    message: message(9, "bob"),
                },
            }),
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn events_for_other_rooms_are_ignored() {
        let mut m = connected(0);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("elsewhere"),
                event: Event::Message {
                    message: message(1, "bob"),
                },
            }),
        );
        assert!(fx.is_empty());
        assert_eq!(m.last_seq, 0);
    }

    #[test]
    fn the_history_refetch_redraws_what_changed_and_learns_sources() {
        let known = [Known {
            seq: 1,
            id: MessageId::new("m1"),
            author: UserId::new("alice"),
        }];
        let mut m = Model::new(config(1), known);
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketOpened);
        update(&mut m, subscribed());
        // Unknown source: Up cannot edit yet.
        assert!(matches!(
            &update(&mut m, Msg::StartEdit(None))[..],
            [Effect::Notice(_)]
        ));
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![message(1, "alice"), message(2, "bob")],
                older: false,
            },
        );
        assert_eq!(rendered(&fx), vec![2], "1 is unchanged, 2 is new");
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![edited(message(1, "alice"), "new")],
                older: false,
            },
        );
        assert_eq!(rendered(&fx), vec![1]);
        assert!(matches!(
            &update(&mut m, Msg::StartEdit(None))[..],
            [Effect::OpenEditor { seq: 1, .. }]
        ));
    }
}
