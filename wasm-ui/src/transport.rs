//! The transport ladder: the ways to read a room's event stream, best
//! first ([`Transport`]), and [`Climb`], the pure rule for when to try a
//! better rung again after falling down the ladder (a failed WebSocket is
//! often a restart or a flaky network, not a proxy that forbids it for good).
//!
//! Plain data and rules with no web-sys, so they are unit-tested natively.
//! Both [`crate::state`] (which decides when to open which transport) and
//! [`crate::connection`] (which opens it) use them; this module imports
//! neither.

/// The ways to read the room's event stream, best first (the ladder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `/api/ws`: events and sends on one socket, with acks.
    WebSocket,
    /// `/api/rooms/{id}/stream`: events only; sends go over HTTP.
    Sse,
    /// `/api/rooms/{id}/events?after=&wait=`: events only; sends over HTTP.
    LongPoll,
}

impl Transport {
    /// The next rung down, if any.
    pub fn fallback(self) -> Option<Transport> {
        match self {
            Transport::WebSocket => Some(Transport::Sse),
            Transport::Sse => Some(Transport::LongPoll),
            Transport::LongPoll => None,
        }
    }

    /// The name shown in `#bc-conn[data-transport]`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Sse => "sse",
            Transport::LongPoll => "long-poll",
        }
    }
}

/// How long a lower rung must have been subscribed before a better one is
/// tried again; doubles for that rung each time the try fails.
pub const CLIMB_AFTER_MS: f64 = 15_000.0;

/// The longest wait between tries of a better rung: a network that never
/// lets WebSockets through costs one short reconnect every ten minutes.
pub const MAX_CLIMB_AFTER_MS: f64 = 600_000.0;

/// A try of a better rung that has not subscribed after this long has failed
/// (a socket that hangs while connecting never reports `close` by itself).
pub const PROBE_TIMEOUT_MS: f64 = 10_000.0;

/// The ladder, best first.
const RUNGS: [Transport; 3] = [Transport::WebSocket, Transport::Sse, Transport::LongPoll];

fn rung(transport: Transport) -> usize {
    match transport {
        Transport::WebSocket => 0,
        Transport::Sse => 1,
        Transport::LongPoll => 2,
    }
}

/// A try of a better rung, in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    /// The rung being tried.
    pub to: Transport,
    /// The rung that worked, to go back to if the try fails.
    pub from: Transport,
    /// When the try began (ms since the epoch).
    pub started_ms: f64,
}

/// When to climb back up the ladder. The caller switches by opening the
/// better transport from its resume cursor, which drops the working one:
/// events resume from the last contiguous seq and the outbox is resent by
/// `client_msg_id`, so a switch neither loses nor doubles a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Climb {
    /// Per rung: how long the rung below must have been up before this one
    /// is tried again.
    wait_ms: [f64; 3],
    /// Since when the current transport has been subscribed, if it is.
    up_since: Option<f64>,
    /// The try in progress, if any.
    probe: Option<Probe>,
}

impl Default for Climb {
    fn default() -> Self {
        Climb {
            wait_ms: [CLIMB_AFTER_MS; 3],
            up_since: None,
            probe: None,
        }
    }
}

impl Climb {
    /// `transport` subscribed at `now_ms`. If it was being tried, the try
    /// worked and its wait starts over for the next time it is lost.
    pub fn subscribed(&mut self, transport: Transport, now_ms: f64) {
        if let Some(probe) = self.probe.take() {
            if probe.to == transport {
                self.wait_ms[rung(transport)] = CLIMB_AFTER_MS;
            }
        }
        self.up_since = Some(now_ms);
    }

    /// The connection is gone; the time up on it no longer counts.
    pub fn down(&mut self) {
        self.up_since = None;
    }

    /// The better rung to try now, if any: the best one above `current`
    /// whose wait has passed since `current` came up. Never during a try.
    pub fn due(&self, current: Transport, now_ms: f64) -> Option<Transport> {
        let since = self.up_since?;
        if self.probe.is_some() {
            return None;
        }
        RUNGS[..rung(current)]
            .iter()
            .copied()
            .find(|&better| now_ms - since >= self.wait_ms[rung(better)])
    }

