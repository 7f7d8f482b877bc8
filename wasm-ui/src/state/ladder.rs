//! The connection's life: connecting, the subscription, keep-alive pings,
//! reconnecting with backoff, and moving along the transport ladder
//! (down after repeated failures, back up after a quiet while, timed by
//! [`Climb`](crate::transport::Climb)).

use super::{Effect, Model};
use crate::transport::Transport;
use protocol::ClientFrame;

/// How often the keep-alive `ping` goes out while connected. A missing `pong`
/// by the next tick counts as a dead connection.
pub const PING_INTERVAL_MS: u32 = 25_000;

/// The first reconnect delay; doubles per failed attempt up to [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: u32 = 500;

/// The longest wait between reconnect attempts.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// A transport that fails this many times in a row without ever subscribing
/// is given up for the next one down the ladder.
pub const FAILURES_BEFORE_FALLBACK: u32 = 2;

/// Where the live connection stands, as shown in `#bc-conn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// A transport is opening, or open and waiting for `subscribed`.
    Connecting,
    /// Subscribed: events flow and sends go out immediately.
    Connected,
    /// Nothing open; a reconnect is scheduled.
    Offline,
}

impl ConnState {
    /// The word shown to the reader.
    pub fn label(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting…",
            ConnState::Connected => "connected",
            ConnState::Offline => "offline",
        }
    }
}

/// The reconnect delay before attempt `attempt` (0-based), with "equal jitter":
/// half the exponential delay is fixed, the other half scaled by `jitter` in
/// `[0, 1)` so clients dropped together do not all come back together.
pub fn backoff_ms(attempt: u32, jitter: f64) -> u32 {
    let exp = BASE_BACKOFF_MS.saturating_mul(1u32 << attempt.min(16));
    let base = exp.min(MAX_BACKOFF_MS);
    let half = base / 2;
    let jitter = jitter.clamp(0.0, 1.0);
    // `half` is at most 15 000, so the product fits an f64 exactly and the cast back is lossless.
    half + (f64::from(half) * jitter) as u32
}

impl Model {
    pub(super) fn subscribe(&self) -> ClientFrame {
        ClientFrame::Subscribe {
            room: self.room.clone(),
            after: Some(self.last_seq),
        }
    }

    pub(super) fn connect(&mut self, fx: &mut Vec<Effect>) {
        self.connection = ConnState::Connecting;
        fx.push(Effect::ShowConnection(ConnState::Connecting));
        fx.push(Effect::Connect {
            transport: self.transport,
            after: self.last_seq,
        });
    }

