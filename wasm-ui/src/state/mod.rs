//! The popup's state and the one function that changes it.
//!
//! Everything here is plain Rust: no web-sys, no clocks, no randomness. The
//! DOM layer turns browser events into a [`Msg`], [`update`] applies it to the
//! [`Model`] and answers with [`Effect`]s for the DOM layer to carry out. The
//! current time comes in as [`Model::now_ms`], set by the DOM layer before
//! each update, so the timed rules (typing expiry, heartbeats, throttles) are
//! unit-tested natively with `cargo test -p wasm-ui` too.
//!
//! This file holds the model, the messages, the effects and [`update`],
//! which hands each message to the part that owns it. The rules live in the
//! parts, each with its tests:
//! - `ladder`: connecting, subscribing, keep-alive, reconnect backoff and the
//!   transport ladder (down after failures, back up after a quiet while,
//!   timed by [`crate::transport::Climb`]).
//! - `timeline`: delivery (dedupe by id, order by seq, resume from the last
//!   contiguous seq), edits and deletes, the history refetch and older pages.
//! - `outbox`: the outbox, sent once and in order after a reconnect, acks
//!   and refusals.
//! - `people`: presence, participants and typing.
//! - `reading`: read marks, the missed-messages divider, the unread count,
//!   beeps and the "new messages" button.
//! - `actions`: edits and deletes of my own messages, replies, threads.
//! - `mentions`: `@` in messages and `@` completion in the input.
//! - `uploads`: size checks, one at a time, progress, refusals worded for
//!   the reader.
//! - `text`: day labels and paste fencing.

mod actions;
mod commands;
mod ladder;
mod mentions;
mod outbox;
mod people;
mod reading;
#[cfg(test)]
mod testing;
mod text;
mod timeline;
mod uploads;

pub use ladder::{
    backoff_ms, ConnState, BASE_BACKOFF_MS, FAILURES_BEFORE_FALLBACK, MAX_BACKOFF_MS,
    PING_INTERVAL_MS,
};
pub use mentions::{mention_candidates, mention_query, mentions, Completion};
pub use outbox::Outgoing;
pub use people::{typing_text, Person, PRESENCE_EVERY_MS, TYPING_EVERY_MS, TYPING_SHOWN_MS};
pub use reading::{BEEP_EVERY_MS, READ_EVERY_MS};
pub use text::{day_label, fence_paste};
pub use timeline::HISTORY_PAGE;
pub use uploads::{limit_text, pasted_name, upload_failure_text, Upload, UploadFailure, UploadMsg};

use crate::transport::{Climb, Transport};
use protocol::{ClientFrame, Message, MessageId, RoomId, ServerFrame, Thread, Unread, UserId};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How often [`Msg::Clock`] fires: the resolution of the timed rules below.
pub const CLOCK_MS: u32 = 1_000;

/// What the page told us when it was rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub room: RoomId,
    pub me: UserId,
    pub my_name: String,
    /// The newest seq the server rendered into the page (0: none).
    pub last_seq: u64,
    /// False for readers who may not post (no edit right on the host page).
    pub can_post: bool,
    /// The commands this reader may use here (`body[data-commands]`).
    pub commands: Vec<String>,
}

/// A message already on screen when we start (server-rendered history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub seq: u64,
    pub id: MessageId,
    /// `li[data-author]`, so my own messages can be edited before their
    /// source arrives.
    pub author: UserId,
}

