//! The three ways to read a room's event stream, behind one [`Connection`]:
//! a WebSocket to `/api/ws` (JSON frames both ways), Server-Sent Events from
//! `/api/rooms/{id}/stream`, and long-polling `/api/rooms/{id}/events`.
//!
//! Each reports [`Incoming`] events to a callback, SSE and long-poll events
//! turned into the WebSocket's [`ServerFrame`]s, and knows nothing about
//! cursors or retries: those rules live in [`crate::state`], which decides
//! when to open which. Dropping a `Connection` detaches its handlers and
//! closes it (aborting a poll in flight), so a replaced connection can never
//! deliver a late event.
//!
//! [`Climb`] is the pure half of the ladder's way back up: after a rung has
//! worked for a while, try a better one again (a failed WebSocket is often a
//! restart or a flaky network, not a proxy that forbids it for good). It has
//! no web-sys in it, so its rules are unit-tested natively.

use crate::dom::{DomError, Listener};
use crate::http;
use crate::state::Transport;
use crate::wire::{self, EventFields, FrameFields};
use protocol::{ClientFrame, ErrorBody, RoomId, ServerFrame};
use serde::Deserialize;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, EventSource, MessageEvent, WebSocket};

/// The WebSocket path, relative to the page's host.
pub const WS_PATH: &str = "/api/ws";

/// How long one long-poll request may be held by the server, in seconds.
pub const POLL_WAIT_S: u32 = 25;

/// What a connection reports.
// One value at a time passes straight through (as with `ServerFrame` itself),
// so the size of the frame variant costs nothing worth a Box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The socket is open; frames can be sent (WebSocket only).
    Opened,
    /// A frame arrived.
    Frame(ServerFrame),
    /// The connection closed or could not connect. Reported once.
    Closed,
}

/// The callback a connection reports to.
pub type Report = Rc<dyn Fn(Incoming)>;

/// `ws://host/api/ws`, or `wss://` when the page itself came over https.
/// Cookies go with the upgrade request, so the session authenticates it.
pub fn ws_url(page_protocol: &str, host: &str) -> String {
    let scheme = if page_protocol == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{host}{WS_PATH}")
}

/// The WebSocket URL for the current page.
pub fn page_ws_url() -> Result<String, DomError> {
    let location = crate::dom::window()?.location();
    Ok(ws_url(&location.protocol()?, &location.host()?))
}

/// One open (or opening) connection of any kind.
pub enum Connection {
    Socket(Socket),
    Stream(Stream),
    Poll(Poll),
}

impl Connection {
    /// Opens `transport` for `room` from seq `after`; `report` hears about it.
    pub fn open(
        transport: Transport,
        ws_url: &str,
        room: &RoomId,
        after: u64,
        report: Report,
    ) -> Result<Self, DomError> {
        Ok(match transport {
            Transport::WebSocket => Connection::Socket(Socket::open(ws_url, report)?),
            Transport::Sse => Connection::Stream(Stream::open(room, after, report)?),
            Transport::LongPoll => Connection::Poll(Poll::open(room, after, report)),
        })
    }

    /// Sends one frame on a WebSocket; other transports have no upstream.
    pub fn send(&self, frame: &ClientFrame) -> Result<(), DomError> {
        match self {
            Connection::Socket(s) => s.send(frame),
            _ => Err(DomError::Js("this transport cannot send frames".to_owned())),
        }
    }
}

/// A WebSocket and the handlers attached to it.
pub struct Socket {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Socket {
    /// Starts connecting to `url`.
    pub fn open(url: &str, report: Report) -> Result<Self, DomError> {
        let socket = WebSocket::new(url)?;

        let r = report.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || r(Incoming::Opened));

        let r = report.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            match wire::server_frame(&text) {
                Ok(frame) => r(Incoming::Frame(frame)),
                // A frame from a newer server we do not understand: skip it
                // rather than drop the connection.
                Err(err) => bad_frame(&err),
            }
        });

        // An `error` event is always followed by `close`, so `close` alone is reported.
        let r = report;
        let on_close = Closure::<dyn FnMut()>::new(move || r(Incoming::Closed));

        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one frame as JSON text.
    pub fn send(&self, frame: &ClientFrame) -> Result<(), DomError> {
        let text = serde_json::to_string(frame).map_err(|e| DomError::Js(e.to_string()))?;
        self.socket.send_with_str(&text)?;
        Ok(())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        // Closing an already closed socket is a no-op; nothing to report either way.
        let _ = self.socket.close();
    }
}

fn bad_frame(err: &serde_json::Error) {
    web_sys::console::warn_1(&format!("backchannel: bad frame: {err}").into());
}

/// Turns one named SSE event into the WebSocket frame it stands for.
pub fn sse_frame(room: &RoomId, name: &str, data: &str) -> Result<ServerFrame, serde_json::Error> {
    let room = room.clone();
    Ok(match name {
        // `{"last_seq": N}` and `{"first_seq": N}`: a frame without its type.
        "subscribed" => ServerFrame::Subscribed {
            room,
            last_seq: wire::need(
                serde_json::from_str::<FrameFields>(data)?.last_seq,
                "last_seq",
            )?,
        },
        "reset" => ServerFrame::Reset {
            room,
            first_seq: wire::need(
                serde_json::from_str::<FrameFields>(data)?.first_seq,
                "first_seq",
            )?,
        },
        "error" => {
            let body: ErrorBody = serde_json::from_str(data)?;
            ServerFrame::Error {
                code: body.error.code,
                message: body.error.message,
                client_msg_id: None,
            }
        }
        _ => ServerFrame::Event {
            room,
            event: wire::event(data)?,
        },
    })
}

