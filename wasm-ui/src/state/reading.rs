//! What the reader has seen: read marks sent to the server (throttled),
//! the "New messages" divider, the "new messages ↓" button while scrolled
//! up, the unread count in the title while away, beeps and the mute switch,
//! and paging older history in at the top.

use super::{Effect, Model};
use protocol::{ClientFrame, Unread};

/// Read marks go to the server at most this often.
pub const READ_EVERY_MS: f64 = 2_000.0;

/// Two beeps are at least this far apart, however fast messages come.
pub const BEEP_EVERY_MS: f64 = 1_500.0;

impl Model {
    /// Sends a read mark if the reader is at the bottom of a visible page and
    /// there is something new, at most every [`READ_EVERY_MS`].
    pub(super) fn mark_read(&mut self, fx: &mut Vec<Effect>) {
        let newest = self.newest();
        let due = self
            .read_sent_ms
            .is_none_or(|at| self.now_ms - at >= READ_EVERY_MS);
        if !self.read_known
            || !self.signed_in()
            || self.hidden
            || !self.at_bottom
            || newest <= self.read_mark
            || !due
        {
            return;
        }
        self.read_mark = newest;
        self.read_sent_ms = Some(self.now_ms);
        self.out(
            ClientFrame::Read {
                room: self.room.clone(),
                seq: newest,
            },
            fx,
        );
    }

    /// The page was hidden or shown, or the window lost or got focus.
    pub(super) fn visibility(&mut self, hidden: bool, focused: bool, fx: &mut Vec<Effect>) {
        let was_hidden = self.hidden;
        self.hidden = hidden;
        self.focused = focused;
        if !hidden && focused && self.unseen > 0 {
            self.unseen = 0;
            fx.push(Effect::ShowTitleCount(0));
        }
        if was_hidden != hidden {
            self.heartbeat(fx);
        }
        self.mark_read(fx);
    }

    /// The conversation scrolled: at the bottom the news is read; at the
    /// top the page before comes in.
    pub(super) fn scrolled(&mut self, at_bottom: bool, at_top: bool, fx: &mut Vec<Effect>) {
        self.at_bottom = at_bottom;
        if at_bottom && self.below > 0 {
            self.below = 0;
            fx.push(Effect::ShowNewBelow(0));
        }
        if at_top && !self.loading_older && !self.history_complete {
            if let Some(&oldest) = self.messages.keys().next().filter(|&&s| s > 1) {
                self.loading_older = true;
                fx.push(Effect::FetchHistory {
                    before: Some(oldest),
                    older: true,
                });
            }
        }
        self.mark_read(fx);
    }

    /// The server's read mark: the divider goes before the first unread message.
    pub(super) fn read_state(&mut self, unread: Unread, fx: &mut Vec<Effect>) {
        self.read_known = true;
        self.read_mark = self.read_mark.max(unread.last_read_seq);
        if let Some(first) = unread.first_unread {
            // The first unread message on screen (or the oldest shown, if
            // more were missed than the page holds).
            if let Some(&seq) = self.messages.range(first..).next().map(|(s, _)| s) {
                fx.push(Effect::ShowDivider(seq));
            }
        }
        self.mark_read(fx);
    }

    /// The "new messages ↓" button.
    pub(super) fn jump_to_bottom(&mut self, fx: &mut Vec<Effect>) {
        self.below = 0;
        self.at_bottom = true;
        fx.push(Effect::ScrollToBottom);
        fx.push(Effect::ShowNewBelow(0));
        self.mark_read(fx);
    }

