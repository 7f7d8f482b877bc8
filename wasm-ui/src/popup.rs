//! The chat popup (`/rooms/{room_id}`): wires the page, the socket and the
//! timers to [`state::update`] and carries out its effects.
//!
//! [`Popup`] owns everything it registers (listeners, timers, the socket);
//! callbacks hold only a weak handle back to it, so dropping the `Popup`
//! detaches the whole app from the page.

use crate::connection::{self, Connection, Incoming};
use crate::dom::{self, DomError, Interval, Listener, Timeout};
use crate::state::{self, ConnState, Effect, Model, Msg};
use crate::view::View;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::{Document, KeyboardEvent};

/// A running popup. Drop it to stop.
pub struct Popup {
    inner: Rc<Inner>,
}

struct Inner {
    view: View,
    model: RefCell<Model>,
    /// Messages waiting for [`Inner::dispatch`]: an effect may cause a message
    /// (e.g. a socket that fails to open) while one is being handled.
    queue: RefCell<VecDeque<Msg>>,
    dispatching: Cell<bool>,
    ws_url: String,
    socket: RefCell<Option<Connection>>,
    reconnect: RefCell<Option<Timeout>>,
    keepalive: RefCell<Option<Interval>>,
    listeners: RefCell<Vec<Listener>>,
}

impl Popup {
    /// Enhances the server-rendered popup in `doc` and starts connecting to
    /// this page's `/api/ws`.
    pub fn start(doc: &Document) -> Result<Popup, DomError> {
        Self::start_with_url(doc, connection::page_ws_url()?)
    }

    /// Like [`Popup::start`], with an explicit WebSocket URL.
    pub fn start_with_url(doc: &Document, ws_url: String) -> Result<Popup, DomError> {
        let view = View::attach(doc)?;
        let config = view.config()?;
        let model = Model::new(config, view.known_messages());
        view.localize_times();
        view.scroll_to_bottom();
        let inner = Rc::new(Inner {
            view,
            model: RefCell::new(model),
            queue: RefCell::new(VecDeque::new()),
            dispatching: Cell::new(false),
            ws_url,
            socket: RefCell::new(None),
            reconnect: RefCell::new(None),
            keepalive: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
        });
        Inner::wire(&inner)?;
        inner.dispatch(Msg::Start);
        Ok(Popup { inner })
    }

    /// Feeds a message in as if the browser or server had sent it.
    pub fn dispatch(&self, msg: Msg) {
        self.inner.dispatch(msg);
    }

    /// The current connection state.
    pub fn connection(&self) -> state::ConnState {
        self.inner.model.borrow().connection
    }
}