/// The popup's whole state.
#[derive(Debug, Clone)]
pub struct Model {
    pub room: RoomId,
    pub me: UserId,
    pub my_name: String,
    pub can_post: bool,
    /// Milliseconds since the epoch, set by the DOM layer before each update.
    pub now_ms: f64,
    /// Every message on screen, seq -> id; the view shows them in this order.
    messages: BTreeMap<u64, MessageId>,
    /// id -> seq, so a message delivered twice is recognised and shown once.
    by_id: HashMap<MessageId, u64>,
    /// seq -> author for every message on screen (edit rights, "my last").
    authors: HashMap<u64, UserId>,
    /// Full messages as delivered or fetched: the markdown source to edit.
    /// Server-rendered items are missing until the history refetch.
    sources: HashMap<u64, Message>,
    /// The resume cursor: every seq from the first one we started with up to
    /// here is on screen. A later seq that arrived early does not move it, so a
    /// reconnect replays the gap instead of skipping it.
    pub last_seq: u64,
    pub connection: ConnState,
    /// The rung of the ladder in use.
    pub transport: Transport,
    /// Connects on this transport that failed before subscribing, in a row.
    failures: u32,
    /// When to try a better transport again after falling down the ladder.
    climb: Climb,
    /// Sent but not acknowledged, oldest first; resent in this order on reconnect.
    outbox: VecDeque<Outgoing>,
    /// Over HTTP the outbox goes one request at a time, so the server commits
    /// in order; this is the `client_msg_id` of the one in flight.
    posting: Option<String>,
    /// Acknowledged sends whose message event has not arrived yet: their
    /// "sending…" placeholder stays until the real message replaces it.
    acked: HashMap<MessageId, String>,
    /// The text in the input, as last reported by the DOM.
    pub draft: String,
    /// Failed connection attempts since the last successful subscribe.
    attempts: u32,
    /// A ping went out and no pong came back yet.
    awaiting_pong: bool,
    /// Who is here now (the "Here now" list), by id.
    present: BTreeMap<UserId, Person>,
    /// Everyone who has posted, most recent first.
    participants: Vec<Person>,
    /// Who is typing: id -> (name, when the line expires).
    typing: BTreeMap<UserId, (String, f64)>,
    /// When my last typing notice went out.
    typing_sent_ms: Option<f64>,
    /// When my last presence heartbeat went out.
    presence_sent_ms: Option<f64>,
    /// The page is hidden (another tab, minimised).
    pub hidden: bool,
    /// The window has the keyboard focus.
    pub focused: bool,
    /// The reader is at the newest message.
    pub at_bottom: bool,
    /// Messages from others that arrived while the reader was scrolled up.
    below: u32,
    /// Messages from others that arrived while hidden or unfocused (the title count).
    unseen: u32,
    /// No beeps.
    pub muted: bool,
    /// Desktop notifications were granted.
    pub notify: bool,
    /// When the last beep played.
    beep_ms: Option<f64>,
    /// The read state was asked for (once per page).
    read_asked: bool,
    /// The server's read mark is known, so marking may start.
    read_known: bool,
    /// The highest seq the server knows I have read (sent or reported).
    read_mark: u64,
    /// When the last read mark went out.
    read_sent_ms: Option<f64>,
    /// A page of older history is on its way.
    loading_older: bool,
    /// The oldest message is on screen: no more pages to load.
    history_complete: bool,
    /// The seq of my message being edited inline.
    pub editing: Option<u64>,
    /// The seq the next message replies to.
    pub reply_to: Option<u64>,
    /// The thread on show in `#bc-thread` (its parent's seq).
    pub thread: Option<u64>,
    /// The `@` completions on offer.
    completion: Completion,
    /// The commands this reader may use here, for the `/` hint.
    commands: Vec<String>,
    /// Files being uploaded, in the order chosen; the first is on its way.
    uploads: Vec<Upload>,
    /// The server's upload size cap (`body[data-max-upload]`; 0: unknown,
    /// the server decides).
    pub max_upload_bytes: u64,
}