    /// The mute button.
    pub(super) fn toggle_mute(&mut self, fx: &mut Vec<Effect>) {
        self.muted = !self.muted;
        fx.push(Effect::ShowMute(self.muted));
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::*;
    use crate::state::*;
    use protocol::{ClientFrame, RoomId, Unread, UserId};

    #[test]
    fn the_divider_goes_before_the_first_unread_message_and_reading_marks_it() {
        let mut m = connected(0);
        for seq in 1..=5 {
            update(&mut m, event(message(seq, "bob")));
        }
        m.at_bottom = false;
        let fx = update(&mut m, Msg::ReadState(Unread::new(2, 5)));
        assert_eq!(fx, vec![Effect::ShowDivider(3)]);
        m.now_ms = 10_000.0;
        let fx = update(
            &mut m,
            Msg::Scrolled {
                at_bottom: true,
                at_top: false,
            },
        );
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Read {
                room: RoomId::new("r1"),
                seq: 5
            }]
        );
        // Throttled: the next one waits for the clock.
        update(&mut m, event(message(6, "bob")));
        assert!(m.read_mark == 5);
        m.now_ms = 12_500.0;
        let fx = update(&mut m, Msg::Clock);
        assert!(sent(&fx).contains(&ClientFrame::Read {
            room: RoomId::new("r1"),
            seq: 6
        }));
        // Missed more than the page holds: the divider goes on the oldest shown.
        let mut m = connected(0);
        update(&mut m, event(message(40, "bob")));
        let fx = update(&mut m, Msg::ReadState(Unread::new(3, 40)));
        assert!(fx.contains(&Effect::ShowDivider(40)));
    }

    #[test]
    fn news_while_hidden_counts_in_the_title_beeps_once_and_notifies_mentions() {
        let mut m = connected(0);
        m.notify = true;
        m.now_ms = 1_000.0;
        update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        let fx = update(&mut m, event(message(1, "bob")));
        assert!(fx.contains(&Effect::ShowTitleCount(1)));
        assert!(fx.contains(&Effect::Beep));
        let mut ping = message(2, "bob");
        ping.mentions = vec![UserId::new("alice")];
        let fx = update(&mut m, event(ping));
        assert!(fx.contains(&Effect::ShowTitleCount(2)));
        assert!(!fx.contains(&Effect::Beep), "too soon after the last beep");
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::Notify { seq: 2, .. })));
        // My own messages are not news.
        let fx = update(&mut m, event(message(3, "alice")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowTitleCount(_))));
        let fx = update(
            &mut m,
            Msg::Visibility {
                hidden: false,
                focused: true,
            },
        );
        assert!(fx.contains(&Effect::ShowTitleCount(0)));
        // Muted: no beep.
        assert_eq!(
            update(&mut m, Msg::ToggleMute),
            vec![Effect::ShowMute(true)]
        );
        update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        m.now_ms = 9_000.0;
        assert!(!update(&mut m, event(message(4, "bob"))).contains(&Effect::Beep));
    }

    #[test]
    fn scrolled_up_news_shows_the_button_and_the_top_loads_older_history() {
        let mut m = connected(0);
        update(&mut m, event(message(60, "bob")));
        let fx = update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true,
            },
        );
        assert_eq!(
            fx,
            vec![Effect::FetchHistory {
                before: Some(60),
                older: true
            }]
        );
        // One request at a time.
        assert!(update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true
            }
        )
        .is_empty());
        let fx = update(&mut m, event(message(61, "bob")));
        assert!(fx.contains(&Effect::ShowNewBelow(1)));
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![message(59, "bob"), message(58, "carol")],
                older: true,
            },
        );
        assert!(
            matches!(&fx[..], [Effect::RenderOlder(v)] if v.iter().map(|m| m.seq).collect::<Vec<_>>() == vec![58, 59])
        );
        assert_eq!(m.seqs().next(), Some(58));
        let fx = update(&mut m, Msg::JumpToBottom);
        assert!(fx.contains(&Effect::ShowNewBelow(0)));
        // The first message reached: no more requests.
        update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true,
            },
        );
        update(
            &mut m,
            Msg::History {
                messages: vec![],
                older: true,
            },
        );
        assert!(update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true
            }
        )
        .is_empty());
    }
}