    /// Starts a try of `to`, coming from `from` (which is being dropped).
    pub fn start(&mut self, to: Transport, from: Transport, now_ms: f64) {
        self.up_since = None;
        self.probe = Some(Probe {
            to,
            from,
            started_ms: now_ms,
        });
    }

    /// The try in progress.
    pub fn probe(&self) -> Option<Probe> {
        self.probe
    }

    /// Whether the try in progress has had its time without subscribing.
    pub fn timed_out(&self, now_ms: f64) -> bool {
        self.probe
            .is_some_and(|p| now_ms - p.started_ms >= PROBE_TIMEOUT_MS)
    }

    /// The try failed before subscribing: the rung to go back to (`None`
    /// when nothing was being tried). That rung waits twice as long next time.
    pub fn failed(&mut self) -> Option<Transport> {
        let probe = self.probe.take()?;
        let wait = &mut self.wait_ms[rung(probe.to)];
        *wait = (*wait * 2.0).min(MAX_CLIMB_AFTER_MS);
        Some(probe.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_rung_tries_the_best_one_above_after_a_quiet_while() {
        let mut climb = Climb::default();
        // Not subscribed: nothing to climb from.
        assert_eq!(climb.due(Transport::LongPoll, 1e9), None);
        climb.subscribed(Transport::LongPoll, 0.0);
        assert_eq!(climb.due(Transport::LongPoll, CLIMB_AFTER_MS - 1.0), None);
        assert_eq!(
            climb.due(Transport::LongPoll, CLIMB_AFTER_MS),
            Some(Transport::WebSocket)
        );
        // The top rung has nowhere to go.
        climb.subscribed(Transport::WebSocket, 0.0);
        assert_eq!(climb.due(Transport::WebSocket, 1e9), None);
        // A dropped connection stops the clock.
        climb.subscribed(Transport::Sse, 0.0);
        climb.down();
        assert_eq!(climb.due(Transport::Sse, 1e9), None);
    }

    #[test]
    fn a_failed_try_goes_back_and_that_rung_waits_twice_as_long() {
        let mut climb = Climb::default();
        climb.subscribed(Transport::LongPoll, 0.0);
        climb.start(Transport::WebSocket, Transport::LongPoll, CLIMB_AFTER_MS);
        // No second try while one is running.
        assert_eq!(climb.due(Transport::LongPoll, 1e9), None);
        assert_eq!(climb.failed(), Some(Transport::LongPoll));
        assert_eq!(climb.failed(), None, "a failure is reported once");

        // Back on long-poll: SSE is due first now, WebSocket only after 2x.
        let back = 20_000.0;
        climb.subscribed(Transport::LongPoll, back);
        assert_eq!(
            climb.due(Transport::LongPoll, back + CLIMB_AFTER_MS),
            Some(Transport::Sse)
        );
        assert_eq!(
            climb.due(Transport::LongPoll, back + 2.0 * CLIMB_AFTER_MS),
            Some(Transport::WebSocket)
        );

        // Repeated failures cap the wait.
        for _ in 0..20 {
            climb.start(Transport::WebSocket, Transport::LongPoll, 0.0);
            climb.failed();
        }
        climb.subscribed(Transport::Sse, 0.0);
        assert_eq!(climb.due(Transport::Sse, MAX_CLIMB_AFTER_MS - 1.0), None);
        assert_eq!(
            climb.due(Transport::Sse, MAX_CLIMB_AFTER_MS),
            Some(Transport::WebSocket)
        );
    }

    #[test]
    fn a_try_that_subscribes_resets_its_wait_and_a_silent_one_times_out() {
        let mut climb = Climb::default();
        climb.start(Transport::WebSocket, Transport::Sse, 0.0);
        climb.failed();
        climb.start(Transport::WebSocket, Transport::Sse, 100.0);
        assert!(!climb.timed_out(100.0 + PROBE_TIMEOUT_MS - 1.0));
        assert!(climb.timed_out(100.0 + PROBE_TIMEOUT_MS));
        climb.subscribed(Transport::WebSocket, 200.0);
        assert_eq!(climb.probe(), None);
        assert!(!climb.timed_out(1e9));
        // Lost again later (say the network dropped to SSE): the usual wait.
        climb.subscribed(Transport::Sse, 1_000.0);
        assert_eq!(
            climb.due(Transport::Sse, 1_000.0 + CLIMB_AFTER_MS),
            Some(Transport::WebSocket)
        );
    }
}