/// The named events `/stream` sends.
const SSE_EVENTS: [&str; 8] = [
    "subscribed",
    "message",
    "edited",
    "deleted",
    "presence",
    "typing",
    "reset",
    "error",
];

/// An `EventSource` on `/api/rooms/{id}/stream`.
pub struct Stream {
    source: EventSource,
    _listeners: Vec<Listener>,
}

impl Stream {
    /// Opens the stream after seq `after`.
    pub fn open(room: &RoomId, after: u64, report: Report) -> Result<Self, DomError> {
        let source = EventSource::new(&http::room_api(room, &format!("/stream?after={after}")))?;
        let closed = Rc::new(Cell::new(false));
        let mut listeners = Vec::new();
        for name in SSE_EVENTS {
            let (r, closed, room) = (report.clone(), closed.clone(), room.clone());
            listeners.push(Listener::new(&source, name, move |e: web_sys::Event| {
                if closed.get() {
                    return;
                }
                let data = e
                    .dyn_ref::<MessageEvent>()
                    .and_then(|m| m.data().as_string());
                // No data: the browser's own `error` (connection lost).
                if let Some(data) = data {
                    match sse_frame(&room, name, &data) {
                        Ok(frame) => r(Incoming::Frame(frame)),
                        Err(err) => bad_frame(&err),
                    }
                }
                if name == "error" {
                    // The stream ends after an error (and EventSource would
                    // retry on its own; the state machine decides instead).
                    closed.set(true);
                    r(Incoming::Closed);
                }
            })?);
        }
        Ok(Stream {
            source,
            _listeners: listeners,
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
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

/// One long-poll answer.
#[derive(Deserialize)]
pub struct PollAnswer {
    pub events: Vec<EventFields>,
    pub last_seq: u64,
    #[serde(default)]
    pub reset: Option<u64>,
}

/// A long-poll loop on `/api/rooms/{id}/events`.
pub struct Poll {
    alive: Rc<Cell<bool>>,
    abort: Option<AbortController>,
}

impl Poll {
    /// Starts polling after seq `after`. The first request does not wait, so
    /// the subscription is live (and the outbox goes out) at once.
    pub fn open(room: &RoomId, after: u64, report: Report) -> Self {
        let alive = Rc::new(Cell::new(true));
        let abort = AbortController::new().ok();
        let signal = abort.as_ref().map(AbortController::signal);
        let (room, flag) = (room.clone(), alive.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let mut after = after;
            let mut first = true;
            while flag.get() {
                let wait = if first { 0 } else { POLL_WAIT_S };
                let url = http::room_api(&room, &format!("/events?after={after}&wait={wait}"));
                let answer = http::request("GET", &url, None, signal.as_ref()).await;
                if !flag.get() {
                    return;
                }
                let parsed = match answer {
                    Ok(a) if a.ok() => serde_json::from_str::<PollAnswer>(&a.text).ok(),
                    Ok(a) => {
                        let (code, message) = a.error();
                        report(Incoming::Frame(ServerFrame::Error {
                            code,
                            message,
                            client_msg_id: None,
                        }));
                        None
                    }
                    Err(_) => None,
                };
                let Some(poll) = parsed else {
                    flag.set(false);
                    report(Incoming::Closed);
                    return;
                };
                if first {
                    first = false;
                    report(Incoming::Frame(ServerFrame::Subscribed {
                        room: room.clone(),
                        last_seq: poll.last_seq,
                    }));
                }
                if let Some(first_seq) = poll.reset {
                    report(Incoming::Frame(ServerFrame::Reset {
                        room: room.clone(),
                        first_seq,
                    }));
                }
                for event in poll.events {
                    if !flag.get() {
                        return;
                    }
                    match event.into_event() {
                        Ok(event) => report(Incoming::Frame(ServerFrame::Event {
                            room: room.clone(),
                            event,
                        })),
                        Err(err) => bad_frame(&err),
                    }
                }
                after = after.max(poll.last_seq);
            }
        });
        Poll { alive, abort }
    }
}

impl Drop for Poll {
    fn drop(&mut self) {
        self.alive.set(false);
        if let Some(abort) = &self.abort {
            abort.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Event;

    #[test]
    fn the_socket_scheme_follows_the_page() {
        assert_eq!(
            ws_url("http:", "127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/ws"
        );
        assert_eq!(
            ws_url("https:", "wiki.example"),
            "wss://wiki.example/api/ws"
        );
    }

    #[test]
    fn sse_events_become_websocket_frames() {
        let room = RoomId::new("r1");
        assert_eq!(
            sse_frame(&room, "subscribed", r#"{"last_seq":4}"#).ok(),
            Some(ServerFrame::Subscribed {
                room: room.clone(),
                last_seq: 4
            })
        );
        assert!(matches!(
            sse_frame(
                &room,
                "typing",
                r#"{"type":"typing","user":"bob","name":"Bob"}"#
            ),
            Ok(ServerFrame::Event {
                event: Event::Typing { .. },
                ..
            })
        ));
        assert!(matches!(
            sse_frame(
                &room,
                "error",
                r#"{"error":{"code":"not_found","message":"gone"}}"#
            ),
            Ok(ServerFrame::Error { .. })
        ));
        assert!(sse_frame(&room, "message", "not json").is_err());
    }

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