/// Something that happened: a browser event, a server frame or an HTTP answer.
// One value at a time passes straight through (as with `ServerFrame` itself),
// so the size of the frame variant costs nothing worth a Box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The app is wired up: start connecting.
    Start,
    /// The transport opened (a WebSocket's `open`; SSE and long-poll report
    /// `subscribed` straight away).
    SocketOpened,
    /// The transport closed or failed.
    SocketClosed,
    /// A frame arrived from the server (SSE and long-poll events are turned
    /// into the same frames).
    Frame(ServerFrame),
    /// The keep-alive timer fired.
    Tick,
    /// The one-second clock: typing expiry, heartbeats, throttled read marks.
    Clock,
    /// The reconnect delay is over.
    ReconnectDue,
    /// The browser says the network is back (`online` event).
    NetworkOnline,
    /// The user edited the input.
    DraftChanged(String),
    /// The user sent the input. The DOM layer picks the random `client_msg_id`.
    Submit { body: String, client_msg_id: String },
    /// An HTTP post of an outbox message was committed.
    Posted {
        client_msg_id: String,
        message: Message,
    },
    /// An HTTP post failed without an answer (network): retry later.
    PostFailed { client_msg_id: String },
    /// The page was hidden or shown, or the window lost or got focus.
    Visibility { hidden: bool, focused: bool },
    /// The conversation scrolled.
    Scrolled { at_bottom: bool, at_top: bool },
    /// The server's read state for me (`GET /read`).
    ReadState(Unread),
    /// A page of history: the newest (`older: false`, after a subscribe, to
    /// see edits made meanwhile) or the one before what is shown.
    History { messages: Vec<Message>, older: bool },
    /// A history request failed.
    HistoryFailed { older: bool },
    /// Edit one of my messages (`None`: my last one, the Up arrow).
    StartEdit(Option<u64>),
    /// The inline editor was submitted.
    EditSubmitted(String),
    /// The inline editor was cancelled (Esc).
    EditCancelled,
    /// The user confirmed deleting one of their messages.
    Delete(u64),
    /// Reply to this message (`None`: cancel the reply).
    ReplyTo(Option<u64>),
    /// Open the thread of this message.
    OpenThread(u64),
    /// The thread asked for arrived (`GET /messages/{seq}/thread`).
    ThreadLoaded(Thread),
    /// The thread panel's close button was pressed.
    CloseThread,
    /// The input's text changed, with the caret at byte `caret`: offer `@`
    /// completions for the word there.
    MentionQuery { text: String, caret: usize },
    /// Move the highlight in the completions (Down: `true`, Up: `false`).
    MentionMove { down: bool },
    /// Complete with `user` (`None`: the highlighted one; Enter or Tab);
    /// `text` and `caret` (a byte offset) are the input's as it is now.
    MentionPick {
        user: Option<UserId>,
        text: String,
        caret: usize,
    },
    /// Hide the completions (Esc, or the input was sent).
    MentionsClosed,
    /// The mute button was pressed.
    ToggleMute,
    /// Desktop notifications were granted (true) or not.
    NotifyPermission(bool),
    /// The "new messages ↓" button was pressed.
    JumpToBottom,
    /// A request failed with something to tell the reader.
    Failed(String),
    /// Tab in the input while a `/name` is typed: complete it.
    CompleteCommand,
    /// A command answered (`/help`'s list, "The topic is now: ...").
    Said(String),
    /// A command was refused: say why and give its text back to edit.
    CommandFailed { text: String, message: String },
    /// Something happened to a file upload (see [`UploadMsg`]).
    Upload(UploadMsg),
}