    pub(super) fn go_offline(&mut self, fx: &mut Vec<Effect>) {
        let never_subscribed = self.connection == ConnState::Connecting;
        self.connection = ConnState::Offline;
        self.awaiting_pong = false;
        self.posting = None;
        self.climb.down();
        fx.push(Effect::ShowConnection(ConnState::Offline));
        let failed_climb = if never_subscribed {
            self.climb.failed()
        } else {
            None
        };
        if let Some(back) = failed_climb {
            // The better rung still does not work here: straight back to
            // the one that did, with a fresh backoff.
            self.transport = back;
            self.failures = 0;
            self.attempts = 0;
        } else if never_subscribed {
            self.failures += 1;
            if self.failures >= FAILURES_BEFORE_FALLBACK {
                if let Some(next) = self.transport.fallback() {
                    // This rung does not work here (a proxy that drops
                    // upgrades, say): try the next one down, promptly.
                    self.transport = next;
                    self.failures = 0;
                    self.attempts = 0;
                }
            }
        } else {
            self.failures = 0;
        }
        fx.push(Effect::ScheduleReconnect {
            attempt: self.attempts,
        });
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Back up the ladder: after a quiet while on a lower rung, switch to a
    /// better one from the resume cursor (the old one is dropped by
    /// `Connect`); a try that hangs without subscribing is given up.
    pub(super) fn climb_up(&mut self, fx: &mut Vec<Effect>) {
        match self.connection {
            ConnState::Connected => {
                let Some(better) = self.climb.due(self.transport, self.now_ms) else {
                    return;
                };
                self.climb.start(better, self.transport, self.now_ms);
                self.transport = better;
                self.awaiting_pong = false;
                // An HTTP post in flight may still commit; its ack or the
                // resend on subscribe (deduped by client_msg_id) settles it.
                self.posting = None;
                self.connect(fx);
            }
            ConnState::Connecting if self.climb.timed_out(self.now_ms) => {
                fx.push(Effect::Disconnect);
                self.go_offline(fx);
            }
            ConnState::Connecting | ConnState::Offline => {}
        }
    }

    /// The transport opened: a WebSocket subscribes now (SSE and long-poll
    /// report `subscribed` by themselves).
    pub(super) fn opened(&mut self, fx: &mut Vec<Effect>) {
        if self.connection == ConnState::Connecting && self.transport == Transport::WebSocket {
            fx.push(Effect::Send(self.subscribe()));
        }
    }

    /// The transport closed or failed.
    pub(super) fn closed(&mut self, fx: &mut Vec<Effect>) {
        if self.connection != ConnState::Offline {
            self.go_offline(fx);
        }
    }

    /// The keep-alive tick: a ping on a socket (a missing pong drops it),
    /// and another try of what the outbox still holds.
    pub(super) fn tick(&mut self, fx: &mut Vec<Effect>) {
        if self.connection != ConnState::Connected {
            return;
        }
        if self.transport != Transport::WebSocket {
            // No pings over HTTP; a post that failed on the network goes again.
            self.flush_outbox(fx);
        } else if self.awaiting_pong {
            // No pong for a whole interval: the socket is dead but the
            // browser has not noticed. Drop it and start over.
            fx.push(Effect::Disconnect);
            self.go_offline(fx);
        } else {
            self.awaiting_pong = true;
            fx.push(Effect::Send(ClientFrame::Ping));
            // Sends refused with a retryable error are still queued.
            self.flush_outbox(fx);
        }
    }

    /// The room is subscribed: events flow, the outbox goes (again), and
    /// what changed meanwhile is fetched.
    pub(super) fn subscribed(&mut self, fx: &mut Vec<Effect>) {
        self.connection = ConnState::Connected;
        self.climb.subscribed(self.transport, self.now_ms);
        self.attempts = 0;
        self.failures = 0;
        self.awaiting_pong = false;
        fx.push(Effect::ShowConnection(ConnState::Connected));
        // Everything unacknowledged goes (again), in order: the server
        // dedupes by client_msg_id, so a send that did commit before the
        // old connection died is acknowledged, not doubled.
        self.posting = None;
        self.flush_outbox(fx);
        self.heartbeat(fx);
        // Edits and deletes made while we were away are not replayed:
        // refetch the newest page to see them.
        fx.push(Effect::FetchHistory {
            before: None,
            older: false,
        });
        if !self.read_asked && self.signed_in() {
            self.read_asked = true;
            fx.push(Effect::FetchRead);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::*;
    use crate::state::*;
    use protocol::{ClientFrame, RoomId, ServerFrame};

    #[test]
    fn start_connects_and_open_subscribes_from_the_rendered_seq() {
        let mut m = Model::new(config(7), []);
        let fx = update(&mut m, Msg::Start);
        assert_eq!(
            fx,
            vec![
                Effect::ShowConnection(ConnState::Connecting),
                Effect::Connect {
                    transport: Transport::WebSocket,
                    after: 7
                }
            ]
        );
        let fx = update(&mut m, Msg::SocketOpened);
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Subscribe {
                room: RoomId::new("r1"),
                after: Some(7)
            }]
        );
        let fx = update(&mut m, subscribed());
        assert_eq!(fx[0], Effect::ShowConnection(ConnState::Connected));
        assert!(fx.contains(&Effect::FetchHistory {
            before: None,
            older: false
        }));
        assert_eq!(m.connection, ConnState::Connected);
    }

    #[test]
    fn reconnect_resubscribes_from_the_contiguous_cursor() {
        let mut m = connected(1);
        update(&mut m, event(message(2, "bob")));
        update(&mut m, event(message(4, "bob")));
        let fx = update(&mut m, Msg::SocketClosed);
        assert_eq!(
            fx,
            vec![
                Effect::ShowConnection(ConnState::Offline),
                Effect::ScheduleReconnect { attempt: 0 }
            ]
        );
        // A second close (error then close) does not schedule twice.
        assert!(update(&mut m, Msg::SocketClosed).is_empty());
        let fx = update(&mut m, Msg::ReconnectDue);
        assert!(fx.iter().any(|e| matches!(e, Effect::Connect { .. })));
        let fx = update(&mut m, Msg::SocketOpened);
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Subscribe {
                room: RoomId::new("r1"),
                after: Some(2)
            }]
        );
        // The replay repeats 4; it is not shown twice, and 3 fills the gap.
        update(&mut m, subscribed());
        assert_eq!(rendered(&update(&mut m, event(message(3, "bob")))), vec![3]);
        assert!(rendered(&update(&mut m, event(message(4, "bob")))).is_empty());
        assert_eq!(m.last_seq, 4);
    }

    #[test]
    fn backoff_grows_with_failed_attempts_and_resets_on_subscribe() {
        let mut m = connected(0);
        let mut attempts = vec![];
        for _ in 0..3 {
            for e in update(&mut m, Msg::SocketClosed) {
                if let Effect::ScheduleReconnect { attempt } = e {
                    attempts.push(attempt);
                }
            }
            update(&mut m, Msg::ReconnectDue);
        }
        // The second failure without a subscription moves down the ladder,
        // which starts its own backoff afresh.
        assert_eq!(attempts, vec![0, 1, 0]);
        assert_eq!(m.transport, Transport::Sse);
        update(&mut m, Msg::SocketOpened);
        update(&mut m, subscribed());
        let fx = update(&mut m, Msg::SocketClosed);
        assert!(fx.contains(&Effect::ScheduleReconnect { attempt: 0 }));
    }

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(0, 0.999), 499);
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(3, 0.0), 2_000);
        assert_eq!(backoff_ms(10, 0.0), MAX_BACKOFF_MS / 2);
        assert!(backoff_ms(u32::MAX, 1.0) <= MAX_BACKOFF_MS);
    }

    #[test]
    fn a_missing_pong_drops_the_connection() {
        let mut m = connected(0);
        assert_eq!(sent(&update(&mut m, Msg::Tick)), vec![ClientFrame::Ping]);
        update(&mut m, Msg::Frame(ServerFrame::Pong));
        assert_eq!(sent(&update(&mut m, Msg::Tick)), vec![ClientFrame::Ping]);
        let fx = update(&mut m, Msg::Tick);
        assert_eq!(fx.first(), Some(&Effect::Disconnect));
        assert_eq!(m.connection, ConnState::Offline);
    }

    #[test]
    fn the_network_coming_back_reconnects_at_once() {
        let mut m = connected(0);
        update(&mut m, Msg::SocketClosed);
        let fx = update(&mut m, Msg::NetworkOnline);
        assert!(fx.iter().any(|e| matches!(e, Effect::Connect { .. })));
        // While already connecting, it does not open a second socket.
        assert!(update(&mut m, Msg::NetworkOnline).is_empty());
    }

    #[test]
    fn a_websocket_that_never_subscribes_twice_falls_back_to_sse_then_long_poll() {
        let mut m = Model::new(config(4), []);
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketClosed);
        let fx = update(&mut m, Msg::ReconnectDue);
        assert!(fx.contains(&Effect::Connect {
            transport: Transport::WebSocket,
            after: 4
        }));
        update(&mut m, Msg::SocketClosed);
        let fx = update(&mut m, Msg::ReconnectDue);
        assert!(fx.contains(&Effect::Connect {
            transport: Transport::Sse,
            after: 4
        }));
        // SSE subscribes: it stays, even through a later drop.
        update(&mut m, subscribed());
        update(&mut m, Msg::SocketClosed);
        update(&mut m, Msg::ReconnectDue);
        assert_eq!(m.transport, Transport::Sse);
        update(&mut m, Msg::SocketClosed);
        update(&mut m, Msg::ReconnectDue);
        update(&mut m, Msg::SocketClosed);
        let fx = update(&mut m, Msg::ReconnectDue);
        assert!(fx.contains(&Effect::Connect {
            transport: Transport::LongPoll,
            after: 4
        }));
    }

    /// A model that fell down to long-poll and subscribed there at time 0.
    fn on_long_poll(last_seq: u64) -> Model {
        let mut m = Model::new(config(last_seq), []);
        update(&mut m, Msg::Start);
        for _ in 0..2 * FAILURES_BEFORE_FALLBACK {
            update(&mut m, Msg::SocketClosed);
            update(&mut m, Msg::ReconnectDue);
        }
        assert_eq!(m.transport, Transport::LongPoll);
        update(&mut m, subscribed());
        m
    }

    fn connects(fx: &[Effect]) -> Vec<Transport> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Connect { transport, .. } => Some(*transport),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_quiet_while_on_long_poll_climbs_back_to_the_socket_losing_and_doubling_nothing() {
        use crate::transport::CLIMB_AFTER_MS;
        let mut m = on_long_poll(4);
        m.now_ms = CLIMB_AFTER_MS - 1_000.0;
        assert!(connects(&update(&mut m, Msg::Clock)).is_empty());
        // Posted over HTTP just before the switch; its answer comes late.
        assert_eq!(posted(&submit(&mut m, "in flight", "c1")).len(), 1);

        m.now_ms = CLIMB_AFTER_MS;
        let fx = update(&mut m, Msg::Clock);
        assert!(fx.contains(&Effect::Connect {
            transport: Transport::WebSocket,
            after: 4
        }));
        assert_eq!(m.connection, ConnState::Connecting);
        // Typed during the switch: it waits in the outbox.
        let fx = submit(&mut m, "during", "c2");
        assert!(sent(&fx).is_empty() && posted(&fx).is_empty());
        let fx = update(&mut m, Msg::SocketOpened);
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Subscribe {
                room: RoomId::new("r1"),
                after: Some(4)
            }]
        );
        // Both go on the socket, in order; the server dedupes c1 by its id.
        let fx = update(&mut m, subscribed());
        assert_eq!(sent_ids(&fx), vec!["c1", "c2"]);

        // c1 arrives twice, from the late HTTP answer and the socket: shown once.
        let mut first = message(5, "alice");
        first.client_msg_id = Some("c1".into());
        let fx = update(
            &mut m,
            Msg::Posted {
                client_msg_id: "c1".into(),
                message: first.clone(),
            },
        );
        assert_eq!(rendered(&fx), vec![5]);
        assert!(rendered(&update(&mut m, event(first))).is_empty());
        assert_eq!(m.last_seq, 5);
        assert_eq!(m.outbox().count(), 1, "c2 waits for its ack");

        // On the best rung there is nowhere left to climb.
        m.now_ms = 1e9;
        assert!(connects(&update(&mut m, Msg::Clock)).is_empty());
    }

    #[test]
    fn a_failed_climb_goes_straight_back_and_tries_the_next_rung_before_it_again() {
        use crate::transport::CLIMB_AFTER_MS;
        let mut m = on_long_poll(4);
        m.now_ms = CLIMB_AFTER_MS;
        update(&mut m, Msg::Clock);
        assert_eq!(m.transport, Transport::WebSocket);
        // One failure is enough: back to the rung that works, promptly.
        let fx = update(&mut m, Msg::SocketClosed);
        assert!(fx.contains(&Effect::ScheduleReconnect { attempt: 0 }));
        assert_eq!(
            connects(&update(&mut m, Msg::ReconnectDue)),
            vec![Transport::LongPoll]
        );
        let back = CLIMB_AFTER_MS + 1_000.0;
        m.now_ms = back;
        update(&mut m, subscribed());
        m.now_ms = back + CLIMB_AFTER_MS;
        assert_eq!(connects(&update(&mut m, Msg::Clock)), vec![Transport::Sse]);
    }

    #[test]
    fn a_climb_that_never_subscribes_is_given_up() {
        use crate::transport::{CLIMB_AFTER_MS, PROBE_TIMEOUT_MS};
        let mut m = on_long_poll(4);
        m.now_ms = CLIMB_AFTER_MS;
        update(&mut m, Msg::Clock);
        update(&mut m, Msg::SocketOpened);
        m.now_ms = CLIMB_AFTER_MS + PROBE_TIMEOUT_MS - 1_000.0;
        assert!(!update(&mut m, Msg::Clock).contains(&Effect::Disconnect));
        m.now_ms = CLIMB_AFTER_MS + PROBE_TIMEOUT_MS;
        let fx = update(&mut m, Msg::Clock);
        assert!(fx.contains(&Effect::Disconnect));
        assert_eq!(m.connection, ConnState::Offline);
        assert_eq!(m.transport, Transport::LongPoll);
    }
}