/// `f` with a weak handle, as an event callback: does nothing once the popup is gone.
fn callback<E>(inner: &Rc<Inner>, f: impl Fn(&Rc<Inner>, E) + 'static) -> impl Fn(E) + 'static {
    let weak: Weak<Inner> = Rc::downgrade(inner);
    move |e| {
        if let Some(inner) = weak.upgrade() {
            f(&inner, e);
        }
    }
}

impl Inner {
    /// Registers the listeners and the keep-alive timer.
    fn wire(self: &Rc<Self>) -> Result<(), DomError> {
        let mut listeners = Vec::new();
        if let (Some(form), Some(input)) = (self.view.form(), self.view.input()) {
            listeners.push(Listener::new(
                form,
                "submit",
                callback(self, |inner, e: web_sys::Event| {
                    // Offline, the plain form POST goes through instead: the
                    // server stores the message and renders the room again.
                    if inner.connected() {
                        e.prevent_default();
                        inner.submit();
                    }
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "keydown",
                callback(self, |inner, e: web_sys::Event| {
                    let Some(key) = e.dyn_ref::<KeyboardEvent>() else {
                        return;
                    };
                    // Enter sends; Shift+Enter (and IME composition) inserts a newline.
                    let plain =
                        !(key.shift_key() || key.alt_key() || key.ctrl_key() || key.meta_key());
                    if key.key() != "Enter" || !plain || key.is_composing() {
                        return;
                    }
                    e.prevent_default();
                    if inner.connected() {
                        inner.submit();
                    } else if let Some(form) = inner.view.form() {
                        // Through the submit event, which lets the POST happen.
                        if let Err(err) = form.request_submit() {
                            warn(&DomError::from(err));
                        }
                    }
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "input",
                callback(self, |inner, _e: web_sys::Event| {
                    inner.dispatch(Msg::DraftChanged(inner.view.input_value()));
                }),
            )?);
        }
        let window: web_sys::EventTarget = dom::window()?.into();
        listeners.push(Listener::new(
            &window,
            "online",
            callback(self, |inner, _e: web_sys::Event| {
                inner.dispatch(Msg::NetworkOnline)
            }),
        )?);
        *self.listeners.borrow_mut() = listeners;

        let tick = callback(self, |inner, ()| inner.dispatch(Msg::Tick));
        *self.keepalive.borrow_mut() =
            Some(Interval::new(state::PING_INTERVAL_MS, move || tick(()))?);
        Ok(())
    }

    /// Whether the socket is subscribed, so a send can go out now.
    fn connected(&self) -> bool {
        self.model.borrow().connection == ConnState::Connected
    }

    /// Sends what is in the input.
    fn submit(self: &Rc<Self>) {
        let body = self.view.input_value();
        self.dispatch(Msg::Submit {
            body,
            client_msg_id: dom::random_hex(16),
        });
    }

    /// Runs `msg` through [`state::update`] and carries out the effects,
    /// then anything queued meanwhile.
    fn dispatch(self: &Rc<Self>, msg: Msg) {
        self.queue.borrow_mut().push_back(msg);
        if self.dispatching.replace(true) {
            return;
        }
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(msg) = next else { break };
            let effects = state::update(&mut self.model.borrow_mut(), msg);
            for effect in effects {
                if let Err(err) = self.run(effect) {
                    warn(&err);
                }
            }
        }
        self.dispatching.set(false);
    }

    fn run(self: &Rc<Self>, effect: Effect) -> Result<(), DomError> {
        match effect {
            Effect::Connect => {
                self.reconnect.borrow_mut().take();
                self.socket.borrow_mut().take();
                let report = callback(self, |inner, incoming: Incoming| {
                    inner.dispatch(match incoming {
                        Incoming::Opened => Msg::SocketOpened,
                        Incoming::Frame(frame) => Msg::Frame(frame),
                        Incoming::Closed => Msg::SocketClosed,
                    })
                });
                match Connection::open(&self.ws_url, Rc::new(report)) {
                    Ok(conn) => *self.socket.borrow_mut() = Some(conn),
                    Err(err) => {
                        // e.g. a malformed URL: treat like a failed connect and retry later.
                        self.dispatch(Msg::SocketClosed);
                        return Err(err);
                    }
                }
            }
            Effect::Disconnect => {
                self.socket.borrow_mut().take();
            }
            Effect::ScheduleReconnect { attempt } => {
                let delay = state::backoff_ms(attempt, js_sys::Math::random());
                let due = callback(self, |inner, ()| inner.dispatch(Msg::ReconnectDue));
                *self.reconnect.borrow_mut() = Some(Timeout::new(delay, move || due(()))?);
            }
            Effect::Send(frame) => {
                if let Some(conn) = self.socket.borrow().as_ref() {
                    conn.send(&frame)?;
                }
            }
            Effect::ShowConnection(s) => self.view.show_connection(s)?,
            Effect::ShowCursor(seq) => self.view.show_cursor(seq)?,
            Effect::RenderMessage(message) => self.view.render_message(&message)?,
            Effect::Reload => self.view.reload()?,
            Effect::ShowPending {
                client_msg_id,
                body,
            } => {
                let name = self.model.borrow().my_name.clone();
                self.view.show_pending(&client_msg_id, &body, &name)?;
            }
            Effect::RemovePending { client_msg_id } => self.view.remove_pending(&client_msg_id),
            Effect::ClearInput => {
                self.view.clear_input();
                self.view.notice("")?;
            }
            Effect::RestoreInput(text) => self.view.restore_input(&text),
            Effect::Notice(text) => self.view.notice(&text)?,
        }
        Ok(())
    }
}

/// Logs a problem the reader cannot act on; the page keeps working.
fn warn(err: &DomError) {
    web_sys::console::warn_1(&format!("backchannel: {err}").into());
}
