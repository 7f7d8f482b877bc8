//! What the reader does to one message: edit or delete one of their own
//! (Up in the empty input edits the last), reply to any, open its thread.

use super::{Effect, Model};
use protocol::Thread;

impl Model {
    /// Opens the inline editor on my message `target` (`None`: my last).
    pub(super) fn start_edit(&mut self, target: Option<u64>, fx: &mut Vec<Effect>) {
        let Some(seq) = target.or_else(|| self.my_last()) else {
            return;
        };
        if !self.can_post || !self.is_mine(seq) {
            return;
        }
        let Some(source) = self.sources.get(&seq) else {
            fx.push(Effect::Notice(
                "That message is still loading; try again in a moment.".to_owned(),
            ));
            return;
        };
        let body = source.body.clone();
        if self.editing.is_some() {
            fx.push(Effect::CloseEditor);
        }
        self.editing = Some(seq);
        fx.push(Effect::OpenEditor { seq, body });
    }

    /// The inline editor was submitted: a changed, non-empty body is saved.
    pub(super) fn edit_submitted(&mut self, body: String, fx: &mut Vec<Effect>) {
        let Some(seq) = self.editing.take() else {
            return;
        };
        fx.push(Effect::CloseEditor);
        let unchanged = self.sources.get(&seq).is_some_and(|m| m.body == body);
        if body.trim().is_empty() {
            fx.push(Effect::Notice(
                "An edit cannot be empty; delete the message instead.".to_owned(),
            ));
        } else if body.len() > protocol::MAX_BODY_BYTES {
            fx.push(Effect::Notice(format!(
                "Message too long: {} bytes, the limit is {}.",
                body.len(),
                protocol::MAX_BODY_BYTES
            )));
        } else if !unchanged {
            fx.push(Effect::PatchMessage { seq, body });
        }
    }

    /// The inline editor was cancelled.
    pub(super) fn edit_cancelled(&mut self, fx: &mut Vec<Effect>) {
        if self.editing.take().is_some() {
            fx.push(Effect::CloseEditor);
        }
    }

    /// Deletes my message `seq` (the reader confirmed).
    pub(super) fn delete(&mut self, seq: u64, fx: &mut Vec<Effect>) {
        if self.is_mine(seq) {
            fx.push(Effect::DeleteMessage { seq });
        }
    }

    /// Quotes message `target` above the input for the next send (`None`: no more).
    pub(super) fn set_reply(&mut self, target: Option<u64>, fx: &mut Vec<Effect>) {
        let target = target.filter(|seq| self.messages.contains_key(seq));
        if target != self.reply_to {
            self.reply_to = target;
            fx.push(Effect::ShowReply(target));
        }
    }

    /// Asks for the thread of message `seq`.
    pub(super) fn open_thread(&mut self, seq: u64, fx: &mut Vec<Effect>) {
        fx.push(Effect::FetchThread { seq });
    }

    /// Shows a thread that arrived.
    pub(super) fn thread_loaded(&mut self, thread: Thread, fx: &mut Vec<Effect>) {
        self.thread = Some(thread.parent.seq);
        fx.push(Effect::ShowThread(thread));
    }

    /// Closes the thread panel.
    pub(super) fn close_thread(&mut self, fx: &mut Vec<Effect>) {
        self.thread = None;
        fx.push(Effect::CloseThread);
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::*;
    use crate::state::*;
    use protocol::{ClientFrame, Event, Thread};

    #[test]
    fn up_edits_my_last_message_and_a_save_patches_it() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "alice")));
        update(&mut m, event(message(2, "alice")));
        update(&mut m, event(message(3, "bob")));
        let fx = update(&mut m, Msg::StartEdit(None));
        assert_eq!(
            fx,
            vec![Effect::OpenEditor {
                seq: 2,
                body: "message 2".into()
            }]
        );
        let fx = update(&mut m, Msg::EditSubmitted("changed".into()));
        assert_eq!(
            fx,
            vec![
                Effect::CloseEditor,
                Effect::PatchMessage {
                    seq: 2,
                    body: "changed".into()
                }
            ]
        );
        // Others' messages cannot be edited or deleted.
        assert!(update(&mut m, Msg::StartEdit(Some(3))).is_empty());
        assert!(update(&mut m, Msg::Delete(3)).is_empty());
        assert_eq!(
            update(&mut m, Msg::Delete(1)),
            vec![Effect::DeleteMessage { seq: 1 }]
        );
        // Esc cancels; an unchanged save sends nothing.
        update(&mut m, Msg::StartEdit(Some(1)));
        assert_eq!(
            update(&mut m, Msg::EditCancelled),
            vec![Effect::CloseEditor]
        );
        update(&mut m, Msg::StartEdit(Some(1)));
        assert_eq!(
            update(&mut m, Msg::EditSubmitted("message 1".into())),
            vec![Effect::CloseEditor]
        );
    }

    #[test]
    fn a_deleted_message_is_rendered_as_such_and_no_longer_mine_to_edit() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "alice")));
        let mut gone = message(1, "alice");
        gone.body.clear();
        gone.deleted_at = Some(gone.created_at);
        let fx = update(&mut m, ev(Event::Deleted { message: gone }));
        assert!(matches!(&fx[..], [Effect::RenderMessage(msg)] if msg.deleted_at.is_some()));
        assert!(update(&mut m, Msg::StartEdit(None)).is_empty());
    }

    #[test]
    fn a_reply_carries_the_parent_seq_and_clears_the_quote() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "bob")));
        assert_eq!(
            update(&mut m, Msg::ReplyTo(Some(1))),
            vec![Effect::ShowReply(Some(1))]
        );
        assert!(update(&mut m, Msg::ReplyTo(Some(99))).contains(&Effect::ShowReply(None)));
        update(&mut m, Msg::ReplyTo(Some(1)));
        let fx = submit(&mut m, "yes", "c1");
        assert!(fx.contains(&Effect::ShowReply(None)));
        assert!(matches!(
            &sent(&fx)[..],
            [ClientFrame::Send {
                reply_to: Some(1),
                ..
            }]
        ));
        assert_eq!(m.reply_to, None);
    }

    #[test]
    fn a_thread_is_fetched_then_shown_and_closed_through_update() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "bob")));
        assert_eq!(
            update(&mut m, Msg::OpenThread(1)),
            vec![Effect::FetchThread { seq: 1 }]
        );
        assert_eq!(m.thread, None, "nothing on show until it arrives");
        let mut reply = message(2, "carol");
        reply.reply_to = Some(1);
        let thread = Thread {
            parent: message(1, "bob"),
            replies: vec![reply],
        };
        assert_eq!(
            update(&mut m, Msg::ThreadLoaded(thread.clone())),
            vec![Effect::ShowThread(thread)]
        );
        assert_eq!(m.thread, Some(1));
        assert_eq!(update(&mut m, Msg::CloseThread), vec![Effect::CloseThread]);
        assert_eq!(m.thread, None);
    }
}
