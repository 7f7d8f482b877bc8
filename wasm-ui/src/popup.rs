//! The chat popup (`/rooms/{room_id}`): wires the page, the connection, the
//! timers and the HTTP API to [`state::update`] and carries out its effects.
//!
//! [`Popup`] owns everything it registers (listeners, timers, the
//! connection); callbacks and requests in flight hold only a weak handle back
//! to it, so dropping the `Popup` detaches the whole app from the page.
//!
//! Clicks are delegated: every button the UI adds carries `data-action`, and
//! one listener on the body dispatches them.
//!
//! Files reach [`state`] three ways: chosen with the attach button (the
//! form's file input), dropped on the popup, or pasted as images. The popup
//! holds each `Blob` under a number while [`state::update`] decides when it
//! goes; [`http::FileUpload`] sends it and reports progress.

use crate::connection::{self, Connection, Incoming};
use crate::dom::{self, DomError, Interval, Listener, Timeout};
use crate::http::{self, Answer, FileUpload, UploadAnswer};
use crate::state::{self, Effect, Model, Msg, UploadFailure, UploadMsg};
use crate::transport::Transport;
use crate::view::{self, View};
use protocol::{
    ClientFrame, ErrorCode, Event, History, Message, ServerFrame, Thread, Unread, Uploaded, UserId,
};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::{
    Blob, ClipboardEvent, DataTransfer, Document, DragEvent, Element, HtmlTextAreaElement,
    KeyboardEvent,
};

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

/// UTF-16 offset (as the DOM counts) to a byte offset in `text`.
fn byte_offset(text: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += u32::try_from(c.len_utf16()).unwrap_or(2);
    }
    text.len()
}

/// Byte offset in `text` to a UTF-16 offset.
fn utf16_offset(text: &str, byte: usize) -> u32 {
    let prefix = text.get(..byte).unwrap_or(text);
    u32::try_from(prefix.encode_utf16().count()).unwrap_or(u32::MAX)
}