/// Something for the DOM layer to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open `transport` from `after` (dropping any old one and any pending reconnect).
    Connect { transport: Transport, after: u64 },
    /// Close the current transport without waiting for its close event.
    Disconnect,
    /// Call back with [`Msg::ReconnectDue`] after [`backoff_ms`] for this attempt.
    ScheduleReconnect { attempt: u32 },
    /// Send a frame on the open WebSocket.
    Send(ClientFrame),
    /// `POST /api/rooms/{id}/commands` with a command line (`/topic ...`),
    /// answered with [`Msg::Said`] or [`Msg::CommandFailed`]; what it posts
    /// (`/me`) arrives as any message does.
    RunCommand(String),
    /// Send a frame's request over HTTP (SSE and long-poll have no upstream):
    /// `send` → `POST /messages` (answer: [`Msg::Posted`]), `presence`,
    /// `typing` and `read` to their endpoints.
    Post(ClientFrame),
    /// Show the connection state (`#bc-conn`, `body[data-connected]`).
    ShowConnection(ConnState),
    /// Show a message in seq order, replacing its earlier rendering if any.
    RenderMessage(Message),
    /// Show older messages above the ones on screen, keeping the reader's place.
    RenderOlder(Vec<Message>),
    /// Record the resume cursor in `body[data-last-seq]`.
    ShowCursor(u64),
    /// Reload the page (after a `reset`: the server renders what it still has).
    Reload,
    /// Show a "sending…" placeholder for one of my messages at the bottom.
    ShowPending { client_msg_id: String, body: String },
    /// Remove a placeholder: the real message is on screen, or it failed.
    RemovePending { client_msg_id: String },
    /// Empty the input after a send.
    ClearInput,
    /// Put text back into the (empty) input, e.g. a message the server refused.
    RestoreInput(String),
    /// Tell the reader something went wrong (empty: clear).
    Notice(String),
    /// Show "Here now" (sorted by name).
    ShowPresent(Vec<Person>),
    /// Show the participants, most recent first.
    ShowParticipants(Vec<Person>),
    /// Show `user`'s picture (`None`: their letter) beside their messages.
    ShowFace {
        user: UserId,
        avatar: Option<String>,
    },
    /// `GET /rooms/{id}/people` and put the members panel it renders in
    /// place of the one on screen (someone joined, left or changed role).
    RefreshPeople,
    /// Show who is typing (`""`: nobody).
    ShowTyping(String),
    /// `GET /api/rooms/{id}/read`, answered with [`Msg::ReadState`].
    FetchRead,
    /// `GET /messages?before=&limit=`, answered with [`Msg::History`].
    FetchHistory { before: Option<u64>, older: bool },
    /// Put the "New messages" divider before this seq and scroll to it.
    ShowDivider(u64),
    /// Scroll to the newest message.
    ScrollToBottom,
    /// The "new messages ↓" button with this count (0: hidden).
    ShowNewBelow(u32),
    /// The unread count in the document title (0: the plain title).
    ShowTitleCount(u32),
    /// A short beep.
    Beep,
    /// A desktop notification for a mention of me.
    Notify {
        title: String,
        body: String,
        seq: u64,
    },
    /// Show (and persist) the mute state.
    ShowMute(bool),
    /// Open the inline editor on my message `seq` with its source.
    OpenEditor { seq: u64, body: String },
    /// Close the inline editor, if open.
    CloseEditor,
    /// `PATCH /messages/{seq}` with the new body.
    PatchMessage { seq: u64, body: String },
    /// `DELETE /messages/{seq}`.
    DeleteMessage { seq: u64 },
    /// Show the message being replied to above the input (`None`: hide it).
    ShowReply(Option<u64>),
    /// `GET /messages/{seq}/thread`, answered with [`Msg::ThreadLoaded`].
    FetchThread { seq: u64 },
    /// Show a thread in `#bc-thread`.
    ShowThread(Thread),
    /// Hide `#bc-thread`.
    CloseThread,
    /// Show these `@` completions with one highlighted (empty: hide the list).
    ShowMentions {
        people: Vec<Person>,
        selected: usize,
    },
    /// Replace the input's text and put the caret at byte `caret`.
    SetInput { text: String, caret: usize },
    /// The commands matching the `/name` being typed, as a hint under the
    /// input (`""`: hidden).
    ShowCommandHint(String),
    /// Put the keyboard focus back in the input.
    FocusInput,
    /// Read a line out to screen readers (`#bc-live`).
    Announce(String),
    /// Send the file held for upload `id` (`POST /files`), reporting
    /// [`UploadMsg::Progress`] and then [`UploadMsg::Done`] or [`UploadMsg::Failed`].
    StartUpload { id: u32 },
    /// Forget the file held for upload `id`, aborting it if it is on its way.
    DropUpload { id: u32 },
    /// Show these uploads (queued and in flight) with their progress; empty hides the list.
    ShowUploads(Vec<Upload>),
}

impl Model {
    /// A model for the page as rendered: `known` are the messages already in
    /// it, `present` and `participants` the info panel's lists.
    pub fn new(config: Config, known: impl IntoIterator<Item = Known>) -> Self {
        let mut model = Model {
            room: config.room,
            me: config.me,
            my_name: config.my_name,
            can_post: config.can_post,
            now_ms: 0.0,
            messages: BTreeMap::new(),
            by_id: HashMap::new(),
            authors: HashMap::new(),
            sources: HashMap::new(),
            last_seq: config.last_seq,
            connection: ConnState::Connecting,
            transport: Transport::WebSocket,
            failures: 0,
            climb: Climb::default(),
            outbox: VecDeque::new(),
            posting: None,
            acked: HashMap::new(),
            draft: String::new(),
            attempts: 0,
            awaiting_pong: false,
            present: BTreeMap::new(),
            participants: Vec::new(),
            typing: BTreeMap::new(),
            typing_sent_ms: None,
            presence_sent_ms: None,
            hidden: false,
            focused: true,
            at_bottom: true,
            below: 0,
            unseen: 0,
            muted: false,
            notify: false,
            beep_ms: None,
            read_asked: false,
            read_known: false,
            read_mark: 0,
            read_sent_ms: None,
            loading_older: false,
            history_complete: false,
            editing: None,
            reply_to: None,
            thread: None,
            completion: Completion::default(),
            commands: config.commands,
            uploads: Vec::new(),
            max_upload_bytes: 0,
        };
        for k in known {
            model.by_id.insert(k.id.clone(), k.seq);
            model.authors.insert(k.seq, k.author);
            model.messages.insert(k.seq, k.id);
        }
        model.advance_cursor();
        model
    }

