//! Sending: the outbox of messages the server has not acknowledged, sent
//! once and in order whenever a transport is up (all at once on a socket,
//! one request at a time over HTTP so the server commits them in order),
//! with a "sending…" placeholder until the message itself arrives.

use super::ladder::ConnState;
use super::{Effect, Model};
use crate::transport::Transport;
use protocol::{ClientFrame, ErrorCode, Message, MessageId, RoomId};

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub client_msg_id: String,
    pub body: String,
    pub reply_to: Option<u64>,
}

impl Outgoing {
    fn frame(&self, room: &RoomId) -> ClientFrame {
        ClientFrame::Send {
            room: room.clone(),
            body: self.body.clone(),
            client_msg_id: self.client_msg_id.clone(),
            reply_to: self.reply_to,
        }
    }
}

impl Model {
    /// The unacknowledged sends, oldest first.
    pub fn outbox(&self) -> impl Iterator<Item = &Outgoing> {
        self.outbox.iter()
    }

    /// Sends `frame` the way the current transport can.
    pub(super) fn out(&self, frame: ClientFrame, fx: &mut Vec<Effect>) {
        if self.transport == Transport::WebSocket {
            fx.push(Effect::Send(frame));
        } else {
            fx.push(Effect::Post(frame));
        }
    }

    /// Sends what is waiting in the outbox: everything, in order, on a
    /// socket; over HTTP the oldest only, the next when it is committed.
    pub(super) fn flush_outbox(&mut self, fx: &mut Vec<Effect>) {
        if self.connection != ConnState::Connected {
            return;
        }
        if self.transport == Transport::WebSocket {
            for o in &self.outbox {
                fx.push(Effect::Send(o.frame(&self.room)));
            }
        } else if self.posting.is_none() {
            if let Some(head) = self.outbox.front() {
                self.posting = Some(head.client_msg_id.clone());
                fx.push(Effect::Post(head.frame(&self.room)));
            }
        }
    }

    /// Drops an outbox entry and its placeholder once its message is on screen.
    pub(super) fn settle(&mut self, client_msg_id: &str, fx: &mut Vec<Effect>) {
        self.outbox.retain(|o| o.client_msg_id != client_msg_id);
        fx.push(Effect::RemovePending {
            client_msg_id: client_msg_id.to_owned(),
        });
    }

    /// The reader sent the input: it joins the outbox, shown as "sending…",
    /// and goes out as soon as the transport allows.
    pub(super) fn submit(&mut self, body: String, client_msg_id: String, fx: &mut Vec<Effect>) {
        if !self.can_post || body.trim().is_empty() {
            return;
        }
        if body.len() > protocol::MAX_BODY_BYTES {
            fx.push(Effect::Notice(format!(
                "Message too long: {} bytes, the limit is {}.",
                body.len(),
                protocol::MAX_BODY_BYTES
            )));
            return;
        }
        // Commands (and `//` escapes) go to the command endpoint, which
        // runs them with the same rights as the buttons.
        if body.trim_start().starts_with('/') {
            self.draft.clear();
            fx.push(Effect::ClearInput);
            fx.push(Effect::RunCommand(body));
            return;
        }
        let out = Outgoing {
            client_msg_id,
            body,
            reply_to: self.reply_to.take(),
        };
        self.draft.clear();
        self.typing_sent_ms = None;
        fx.push(Effect::ClearInput);
        if out.reply_to.is_some() {
            fx.push(Effect::ShowReply(None));
        }
        fx.push(Effect::ShowPending {
            client_msg_id: out.client_msg_id.clone(),
            body: out.body.clone(),
        });
        self.outbox.push_back(out);
        if self.transport == Transport::WebSocket {
            if self.connection == ConnState::Connected {
                if let Some(o) = self.outbox.back() {
                    fx.push(Effect::Send(o.frame(&self.room)));
                }
            }
        } else {
            self.flush_outbox(fx);
        }
    }

    /// An HTTP post was committed: shown at once, and the next one goes.
    pub(super) fn posted(&mut self, client_msg_id: String, message: Message, fx: &mut Vec<Effect>) {
        if self.posting.as_deref() == Some(client_msg_id.as_str()) {
            self.posting = None;
        }
        self.outbox.retain(|o| o.client_msg_id != client_msg_id);
        if self.by_id.contains_key(&message.id) {
            fx.push(Effect::RemovePending { client_msg_id });
        } else {
            self.acked.insert(message.id.clone(), client_msg_id);
            self.on_message(message, true, fx);
        }
        self.flush_outbox(fx);
    }