impl Inner {
    /// Registers the listeners and timers.
    fn wire(self: &Rc<Self>) -> Result<(), DomError> {
        let mut listeners = Vec::new();
        let doc = self.view.doc().clone();
        if let (Some(form), Some(input)) = (self.view.form(), self.view.input()) {
            listeners.push(Listener::new(
                form,
                "submit",
                callback(self, |inner, e: web_sys::Event| {
                    // With the app running, sends queue in the outbox and go
                    // out over whichever transport is up (or once one is).
                    e.prevent_default();
                    inner.submit();
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "keydown",
                callback(self, |inner, e: web_sys::Event| {
                    if let Some(key) = e.dyn_ref::<KeyboardEvent>() {
                        inner.input_key(&e, key);
                    }
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "input",
                callback(self, |inner, _e: web_sys::Event| {
                    inner.dispatch(Msg::DraftChanged(inner.view.input_value()));
                    inner.complete_mentions();
                }),
            )?);
            listeners.push(Listener::new(
                input,
                "paste",
                callback(self, |inner, e: web_sys::Event| inner.paste(&e)),
            )?);
        }
        let list: web_sys::EventTarget = self.view.list().clone().into();
        for event in ["mouseover", "focusin"] {
            listeners.push(Listener::new(
                &list,
                event,
                callback(self, |inner, e: web_sys::Event| {
                    let Some((li, seq)) = target_of(&e).as_ref().and_then(message_at) else {
                        return;
                    };
                    let mine = inner.model.borrow().is_mine(seq);
                    if let Err(err) = inner.view.place_actions(&li, mine) {
                        warn(&err);
                    }
                }),
            )?);
        }
        listeners.push(Listener::new(
            &list,
            "keydown",
            callback(self, |inner, e: web_sys::Event| {
                // Keys in the inline editor.
                let Some(key) = e.dyn_ref::<KeyboardEvent>() else {
                    return;
                };
                let in_editor =
                    target_of(&e).is_some_and(|t| t.class_list().contains("bc-edit-input"));
                if !in_editor {
                    return;
                }
                let plain = !(key.shift_key() || key.alt_key() || key.ctrl_key() || key.meta_key());
                if key.key() == "Escape" {
                    e.prevent_default();
                    inner.dispatch(Msg::EditCancelled);
                    inner.view.focus_input();
                } else if key.key() == "Enter" && plain && !key.is_composing() {
                    e.prevent_default();
                    let body = inner.view.editor_value().unwrap_or_default();
                    inner.dispatch(Msg::EditSubmitted(body));
                    inner.view.focus_input();
                }
            }),
        )?);
        if let Some(file) = self.view.file_input() {
            listeners.push(Listener::new(
                file,
                "change",
                callback(self, |inner, _e: web_sys::Event| {
                    for f in inner.view.take_chosen_files() {
                        inner.queue_file(f.clone().into(), f.name());
                    }
                }),
            )?);
        }
        if let Some(body) = doc.body() {
            // Files dropped anywhere on the popup (the conversation is most
            // of it) are shared; without this the browser would open them.
            for event in ["dragenter", "dragover", "dragleave", "drop"] {
                listeners.push(Listener::new(
                    &body,
                    event,
                    callback(self, move |inner, e: web_sys::Event| inner.drag(event, &e)),
                )?);
            }
            listeners.push(Listener::new(
                &body,
                "click",
                callback(self, |inner, e: web_sys::Event| inner.click(&e)),
            )?);
            // Browsers let audio start only after a gesture.
            listeners.push(Listener::new(
                &body,
                "keydown",
                callback(self, |inner, _e: web_sys::Event| inner.view.unlock_audio()),
            )?);
        }
        let scroller: web_sys::EventTarget = self.view.scroller().clone().into();
        listeners.push(Listener::new(
            &scroller,
            "scroll",
            callback(self, |inner, _e: web_sys::Event| {
                inner.dispatch(Msg::Scrolled {
                    at_bottom: inner.view.at_bottom(),
                    at_top: inner.view.at_top(),
                });
            }),
        )?);
        let doc_target: web_sys::EventTarget = doc.clone().into();
        listeners.push(Listener::new(
            &doc_target,
            "visibilitychange",
            callback(self, |inner, _e: web_sys::Event| inner.visibility()),
        )?);
        let window: web_sys::EventTarget = dom::window()?.into();
        for event in ["focus", "blur"] {
            listeners.push(Listener::new(
                &window,
                event,
                callback(self, |inner, _e: web_sys::Event| inner.visibility()),
            )?);
        }
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
        let clock = callback(self, |inner, ()| inner.dispatch(Msg::Clock));
        *self.clock.borrow_mut() = Some(Interval::new(state::CLOCK_MS, move || clock(()))?);
        Ok(())
    }

    fn visibility(self: &Rc<Self>) {
        let doc = self.view.doc();
        self.dispatch(Msg::Visibility {
            hidden: doc.hidden(),
            focused: doc.has_focus().unwrap_or(true),
        });
    }

    /// Keys in the message input: completion, Esc, Up, Enter.
    fn input_key(self: &Rc<Self>, e: &web_sys::Event, key: &KeyboardEvent) {
        let name = key.key();
        let plain = !(key.shift_key() || key.alt_key() || key.ctrl_key() || key.meta_key());
        let open = !self.model.borrow().completions().is_empty();
        if open {
            match name.as_str() {
                "ArrowDown" | "ArrowUp" => {
                    e.prevent_default();
                    self.dispatch(Msg::MentionMove {
                        down: name == "ArrowDown",
                    });
                    return;
                }
                "Enter" | "Tab" if plain => {
                    e.prevent_default();
                    self.pick_mention(None);
                    return;
                }
                "Escape" => {
                    e.prevent_default();
                    self.dispatch(Msg::MentionsClosed);
                    return;
                }
                _ => {}
            }
        }
        match name.as_str() {
            "Escape" => {
                let replying = self.model.borrow().reply_to.is_some();
                if replying {
                    e.prevent_default();
                    self.dispatch(Msg::ReplyTo(None));
                }
            }
            "ArrowUp" if plain && self.view.input_value().is_empty() => {
                self.dispatch(Msg::StartEdit(None));
                if self.model.borrow().editing.is_some() {
                    e.prevent_default();
                }
            }
            // Enter sends; Shift+Enter (and IME composition) inserts a newline.
            "Enter" if plain && !key.is_composing() => {
                e.prevent_default();
                self.submit();
            }
            _ => {}
        }
    }

    /// The input's text and its caret as a byte offset.
    fn text_and_caret(&self) -> Option<(String, usize)> {
        let input = self.view.input()?;
        let text = input.value();
        let caret = byte_offset(&text, input.selection_start().ok().flatten().unwrap_or(0));
        Some((text, caret))
    }

    /// Asks for `@` completions for the word at the caret.
    fn complete_mentions(self: &Rc<Self>) {
        if let Some((text, caret)) = self.text_and_caret() {
            self.dispatch(Msg::MentionQuery { text, caret });
        }
    }

    /// Completes the `@word` at the caret with `user` (`None`: the highlighted one).
    fn pick_mention(self: &Rc<Self>, user: Option<UserId>) {
        if let Some((text, caret)) = self.text_and_caret() {
            self.dispatch(Msg::MentionPick { user, text, caret });
        }
    }

    /// Pasted images are uploaded; multi-line or code-like pastes go in as a
    /// fenced block.
    fn paste(self: &Rc<Self>, e: &web_sys::Event) {
        let data = e
            .dyn_ref::<ClipboardEvent>()
            .and_then(ClipboardEvent::clipboard_data);
        let images: Vec<web_sys::File> = data
            .as_ref()
            .and_then(DataTransfer::files)
            .map(|list| view::files_of(&list))
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.type_().starts_with("image/"))
            .collect();
        if !images.is_empty() {
            e.prevent_default();
            for image in images {
                let name = state::pasted_name(&image.type_(), js_sys::Date::now());
                self.queue_file(image.into(), name);
            }
            return;
        }
        let Some(text) = data.and_then(|d| d.get_data("text/plain").ok()) else {
            return;
        };
        let Some(block) = state::fence_paste(&text) else {
            return;
        };
        let Some(input) = self.view.input() else {
            return;
        };
        e.prevent_default();
        insert_block(input, &block);
        self.dispatch(Msg::DraftChanged(input.value()));
    }

    /// Holds `blob` as the next upload and tells [`state`] about it.
    fn queue_file(self: &Rc<Self>, blob: Blob, name: String) {
        let id = self.next_upload.get();
        self.next_upload.set(id.wrapping_add(1));
        // File sizes are far below 2^53: exact in an f64.
        let size = blob.size() as u64;
        self.files.borrow_mut().insert(id, (blob, name.clone()));
        self.dispatch(Msg::Upload(UploadMsg::Chosen { id, name, size }));
    }

    /// Drag and drop of files onto the popup: highlight while over it,
    /// share what is dropped. Drags of text or links are left alone.
    fn drag(self: &Rc<Self>, event: &str, e: &web_sys::Event) {
        let Some(data) = e.dyn_ref::<DragEvent>().and_then(DragEvent::data_transfer) else {
            return;
        };
        let has_files = data.types().includes(&"Files".into(), 0);
        if !has_files {
            return;
        }
        // Taking the event is what makes this a drop target (and stops the
        // browser from navigating to a dropped file).
        e.prevent_default();
        match event {
            "dragenter" => {
                self.drag_depth.set(self.drag_depth.get() + 1);
                self.view.show_dragging(true);
            }
            "dragover" => data.set_drop_effect("copy"),
            "dragleave" => {
                let depth = (self.drag_depth.get() - 1).max(0);
                self.drag_depth.set(depth);
                if depth == 0 {
                    self.view.show_dragging(false);
                }
            }
            "drop" => {
                self.drag_depth.set(0);
                self.view.show_dragging(false);
                let files = data.files().map(|l| view::files_of(&l)).unwrap_or_default();
                for f in files {
                    self.queue_file(f.clone().into(), f.name());
                }
            }
            _ => {}
        }
    }

    /// Sends upload `id`'s file, reporting progress and the end to [`state`].
    fn start_upload(self: &Rc<Self>, id: u32) {
        let Some((blob, name)) = self.files.borrow().get(&id).cloned() else {
            return;
        };
        let room = self.model.borrow().room.clone();
        let progress = callback(self, move |inner, sent: u64| {
            inner.dispatch(Msg::Upload(UploadMsg::Progress { id, sent }));
        });
        let done = callback(self, move |inner, answer: UploadAnswer| {
            inner.dispatch(Msg::Upload(upload_result(id, answer)));
        });
        let started = FileUpload::start(
            &http::room_api(&room, "/files"),
            &blob,
            &name,
            &dom::random_hex(16),
            progress,
            done,
        );
        match started {
            Ok(upload) => {
                self.uploading.borrow_mut().insert(id, upload);
            }
            Err(err) => {
                warn(&err);
                self.dispatch(Msg::Upload(UploadMsg::Failed {
                    id,
                    failure: UploadFailure {
                        status: 0,
                        message: None,
                        retry_after: None,
                    },
                }));
            }
        }
    }

    /// Lets go of upload `id`'s file, aborting the request if it still runs.
    fn drop_upload(&self, id: u32) {
        self.files.borrow_mut().remove(&id);
        if let Some(upload) = self.uploading.borrow_mut().remove(&id) {
            // This often runs inside the upload's own `load` listener: drop
            // it (and that listener) once the event is over, not under it.
            wasm_bindgen_futures::spawn_local(async move { drop(upload) });
        }
    }

    /// A click anywhere: buttons with `data-action`.
    fn click(self: &Rc<Self>, e: &web_sys::Event) {
        self.view.unlock_audio();
        let Some(target) = target_of(e) else { return };
        let Some(button) = target.closest("[data-action]").ok().flatten() else {
            return;
        };
        let action = dom::data(&button, "action").unwrap_or_default();
        let at = message_at(&button).map(|(_, seq)| seq);
        match action.as_str() {
            "reply" => self.dispatch(Msg::ReplyTo(at)),
            "thread" => {
                e.prevent_default();
                let parent = dom::data(&button, "parent")
                    .and_then(|p| p.parse().ok())
                    .or(at);
                if let Some(seq) = parent {
                    self.dispatch(Msg::OpenThread(seq));
                }
            }
            "edit" => self.dispatch(Msg::StartEdit(at)),
            "delete" => {
                let Some(seq) = at else { return };
                let sure = dom::window()
                    .ok()
                    .and_then(|w| w.confirm_with_message("Delete this message?").ok())
                    .unwrap_or(false);
                if sure {
                    self.dispatch(Msg::Delete(seq));
                }
            }
            "link" => {
                if let Some(seq) = at {
                    self.copy_link(seq);
                }
            }
            "save-edit" => {
                let body = self.view.editor_value().unwrap_or_default();
                self.dispatch(Msg::EditSubmitted(body));
                self.view.focus_input();
            }
            "cancel-edit" => {
                self.dispatch(Msg::EditCancelled);
                self.view.focus_input();
            }
            "cancel-reply" => {
                self.dispatch(Msg::ReplyTo(None));
                self.view.focus_input();
            }
            "jump" => self.dispatch(Msg::JumpToBottom),
            "mute" => self.dispatch(Msg::ToggleMute),
            "notify" => self.ask_notifications(),
            "toggle-info" => {
                if let Err(err) = self.view.toggle_info() {
                    warn(&err);
                }
            }
            "close-thread" => self.dispatch(Msg::CloseThread),
            "cancel-upload" => {
                if let Some(id) = dom::data(&button, "upload").and_then(|s| s.parse().ok()) {
                    self.dispatch(Msg::Upload(UploadMsg::Cancel(id)));
                    self.view.focus_input();
                }
            }
            "mention" => {
                if let Some(id) = dom::data(&button, "user") {
                    self.pick_mention(Some(UserId::new(id)));
                }
            }
            _ => {}
        }
    }

    /// Asks for notification permission (on this click, a user gesture).
    fn ask_notifications(self: &Rc<Self>) {
        let Ok(promise) = web_sys::Notification::request_permission() else {
            return;
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
            let granted = answer
                .ok()
                .and_then(|v| v.as_string())
                .is_some_and(|s| s == "granted");
            if let Some(inner) = weak.upgrade() {
                inner.view.hide_notify_button();
                inner.dispatch(Msg::NotifyPermission(granted));
            }
        });
    }

    /// Copies `/rooms/{id}#m-{seq}` (absolute) to the clipboard.
    fn copy_link(self: &Rc<Self>, seq: u64) {
        let Ok(window) = dom::window() else { return };
        let origin = window.location().origin().unwrap_or_default();
        let room = self.model.borrow().room.clone();
        let link = format!("{origin}/rooms/{room}#m-{seq}");
        let promise = window.navigator().clipboard().write_text(&link);
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            if let Some(inner) = weak.upgrade() {
                let text = if copied {
                    "Link copied.".to_owned()
                } else {
                    format!("Link: {link}")
                };
                inner.view.announce(&text);
                if !copied {
                    inner.dispatch(Msg::Failed(text));
                }
            }
        });
    }