    fn signed_in(&self) -> bool {
        !self.me.as_str().is_empty()
    }

    /// A frame from the server, to the part that handles it.
    fn on_frame(&mut self, frame: ServerFrame, fx: &mut Vec<Effect>) {
        match frame {
            ServerFrame::Subscribed { room, .. } if room == self.room => self.subscribed(fx),
            ServerFrame::Event { room, event } if room == self.room => self.on_event(event, fx),
            ServerFrame::Ack {
                client_msg_id, id, ..
            } => self.acked(client_msg_id, id, fx),
            ServerFrame::Reset { room, .. } if room == self.room => {
                // Our cursor is older than the retained history: what we show
                // may have a hole we can never fill. The server renders the
                // page from what it still has, so start over from there.
                fx.push(Effect::Reload);
            }
            ServerFrame::Error {
                code,
                message,
                client_msg_id: Some(client_msg_id),
            } => self.refused(code, message, client_msg_id, fx),
            ServerFrame::Error { message, .. } => fx.push(Effect::Notice(message)),
            ServerFrame::Pong => self.awaiting_pong = false,
            // Frames for other rooms: this popup shows one room. The
            // popup does not ask for notifications (yet).
            ServerFrame::Subscribed { .. }
            | ServerFrame::Event { .. }
            | ServerFrame::Reset { .. }
            | ServerFrame::Notifications { .. }
            | ServerFrame::Notification { .. } => {}
        }
    }
}

/// Applies `msg` to `model` and returns what the DOM layer must do, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    let fx = &mut effects;
    match msg {
        Msg::Start => model.connect(fx),
        Msg::SocketOpened => model.opened(fx),
        Msg::SocketClosed => model.closed(fx),
        Msg::Frame(frame) => model.on_frame(frame, fx),
        Msg::Tick => model.tick(fx),
        Msg::Clock => {
            model.expire_typing(fx);
            model.heartbeat_if_due(fx);
            model.mark_read(fx);
            model.climb_up(fx);
        }
        Msg::ReconnectDue | Msg::NetworkOnline => {
            if model.connection == ConnState::Offline {
                model.connect(fx);
            }
        }
        Msg::DraftChanged(text) => {
            model.hint_commands(&text, fx);
            model.draft_changed(text, fx);
        }
        Msg::CompleteCommand => model.complete_command(fx),
        Msg::Submit {
            body,
            client_msg_id,
        } => model.submit(body, client_msg_id, fx),
        Msg::Posted {
            client_msg_id,
            message,
        } => model.posted(client_msg_id, message, fx),
        Msg::PostFailed { client_msg_id } => model.post_failed(&client_msg_id),
        Msg::Visibility { hidden, focused } => model.visibility(hidden, focused, fx),
        Msg::Scrolled { at_bottom, at_top } => model.scrolled(at_bottom, at_top, fx),
        Msg::ReadState(unread) => model.read_state(unread, fx),
        Msg::History { messages, older } => model.on_history(messages, older, fx),
        Msg::HistoryFailed { older } => model.history_failed(older),
        Msg::StartEdit(target) => model.start_edit(target, fx),
        Msg::EditSubmitted(body) => model.edit_submitted(body, fx),
        Msg::EditCancelled => model.edit_cancelled(fx),
        Msg::Delete(seq) => model.delete(seq, fx),
        Msg::ReplyTo(target) => model.set_reply(target, fx),
        Msg::OpenThread(seq) => model.open_thread(seq, fx),
        Msg::ThreadLoaded(thread) => model.thread_loaded(thread, fx),
        Msg::CloseThread => model.close_thread(fx),
        Msg::MentionQuery { text, caret } => model.query_mentions(&text, caret, fx),
        Msg::MentionMove { down } => model.move_mention(down, fx),
        Msg::MentionPick { user, text, caret } => model.pick_mention(user, &text, caret, fx),
        Msg::MentionsClosed => model.close_mentions(fx),
        Msg::ToggleMute => model.toggle_mute(fx),
        Msg::NotifyPermission(granted) => model.notify = granted,
        Msg::JumpToBottom => model.jump_to_bottom(fx),
        Msg::Failed(text) | Msg::Said(text) => fx.push(Effect::Notice(text)),
        Msg::CommandFailed { text, message } => {
            fx.push(Effect::Notice(message));
            fx.push(Effect::RestoreInput(text));
        }
        Msg::Upload(upload) => model.on_upload(upload, fx),
    }
    effects
}
