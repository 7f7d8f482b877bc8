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
//! Which transports exist and when to climb back up to a better one is
//! [`crate::transport`]'s to say.

use crate::dom::{DomError, Listener};
use crate::http;
use crate::transport::Transport;
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
const SSE_EVENTS: [&str; 10] = [
    "subscribed",
    "message",
    "edited",
    "deleted",
    "presence",
    "typing",
    "membership",
    "profile",
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
}
