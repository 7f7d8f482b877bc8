//! The chat popup (`/rooms/{room_id}`): wires the page, the connection, the
//! timers and the HTTP API to [`state::update`] and carries out its effects.
//!
//! [`Popup`] owns everything it registers (listeners, timers, the
//! connection); callbacks and requests in flight hold only a weak handle back
//! to it, so dropping the `Popup` detaches the whole app from the page.
//!
//! # Layout
//! - this file: [`Popup`], its shared inner state, `Inner::dispatch` (the
//!   one way into [`state::update`]) and `run`, which carries out each effect.
//! - `events`: the listeners and timers, and the `Msg` each DOM event becomes.
//! - `input`: the message input's keys, `@` completion and pastes.
//! - `files`: files chosen, dropped or pasted for upload, and the uploads.
//! - `requests`: the HTTP requests and how their answers come back as `Msg`.

mod events;
mod files;
mod input;
mod requests;

use crate::connection::{self, Connection, Incoming};
use crate::dom::{self, DomError, Interval, Listener, Timeout};
use crate::http::{self, Answer, FileUpload};
use crate::state::{self, Effect, Model, Msg};
use crate::transport::Transport;
use crate::view::{self, View};
use input::utf16_offset;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::{Blob, Document, Element};

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
    connection: RefCell<Option<Connection>>,
    reconnect: RefCell<Option<Timeout>>,
    keepalive: RefCell<Option<Interval>>,
    clock: RefCell<Option<Interval>>,
    listeners: RefCell<Vec<Listener>>,
    /// Files chosen for upload and their names, by upload number, until
    /// [`Effect::DropUpload`].
    files: RefCell<HashMap<u32, (Blob, String)>>,
    /// Uploads on their way; dropping one aborts it.
    uploading: RefCell<HashMap<u32, FileUpload>>,
    /// The next upload number.
    next_upload: Cell<u32>,
    /// `dragenter`s minus `dragleave`s: they fire for every child crossed,
    /// so the drop highlight goes only when this is back to zero.
    drag_depth: Cell<i32>,
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
        let mut model = Model::new(config, view.known_messages())
            .with_people(view.people("#bc-present"), view.people("#bc-participants"));
        model.muted = view.stored_mute();
        model.notify = view::notification_permission().as_deref() == Some("granted");
        model.hidden = doc.hidden();
        model.focused = doc.has_focus().unwrap_or(true);
        model.max_upload_bytes = view.max_upload_bytes();
        view.localize_times();
        view.refresh_days();
        view.show_mute(model.muted)?;
        view.scroll_to_bottom();
        let inner = Rc::new(Inner {
            view,
            model: RefCell::new(model),
            queue: RefCell::new(VecDeque::new()),
            dispatching: Cell::new(false),
            ws_url,
            connection: RefCell::new(None),
            reconnect: RefCell::new(None),
            keepalive: RefCell::new(None),
            clock: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            files: RefCell::new(HashMap::new()),
            uploading: RefCell::new(HashMap::new()),
            next_upload: Cell::new(1),
            drag_depth: Cell::new(0),
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

    /// The current transport.
    pub fn transport(&self) -> Transport {
        self.inner.model.borrow().transport
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

/// Runs `request` and hands its answer to `then`, unless the popup is gone by then.
fn spawn_request(
    inner: &Rc<Inner>,
    method: &'static str,
    url: String,
    json: Option<String>,
    then: impl FnOnce(&Rc<Inner>, Result<Answer, DomError>) + 'static,
) {
    let weak = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        let answer = http::request(method, &url, json.as_deref(), None).await;
        if let Some(inner) = weak.upgrade() {
            then(&inner, answer);
        }
    });
}

/// The `li.bc-msg[data-seq]` an event happened in, and its seq.
fn message_at(target: &Element) -> Option<(Element, u64)> {
    let li = target.closest("li.bc-msg[data-seq]").ok().flatten()?;
    let seq = dom::data(&li, "seq")?.parse().ok()?;
    Some((li, seq))
}

/// The event's target element.
fn target_of(e: &web_sys::Event) -> Option<Element> {
    e.target()?.dyn_into::<Element>().ok()
}

impl Inner {
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
            let effects = {
                let mut model = self.model.borrow_mut();
                model.now_ms = js_sys::Date::now();
                state::update(&mut model, msg)
            };
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
            Effect::Connect { transport, after } => {
                self.reconnect.borrow_mut().take();
                self.connection.borrow_mut().take();
                let report = callback(self, |inner, incoming: Incoming| {
                    inner.dispatch(match incoming {
                        Incoming::Opened => Msg::SocketOpened,
                        Incoming::Frame(frame) => Msg::Frame(frame),
                        Incoming::Closed => Msg::SocketClosed,
                    })
                });
                let room = self.model.borrow().room.clone();
                match Connection::open(transport, &self.ws_url, &room, after, Rc::new(report)) {
                    Ok(conn) => *self.connection.borrow_mut() = Some(conn),
                    Err(err) => {
                        // e.g. a malformed URL: treat like a failed connect and retry later.
                        self.dispatch(Msg::SocketClosed);
                        return Err(err);
                    }
                }
            }
            Effect::Disconnect => {
                self.connection.borrow_mut().take();
            }
            Effect::ScheduleReconnect { attempt } => {
                self.connection.borrow_mut().take();
                let delay = state::backoff_ms(attempt, js_sys::Math::random());
                let due = callback(self, |inner, ()| inner.dispatch(Msg::ReconnectDue));
                *self.reconnect.borrow_mut() = Some(Timeout::new(delay, move || due(()))?);
            }
            Effect::Send(frame) => {
                if let Some(conn) = self.connection.borrow().as_ref() {
                    conn.send(&frame)?;
                }
            }
            Effect::Post(frame) => self.post(frame),
            Effect::RunCommand(text) => self.run_command(text),
            Effect::ShowCommandHint(hint) => self.view.show_command_hint(&hint)?,
            Effect::ShowConnection(s) => {
                self.view.show_connection(s)?;
                self.view
                    .show_transport(self.model.borrow().transport.name())?;
            }
            Effect::ShowCursor(seq) => self.view.show_cursor(seq)?,
            Effect::RenderMessage(message) => self.view.render_message(&message)?,
            Effect::RenderOlder(messages) => self.view.render_older(&messages)?,
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
            Effect::ShowPresent(people) => self.view.show_present(&people)?,
            Effect::ShowParticipants(people) => self.view.show_participants(&people)?,
            Effect::RefreshPeople => self.refresh_people(),
            Effect::ShowFace { user, avatar } => self.view.show_face(&user, avatar.as_deref())?,
            Effect::ShowTyping(text) => self.view.show_typing(&text),
            Effect::FetchRead => self.fetch_read(),
            Effect::FetchHistory { before, older } => self.fetch_history(before, older),
            Effect::ShowDivider(seq) => self.view.show_divider(seq)?,
            Effect::ScrollToBottom => self.view.scroll_to_bottom(),
            Effect::ShowNewBelow(n) => self.view.show_new_below(n)?,
            Effect::ShowTitleCount(n) => self.view.show_title_count(n),
            Effect::Beep => self.view.beep()?,
            Effect::Notify { title, body, seq } => self.view.notify(&title, &body, seq)?,
            Effect::ShowMute(muted) => self.view.show_mute(muted)?,
            Effect::OpenEditor { seq, body } => self.view.open_editor(seq, &body)?,
            Effect::CloseEditor => self.view.close_editor(),
            Effect::PatchMessage { seq, body } => self.patch_message(seq, body),
            Effect::DeleteMessage { seq } => self.delete_message(seq),
            Effect::ShowReply(seq) => self.view.show_reply(seq)?,
            Effect::FetchThread { seq } => self.fetch_thread(seq),
            Effect::ShowThread(thread) => self.view.show_thread(&thread.parent, &thread.replies)?,
            Effect::CloseThread => self.view.close_thread(),
            Effect::ShowMentions { people, selected } => {
                self.view.show_mentions(&people, selected)?;
            }
            Effect::SetInput { text, caret } => {
                self.view.set_input(&text, utf16_offset(&text, caret));
            }
            Effect::FocusInput => self.view.focus_input(),
            Effect::Announce(text) => self.view.announce(&text),
            Effect::StartUpload { id } => self.start_upload(id),
            Effect::DropUpload { id } => self.drop_upload(id),
            Effect::ShowUploads(uploads) => self.view.show_uploads(&uploads)?,
        }
        Ok(())
    }
}

/// Logs a problem the reader cannot act on; the page keeps working.
fn warn(err: &DomError) {
    web_sys::console::warn_1(&format!("backchannel: {err}").into());
}