    /// An HTTP post got no answer: it stays queued for the next try.
    pub(super) fn post_failed(&mut self, client_msg_id: &str) {
        if self.posting.as_deref() == Some(client_msg_id) {
            // Still queued; the next tick or reconnect tries again.
            self.posting = None;
        }
    }

    /// The server committed a send (a WebSocket `ack`).
    pub(super) fn acked(&mut self, client_msg_id: String, id: MessageId, fx: &mut Vec<Effect>) {
        let was_queued = self.outbox.iter().any(|o| o.client_msg_id == client_msg_id);
        self.outbox.retain(|o| o.client_msg_id != client_msg_id);
        if self.by_id.contains_key(&id) {
            fx.push(Effect::RemovePending { client_msg_id });
        } else if was_queued {
            // Keep the placeholder until the message itself arrives.
            self.acked.insert(id, client_msg_id);
        }
    }

    /// The server refused a send: a retryable refusal stays queued; any
    /// other gives the text back to an empty input.
    pub(super) fn refused(
        &mut self,
        code: ErrorCode,
        message: String,
        client_msg_id: String,
        fx: &mut Vec<Effect>,
    ) {
        if self.posting.as_deref() == Some(client_msg_id.as_str()) {
            self.posting = None;
        }
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        if retryable {
            // Stays in the outbox; the next keep-alive tick or reconnect resends it.
            return;
        }
        let Some(pos) = self
            .outbox
            .iter()
            .position(|o| o.client_msg_id == client_msg_id)
        else {
            return;
        };
        let failed = self.outbox.remove(pos);
        fx.push(Effect::RemovePending { client_msg_id });
        fx.push(Effect::Notice(format!("Not sent: {message}")));
        if let Some(failed) = failed {
            if self.draft.is_empty() {
                self.draft = failed.body.clone();
                fx.push(Effect::RestoreInput(failed.body));
            }
        }
        self.flush_outbox(fx);
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::*;
    use crate::state::*;
    use crate::transport::Transport;
    use protocol::{ClientFrame, ErrorCode, MessageId, RoomId, ServerFrame};

    #[test]
    fn a_send_while_connected_goes_out_at_once_and_clears_the_input() {
        let mut m = connected(0);
        update(&mut m, Msg::DraftChanged("hello".into()));
        let fx = submit(&mut m, "hello", "c1");
        assert!(fx.contains(&Effect::ClearInput));
        assert!(fx.contains(&Effect::ShowPending {
            client_msg_id: "c1".into(),
            body: "hello".into()
        }));
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Send {
                room: RoomId::new("r1"),
                body: "hello".into(),
                client_msg_id: "c1".into(),
                reply_to: None
            }]
        );
        assert!(m.draft.is_empty());
        assert!(rendered(&fx).is_empty(), "shown when its event arrives");
    }

    #[test]
    fn blank_input_and_readers_without_post_rights_send_nothing() {
        let mut m = connected(0);
        assert!(submit(&mut m, "  \n ", "c1").is_empty());
        let mut reader = Model::new(
            Config {
                can_post: false,
                ..config(0)
            },
            [],
        );
        assert!(submit(&mut reader, "hi", "c2").is_empty());
        assert_eq!(reader.outbox().count(), 0);
    }

    #[test]
    fn an_oversized_message_stays_in_the_input() {
        let mut m = connected(0);
        let fx = submit(&mut m, &"x".repeat(protocol::MAX_BODY_BYTES + 1), "c1");
        assert!(matches!(fx.as_slice(), [Effect::Notice(_)]));
        assert_eq!(m.outbox().count(), 0);
    }

    #[test]
    fn messages_typed_offline_wait_and_go_out_in_order_after_reconnect() {
        let mut m = connected(0);
        update(&mut m, Msg::SocketClosed);
        assert!(sent(&submit(&mut m, "one", "c1")).is_empty());
        assert!(sent(&submit(&mut m, "two", "c2")).is_empty());
        update(&mut m, Msg::ReconnectDue);
        // Nothing goes before the subscription is live.
        assert_eq!(
            sent_ids(&update(&mut m, Msg::SocketOpened)),
            Vec::<String>::new()
        );
        let fx = update(&mut m, subscribed());
        assert_eq!(sent_ids(&fx), vec!["c1", "c2"]);
    }

    #[test]
    fn an_unacknowledged_send_is_resent_after_reconnect_and_acks_match_by_client_id() {
        let mut m = connected(0);
        submit(&mut m, "one", "c1");
        submit(&mut m, "two", "c2");
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Ack {
                client_msg_id: "c1".into(),
                id: MessageId::new("m1"),
                seq: 1,
            }),
        );
        assert!(fx.is_empty(), "placeholder stays until the message arrives");
        update(&mut m, Msg::SocketClosed);
        update(&mut m, Msg::ReconnectDue);
        update(&mut m, Msg::SocketOpened);
        assert_eq!(sent_ids(&update(&mut m, subscribed())), vec!["c2"]);
        // An ack for something we never sent changes nothing.
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Ack {
                client_msg_id: "zzz".into(),
                id: MessageId::new("m9"),
                seq: 9,
            }),
        );
        assert!(fx.is_empty());
        assert_eq!(m.outbox().count(), 1);
    }

    #[test]
    fn the_placeholder_goes_when_the_message_arrives_whichever_comes_first() {
        // Ack first, then the event.
        let mut m = connected(0);
        submit(&mut m, "one", "c1");
        update(
            &mut m,
            Msg::Frame(ServerFrame::Ack {
                client_msg_id: "c1".into(),
                id: MessageId::new("m1"),
                seq: 1,
            }),
        );
        let fx = update(&mut m, event(message(1, "alice")));
        assert_eq!(rendered(&fx), vec![1]);
        assert!(fx.contains(&Effect::RemovePending {
            client_msg_id: "c1".into()
        }));

        // Event first (carrying the client id), then the ack.
        let mut m = connected(0);
        submit(&mut m, "one", "c1");
        let mut own = message(1, "alice");
        own.client_msg_id = Some("c1".into());
        let fx = update(&mut m, event(own));
        assert!(fx.contains(&Effect::RemovePending {
            client_msg_id: "c1".into()
        }));
        assert_eq!(m.outbox().count(), 0);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Ack {
                client_msg_id: "c1".into(),
                id: MessageId::new("m1"),
                seq: 1,
            }),
        );
        assert_eq!(
            fx,
            vec![Effect::RemovePending {
                client_msg_id: "c1".into()
            }]
        );
    }

    #[test]
    fn a_refused_send_leaves_the_outbox_and_comes_back_to_an_empty_input() {
        let mut m = connected(0);
        submit(&mut m, "too much", "c1");
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Error {
                code: ErrorCode::Forbidden,
                message: "you may not post here".into(),
                client_msg_id: Some("c1".into()),
            }),
        );
        assert!(fx.contains(&Effect::RestoreInput("too much".into())));
        assert!(fx.contains(&Effect::RemovePending {
            client_msg_id: "c1".into()
        }));
        assert_eq!(m.outbox().count(), 0);
    }

    #[test]
    fn a_rate_limited_send_stays_queued_and_is_retried_on_the_next_tick() {
        let mut m = connected(0);
        submit(&mut m, "hi", "c1");
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
                client_msg_id: Some("c1".into()),
            }),
        );
        assert!(fx.is_empty());
        let fx = update(&mut m, Msg::Tick);
        assert_eq!(sent(&fx)[0], ClientFrame::Ping);
        assert_eq!(sent_ids(&fx), vec!["c1"]);
    }

    #[test]
    fn over_http_the_outbox_is_posted_one_at_a_time_in_order() {
        let mut m = Model::new(config(0), []);
        m.transport = Transport::LongPoll;
        update(&mut m, Msg::Start);
        assert!(
            posted(&submit(&mut m, "one", "c1")).is_empty(),
            "offline: queued"
        );
        submit(&mut m, "two", "c2");
        let fx = update(&mut m, subscribed());
        let ids = |fx: &[Effect]| -> Vec<String> {
            posted(fx)
                .into_iter()
                .filter_map(|f| match f {
                    ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ids(&fx), vec!["c1"]);
        assert!(
            ids(&submit(&mut m, "three", "c3")).is_empty(),
            "c1 still in flight"
        );
        // A network failure: retried on the next tick.
        update(
            &mut m,
            Msg::PostFailed {
                client_msg_id: "c1".into(),
            },
        );
        assert_eq!(ids(&update(&mut m, Msg::Tick)), vec!["c1"]);
        let mut one = message(1, "alice");
        one.client_msg_id = Some("c1".into());
        let fx = update(
            &mut m,
            Msg::Posted {
                client_msg_id: "c1".into(),
                message: one.clone(),
            },
        );
        assert_eq!(rendered(&fx), vec![1]);
        assert!(fx.contains(&Effect::RemovePending {
            client_msg_id: "c1".into()
        }));
        assert_eq!(ids(&fx), vec!["c2"]);
        // The same message arriving on the stream is not shown twice.
        assert!(rendered(&update(&mut m, event(one))).is_empty());
        let outbox: Vec<&str> = m.outbox().map(|o| o.client_msg_id.as_str()).collect();
        assert_eq!(outbox, vec!["c2", "c3"]);
    }
}