    /// Fetches the thread of message `seq` for [`Msg::ThreadLoaded`].
    fn fetch_thread(self: &Rc<Self>, seq: u64) {
        let room = self.model.borrow().room.clone();
        let url = http::room_api(&room, &format!("/messages/{seq}/thread"));
        spawn_request(self, "GET", url, None, |inner, answer| match answer {
            Ok(a) if a.ok() => match serde_json::from_str::<Thread>(&a.text) {
                Ok(thread) => inner.dispatch(Msg::ThreadLoaded(thread)),
                Err(err) => warn(&DomError::Js(err.to_string())),
            },
            Ok(a) => inner.dispatch(Msg::Failed(format!("No thread: {}", a.error().1))),
            Err(err) => warn(&err),
        });
    }

    /// Sends what is in the input.
    fn submit(self: &Rc<Self>) {
        self.dispatch(Msg::MentionsClosed);
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
            Effect::ShowTyping(text) => self.view.show_typing(&text),
            Effect::FetchRead => {
                let room = self.model.borrow().room.clone();
                spawn_request(
                    self,
                    "GET",
                    http::room_api(&room, "/read"),
                    None,
                    |inner, a| {
                        let unread = match a {
                            Ok(a) if a.ok() => serde_json::from_str::<Unread>(&a.text).ok(),
                            _ => None,
                        };
                        // Without the server's mark, no divider, but reading still marks.
                        inner.dispatch(Msg::ReadState(unread.unwrap_or(Unread::new(0, 0))));
                    },
                );
            }
            Effect::FetchHistory { before, older } => {
                let room = self.model.borrow().room.clone();
                let query = match before {
                    Some(b) => format!("/messages?before={b}&limit={}", state::HISTORY_PAGE),
                    None => format!("/messages?limit={}", state::HISTORY_PAGE),
                };
                spawn_request(
                    self,
                    "GET",
                    http::room_api(&room, &query),
                    None,
                    move |inner, a| {
                        let history = match a {
                            Ok(a) if a.ok() => serde_json::from_str::<History>(&a.text).ok(),
                            _ => None,
                        };
                        inner.dispatch(match history {
                            Some(h) => Msg::History {
                                messages: h.messages,
                                older,
                            },
                            None => Msg::HistoryFailed { older },
                        });
                    },
                );
            }
            Effect::ShowDivider(seq) => self.view.show_divider(seq)?,
            Effect::ScrollToBottom => self.view.scroll_to_bottom(),
            Effect::ShowNewBelow(n) => self.view.show_new_below(n)?,
            Effect::ShowTitleCount(n) => self.view.show_title_count(n),
            Effect::Beep => self.view.beep()?,
            Effect::Notify { title, body, seq } => self.view.notify(&title, &body, seq)?,
            Effect::ShowMute(muted) => self.view.show_mute(muted)?,
            Effect::OpenEditor { seq, body } => self.view.open_editor(seq, &body)?,
            Effect::CloseEditor => self.view.close_editor(),
            Effect::PatchMessage { seq, body } => {
                let room = self.model.borrow().room.clone();
                let json = serde_json::json!({ "body": body }).to_string();
                let url = http::room_api(&room, &format!("/messages/{seq}"));
                spawn_request(self, "PATCH", url, Some(json), |inner, a| {
                    inner.changed(a, "Not edited", |message| Event::Edited { message });
                });
            }
            Effect::DeleteMessage { seq } => {
                let room = self.model.borrow().room.clone();
                let url = http::room_api(&room, &format!("/messages/{seq}"));
                spawn_request(self, "DELETE", url, None, |inner, a| {
                    inner.changed(a, "Not deleted", |message| Event::Deleted { message });
                });
            }
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

    /// The answer to an edit or delete: the changed message, applied at once
    /// (the stream's event for it changes nothing further).
    fn changed(
        self: &Rc<Self>,
        answer: Result<Answer, DomError>,
        what: &str,
        event: fn(Message) -> Event,
    ) {
        match answer {
            Ok(a) if a.ok() => {
                if let Ok(message) = serde_json::from_str::<Message>(&a.text) {
                    let room = message.room.clone();
                    self.dispatch(Msg::Frame(ServerFrame::Event {
                        room,
                        event: event(message),
                    }));
                }
            }
            Ok(a) => self.dispatch(Msg::Failed(format!("{what}: {}", a.error().1))),
            Err(_) => self.dispatch(Msg::Failed(format!("{what}: the server is unreachable."))),
        }
    }

    /// A frame's request over HTTP, for transports without an upstream.
    fn post(self: &Rc<Self>, frame: ClientFrame) {
        let room = self.model.borrow().room.clone();
        match frame {
            ClientFrame::Send {
                body,
                client_msg_id,
                reply_to,
                ..
            } => {
                let mut json = serde_json::json!({ "body": body, "client_msg_id": client_msg_id });
                if let Some(parent) = reply_to {
                    json["reply_to"] = parent.into();
                }
                let url = http::room_api(&room, "/messages");
                spawn_request(
                    self,
                    "POST",
                    url,
                    Some(json.to_string()),
                    move |inner, a| {
                        let msg = match a {
                            Ok(a) if a.ok() => match serde_json::from_str::<Message>(&a.text) {
                                Ok(message) => Msg::Posted {
                                    client_msg_id,
                                    message,
                                },
                                Err(_) => Msg::PostFailed { client_msg_id },
                            },
                            Ok(a) => {
                                let (code, message) = a.error();
                                Msg::Frame(ServerFrame::Error {
                                    code,
                                    message,
                                    client_msg_id: Some(client_msg_id),
                                })
                            }
                            Err(_) => Msg::PostFailed { client_msg_id },
                        };
                        inner.dispatch(msg);
                    },
                );
            }
            ClientFrame::Presence { status, .. } => {
                let json = serde_json::json!({ "status": status }).to_string();
                spawn_request(
                    self,
                    "POST",
                    http::room_api(&room, "/presence"),
                    Some(json),
                    ignore,
                );
            }
            ClientFrame::Typing { .. } => {
                spawn_request(self, "POST", http::room_api(&room, "/typing"), None, ignore);
            }
            ClientFrame::Read { seq, .. } => {
                let json = serde_json::json!({ "seq": seq }).to_string();
                spawn_request(
                    self,
                    "POST",
                    http::room_api(&room, "/read"),
                    Some(json),
                    ignore,
                );
            }
            ClientFrame::Subscribe { .. } | ClientFrame::Unsubscribe { .. } | ClientFrame::Ping => {
            }
        }
    }
}

/// An upload's end as [`state`] hears it: the shared message, or why not.
fn upload_result(id: u32, answer: UploadAnswer) -> UploadMsg {
    let failure = match answer {
        Ok((a, _)) if a.ok() => match serde_json::from_str::<Uploaded>(&a.text) {
            Ok(up) => {
                return UploadMsg::Done {
                    id,
                    message: Box::new(up.message),
                }
            }
            Err(_) => UploadFailure {
                status: a.status,
                message: Some("the server's answer was not understood".to_owned()),
                retry_after: None,
            },
        },
        Ok((a, retry_after)) => UploadFailure {
            status: a.status,
            message: Some(a.error().1),
            retry_after,
        },
        Err(_) => UploadFailure {
            status: 0,
            message: None,
            retry_after: None,
        },
    };
    UploadMsg::Failed { id, failure }
}

/// For fire-and-forget requests (heartbeats, typing, read marks): the next
/// one repairs a lost one; a 401/403 is logged.
fn ignore(_inner: &Rc<Inner>, answer: Result<Answer, DomError>) {
    if let Ok(a) = answer {
        if !a.ok() && a.error().0 != ErrorCode::RateLimited {
            warn(&DomError::Js(a.error().1));
        }
    }
}

/// Inserts `block` at the input's selection and puts the caret after it.
fn insert_block(input: &HtmlTextAreaElement, block: &str) {
    let start = input.selection_start().ok().flatten().unwrap_or(0);
    let end = input.selection_end().ok().flatten().unwrap_or(start);
    let value = input.value();
    let before = &value[..byte_offset(&value, start)];
    // Start the block on its own line.
    let lead = if before.is_empty() || before.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let text = format!("{lead}{block}");
    if input
        .set_range_text_with_start_and_end(&text, start, end)
        .is_ok()
    {
        let caret = start + u32::try_from(text.encode_utf16().count()).unwrap_or(0);
        let _ = input.set_selection_range(caret, caret);
    }
}

/// Logs a problem the reader cannot act on; the page keeps working.
fn warn(err: &DomError) {
    web_sys::console::warn_1(&format!("backchannel: {err}").into());
}
