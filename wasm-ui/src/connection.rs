//! The WebSocket to `/api/ws`: JSON text frames in and out.
//!
//! A [`Connection`] is one socket's lifetime. It reports [`Incoming`] events to
//! a callback and knows nothing about rooms, cursors or retries: those rules
//! live in [`crate::state`], which decides when to open a new one. Dropping a
//! `Connection` detaches its handlers and closes the socket, so a replaced
//! socket can never deliver a late event.

use crate::dom::DomError;
use protocol::{ClientFrame, ServerFrame};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// The WebSocket path, relative to the page's host.
pub const WS_PATH: &str = "/api/ws";

/// What a socket reports.
// One value at a time passes straight through (as with `ServerFrame` itself),
// so the size of the frame variant costs nothing worth a Box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The socket is open; frames can be sent.
    Opened,
    /// A frame arrived.
    Frame(ServerFrame),
    /// The socket closed or could not connect. Reported once.
    Closed,
}

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

/// One open (or opening) WebSocket and the handlers attached to it.
pub struct Connection {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Connection {
    /// Starts connecting to `url`; `report` hears about it from now on.
    pub fn open(url: &str, report: Rc<dyn Fn(Incoming)>) -> Result<Self, DomError> {
        let socket = WebSocket::new(url)?;

        let r = report.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || r(Incoming::Opened));

        let r = report.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            match serde_json::from_str::<ServerFrame>(&text) {
                Ok(frame) => r(Incoming::Frame(frame)),
                // A frame from a newer server we do not understand: skip it
                // rather than drop the connection.
                Err(err) => {
                    web_sys::console::warn_1(&format!("backchannel: bad frame: {err}").into())
                }
            }
        });

        // An `error` event is always followed by `close`, so `close` alone is reported.
        let r = report;
        let on_close = Closure::<dyn FnMut()>::new(move || r(Incoming::Closed));

        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Connection {
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

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        // Closing an already closed socket is a no-op; nothing to report either way.
        let _ = self.socket.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
