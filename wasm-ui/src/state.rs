//! The popup's state and the one function that changes it.
//!
//! Everything here is plain Rust: no web-sys, no clocks, no randomness. The
//! DOM layer turns browser events into a [`Msg`], [`update`] applies it to the
//! [`Model`] and answers with [`Effect`]s for the DOM layer to carry out. The
//! current time comes in as [`Model::now_ms`], set by the DOM layer before
//! each update, so the timed rules (typing expiry, heartbeats, throttles) are
//! unit-tested natively with `cargo test -p wasm-ui` too.
//!
//! The rules kept here: delivery (dedupe by id, order by seq, resume from the
//! last contiguous seq, the outbox sent once and in order after a reconnect),
//! the transport ladder (WebSocket, then SSE, then long-poll, and back up
//! after a quiet while, timed by [`crate::transport::Climb`]), presence and
//! typing, edits and deletes of my own messages, replies, the missed-messages
//! divider and read marks, the unread count, beeps and notifications,
//! paging older history, and file uploads (size checks, one at a time,
//! progress, refusals worded for the reader).

use chrono::NaiveDate;
use protocol::{
    ClientFrame, ErrorCode, Event, Message, MessageId, Presence, RoomId, ServerFrame, Unread,
    UserId,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::case;
use crate::transport::{Climb, Transport};

/// How often the keep-alive `ping` goes out while connected. A missing `pong`
/// by the next tick counts as a dead connection.
pub const PING_INTERVAL_MS: u32 = 25_000;

/// The first reconnect delay; doubles per failed attempt up to [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: u32 = 500;

/// The longest wait between reconnect attempts.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// How often [`Msg::Clock`] fires: the resolution of the timed rules below.
pub const CLOCK_MS: u32 = 1_000;

/// A presence heartbeat goes out this often (the server forgets after 45 s).
pub const PRESENCE_EVERY_MS: f64 = 20_000.0;

/// Someone's "is typing" line disappears this long after their last notice.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

/// My own typing notices go out at most this often.
pub const TYPING_EVERY_MS: f64 = 3_000.0;

/// Read marks go to the server at most this often.
pub const READ_EVERY_MS: f64 = 2_000.0;

/// Two beeps are at least this far apart, however fast messages come.
pub const BEEP_EVERY_MS: f64 = 1_500.0;

/// A transport that fails this many times in a row without ever subscribing
/// is given up for the next one down the ladder.
pub const FAILURES_BEFORE_FALLBACK: u32 = 2;

/// Messages per page of older history.
pub const HISTORY_PAGE: u32 = 50;

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

/// A person listed in the info panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
    /// `None` in the participants list; the status in "Here now".
    pub presence: Option<Presence>,
}

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
    /// The mute button was pressed.
    ToggleMute,
    /// Desktop notifications were granted (true) or not.
    NotifyPermission(bool),
    /// The "new messages ↓" button was pressed.
    JumpToBottom,
    /// A request failed with something to tell the reader.
    Failed(String),
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

/// "Bob is typing…", "Bob and Carol are typing…", "Several people are typing…".
pub fn typing_text(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("{one} is typing…"),
        [a, b] => format!("{a} and {b} are typing…"),
        _ => "Several people are typing…".to_owned(),
    }
}

/// Whether `message` mentions `me` (the server's parsed `mentions`).
pub fn mentions(message: &Message, me: &UserId) -> bool {
    !me.as_str().is_empty() && message.mentions.contains(me)
}

/// The label of a date separator: "Today", "Yesterday" or e.g.
/// "Sunday, 22 November 2026", all in the reader's zone.
pub fn day_label(day: NaiveDate, today: NaiveDate) -> String {
    if day == today {
        "Today".to_owned()
    } else if today.pred_opt() == Some(day) {
        "Yesterday".to_owned()
    } else {
        // By hand: chrono's strftime machinery costs the bundle tens of KB.
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        use chrono::Datelike;
        let weekday = DAYS[day.weekday().num_days_from_monday() as usize % 7];
        let month = MONTHS[day.month0() as usize % 12];
        format!("{weekday}, {} {month} {}", day.day(), day.year())
    }
}

/// Pasted text that should become a preformatted block: several lines, or a
/// line that looks like code. Returns the fenced block to insert, with a
/// fence longer than any backtick run inside.
pub fn fence_paste(text: &str) -> Option<String> {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() || text.trim_start().starts_with("```") {
        return None;
    }
    let multi_line = text.contains('\n');
    if !multi_line && !looks_like_code(text) {
        return None;
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    Some(format!("{fence}\n{text}\n{fence}\n"))
}

/// A single line that reads as code rather than prose.
fn looks_like_code(line: &str) -> bool {
    let t = line.trim();
    let starts = [
        "fn ",
        "let ",
        "const ",
        "var ",
        "def ",
        "import ",
        "#include",
        "SELECT ",
        "select ",
        "$ ",
        "function ",
        "class ",
        "pub ",
    ];
    let ends = [';', '{', '}'];
    starts.iter().any(|s| t.starts_with(s))
        || ends.iter().any(|e| t.ends_with(*e))
        || t.contains("=>")
        || t.contains("::")
        || t.contains("();")
}

/// The `@name` being typed at `caret` (a byte offset), if any: the text
/// after an `@` that starts a word, up to the caret.
pub fn mention_query(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    let word = query
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (starts_word && word).then_some((at, query))
}

/// Up to 6 people whose id or name starts with `query` (case-insensitive),
/// in the order given, without repeats and without me.
pub fn mention_candidates<'a>(
    query: &str,
    people: impl IntoIterator<Item = &'a Person>,
    me: &UserId,
) -> Vec<Person> {
    let q = case::lower(query);
    let mut out: Vec<Person> = Vec::new();
    for p in people {
        let hit =
            case::lower(p.id.as_str()).starts_with(&q) || case::lower(&p.name).starts_with(&q);
        if hit && &p.id != me && !out.iter().any(|o| o.id == p.id) {
            out.push(Person {
                presence: None,
                ..p.clone()
            });
        }
        if out.len() == 6 {
            break;
        }
    }
    out
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

    /// Fills the info panel's lists as the server rendered them.
    pub fn with_people(mut self, present: Vec<Person>, participants: Vec<Person>) -> Self {
        self.present = present.into_iter().map(|p| (p.id.clone(), p)).collect();
        self.participants = participants;
        self
    }

    /// The seqs on screen, in display order.
    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.messages.keys().copied()
    }

    /// Whether a message with this id is on screen.
    pub fn has(&self, id: &MessageId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The unacknowledged sends, oldest first.
    pub fn outbox(&self) -> impl Iterator<Item = &Outgoing> {
        self.outbox.iter()
    }

    /// Who is here now, sorted by name.
    pub fn present(&self) -> Vec<Person> {
        let mut people: Vec<Person> = self.present.values().cloned().collect();
        people.sort_by_key(|p| case::lower(&p.name));
        people
    }

    /// Everyone who has posted, most recent first.
    pub fn participants(&self) -> &[Person] {
        &self.participants
    }

    /// People to offer for `@` completion: here now first, then participants.
    pub fn people(&self) -> Vec<Person> {
        let mut people = self.present();
        people.extend(self.participants.iter().cloned());
        people
    }

    /// Whether `seq` is a message of mine that is not deleted.
    pub fn is_mine(&self, seq: u64) -> bool {
        self.authors.get(&seq) == Some(&self.me)
            && self
                .sources
                .get(&seq)
                .is_none_or(|m| m.deleted_at.is_none())
    }

    fn subscribe(&self) -> ClientFrame {
        ClientFrame::Subscribe {
            room: self.room.clone(),
            after: Some(self.last_seq),
        }
    }

    fn signed_in(&self) -> bool {
        !self.me.as_str().is_empty()
    }

    /// Sends `frame` the way the current transport can.
    fn out(&self, frame: ClientFrame, fx: &mut Vec<Effect>) {
        if self.transport == Transport::WebSocket {
            fx.push(Effect::Send(frame));
        } else {
            fx.push(Effect::Post(frame));
        }
    }

    /// Sends what is waiting in the outbox: everything, in order, on a
    /// socket; over HTTP the oldest only, the next when it is committed.
    fn flush_outbox(&mut self, fx: &mut Vec<Effect>) {
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

    /// Moves the cursor over every seq that is now contiguous with it.
    fn advance_cursor(&mut self) {
        while self.messages.contains_key(&(self.last_seq + 1)) {
            self.last_seq += 1;
        }
    }

    fn go_offline(&mut self, fx: &mut Vec<Effect>) {
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

    fn connect(&mut self, fx: &mut Vec<Effect>) {
        self.connection = ConnState::Connecting;
        fx.push(Effect::ShowConnection(ConnState::Connecting));
        fx.push(Effect::Connect {
            transport: self.transport,
            after: self.last_seq,
        });
    }

    /// Back up the ladder: after a quiet while on a lower rung, switch to a
    /// better one from the resume cursor (the old one is dropped by
    /// `Connect`); a try that hangs without subscribing is given up.
    fn climb_up(&mut self, fx: &mut Vec<Effect>) {
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

    /// Drops an outbox entry and its placeholder once its message is on screen.
    fn settle(&mut self, client_msg_id: &str, fx: &mut Vec<Effect>) {
        self.outbox.retain(|o| o.client_msg_id != client_msg_id);
        fx.push(Effect::RemovePending {
            client_msg_id: client_msg_id.to_owned(),
        });
    }

    fn my_status(&self) -> Presence {
        if self.hidden {
            Presence::Away
        } else {
            Presence::Active
        }
    }

    fn heartbeat(&mut self, fx: &mut Vec<Effect>) {
        if self.connection != ConnState::Connected || !self.signed_in() {
            return;
        }
        self.presence_sent_ms = Some(self.now_ms);
        self.out(
            ClientFrame::Presence {
                room: self.room.clone(),
                status: Some(self.my_status()),
            },
            fx,
        );
    }

    /// The newest seq on screen.
    fn newest(&self) -> u64 {
        self.messages.keys().next_back().copied().unwrap_or(0)
    }

    /// Sends a read mark if the reader is at the bottom of a visible page and
    /// there is something new, at most every [`READ_EVERY_MS`].
    fn mark_read(&mut self, fx: &mut Vec<Effect>) {
        let newest = self.newest();
        let due = self
            .read_sent_ms
            .is_none_or(|at| self.now_ms - at >= READ_EVERY_MS);
        if !self.read_known
            || !self.signed_in()
            || self.hidden
            || !self.at_bottom
            || newest <= self.read_mark
            || !due
        {
            return;
        }
        self.read_mark = newest;
        self.read_sent_ms = Some(self.now_ms);
        self.out(
            ClientFrame::Read {
                room: self.room.clone(),
                seq: newest,
            },
            fx,
        );
    }

    fn show_typing(&self, fx: &mut Vec<Effect>) {
        let names: Vec<&str> = self.typing.values().map(|(n, _)| n.as_str()).collect();
        fx.push(Effect::ShowTyping(typing_text(&names)));
    }

    /// Puts `author` first in the participants list.
    fn saw_author(&mut self, message: &Message, fx: &mut Vec<Effect>) {
        if self
            .participants
            .first()
            .is_some_and(|p| p.id == message.author)
        {
            return;
        }
        self.participants.retain(|p| p.id != message.author);
        self.participants.insert(
            0,
            Person {
                id: message.author.clone(),
                name: message.author_name.clone(),
                presence: None,
            },
        );
        fx.push(Effect::ShowParticipants(self.participants.clone()));
    }

    /// A new message for the screen. `live` ones (not history pages) count
    /// as news: the unread count, the beep, notifications and participants.
    fn on_message(&mut self, message: Message, live: bool, fx: &mut Vec<Effect>) {
        if message.room != self.room {
            return;
        }
        if let Some(&seq) = self.by_id.get(&message.id) {
            // Shown already, but from a copy without `html` (an upload's
            // answer, say, so its body is plain text): the stream's copy
            // has it, so draw the rendered body now.
            let bare = self
                .sources
                .get(&seq)
                .is_some_and(|known| known.html.is_empty());
            if bare && seq == message.seq && !message.html.is_empty() {
                self.sources.insert(seq, message.clone());
                fx.push(Effect::RenderMessage(message));
            }
            return;
        }
        // A different id at a seq we already show cannot happen with a sane
        // server; keep what is on screen rather than show two at one position.
        if self.messages.contains_key(&message.seq) {
            return;
        }
        self.by_id.insert(message.id.clone(), message.seq);
        self.messages.insert(message.seq, message.id.clone());
        self.authors.insert(message.seq, message.author.clone());
        self.sources.insert(message.seq, message.clone());
        let before = self.last_seq;
        self.advance_cursor();
        let mine = match self.acked.remove(&message.id) {
            Some(client_msg_id) => Some(client_msg_id),
            None if message.author == self.me => message.client_msg_id.clone(),
            None => None,
        };
        let from_other = message.author != self.me;
        if live {
            self.saw_author(&message, fx);
            if self.typing.remove(&message.author).is_some() {
                self.show_typing(fx);
            }
        }
        let news = live && from_other && message.deleted_at.is_none();
        let mentioned = mentions(&message, &self.me);
        let (seq, title, body) = (
            message.seq,
            format!("{} mentioned you", message.author_name),
            message.body.chars().take(140).collect::<String>(),
        );
        let announce = format!("{}: {body}", message.author_name);
        fx.push(Effect::RenderMessage(message));
        if self.last_seq != before {
            fx.push(Effect::ShowCursor(self.last_seq));
        }
        if let Some(client_msg_id) = mine {
            self.settle(&client_msg_id, fx);
        }
        if news {
            fx.push(Effect::Announce(announce));
            if !self.at_bottom {
                self.below += 1;
                fx.push(Effect::ShowNewBelow(self.below));
            }
            if self.hidden || !self.focused {
                self.unseen += 1;
                fx.push(Effect::ShowTitleCount(self.unseen));
                let quiet = self
                    .beep_ms
                    .is_some_and(|at| self.now_ms - at < BEEP_EVERY_MS);
                if !self.muted && !quiet {
                    self.beep_ms = Some(self.now_ms);
                    fx.push(Effect::Beep);
                }
                if mentioned && self.notify {
                    fx.push(Effect::Notify { title, body, seq });
                }
            }
        }
        if live {
            self.mark_read(fx);
        }
    }

    /// An edit or delete of a message on screen.
    fn on_changed(&mut self, message: Message, fx: &mut Vec<Effect>) {
        if self.by_id.get(&message.id) != Some(&message.seq) {
            return;
        }
        if self.editing == Some(message.seq) {
            self.editing = None;
            fx.push(Effect::CloseEditor);
        }
        if self.reply_to == Some(message.seq) && message.deleted_at.is_some() {
            self.reply_to = None;
            fx.push(Effect::ShowReply(None));
        }
        self.sources.insert(message.seq, message.clone());
        fx.push(Effect::RenderMessage(message));
    }

    fn on_event(&mut self, event: Event, fx: &mut Vec<Effect>) {
        match event {
            Event::Message { message } => self.on_message(message, true, fx),
            Event::Edited { message } | Event::Deleted { message } => {
                self.on_changed(message, fx);
            }
            Event::Presence {
                user,
                name,
                presence,
            } => {
                let shown = match presence {
                    Some(Presence::Invisible) | None => None,
                    Some(p) => Some(p),
                };
                let changed = match shown {
                    Some(p) => {
                        let person = Person {
                            id: user.clone(),
                            name,
                            presence: Some(p),
                        };
                        self.present.insert(user, person.clone()) != Some(person)
                    }
                    None => self.present.remove(&user).is_some(),
                };
                if changed {
                    fx.push(Effect::ShowPresent(self.present()));
                }
            }
            Event::Typing { user, name } => {
                if user == self.me {
                    return;
                }
                self.typing
                    .insert(user, (name, self.now_ms + TYPING_SHOWN_MS));
                self.show_typing(fx);
            }
        }
    }

    fn on_history(&mut self, messages: Vec<Message>, older: bool, fx: &mut Vec<Effect>) {
        if older {
            self.loading_older = false;
            let oldest = messages.iter().map(|m| m.seq).min();
            if oldest.is_none_or(|s| s <= 1) {
                self.history_complete = true;
            }
            let mut fresh: Vec<Message> = messages
                .into_iter()
                .filter(|m| m.room == self.room && !self.by_id.contains_key(&m.id))
                .filter(|m| !self.messages.contains_key(&m.seq))
                .collect();
            fresh.sort_by_key(|m| m.seq);
            for m in &fresh {
                self.by_id.insert(m.id.clone(), m.seq);
                self.messages.insert(m.seq, m.id.clone());
                self.authors.insert(m.seq, m.author.clone());
                self.sources.insert(m.seq, m.clone());
            }
            if !fresh.is_empty() {
                fx.push(Effect::RenderOlder(fresh));
            }
            return;
        }
        let mut messages = messages;
        messages.sort_by_key(|m| m.seq);
        for m in messages {
            if m.room != self.room {
                continue;
            }
            match self.by_id.get(&m.id) {
                Some(&seq) if seq == m.seq => {
                    // Re-render what changed since it was drawn, and what the
                    // server's markup cannot show (reply links, mentions).
                    let redraw = match self.sources.get(&seq) {
                        Some(known) => known != &m,
                        None => {
                            m.edited_at.is_some()
                                || m.deleted_at.is_some()
                                || m.reply_to.is_some()
                                || mentions(&m, &self.me)
                        }
                    };
                    self.sources.insert(seq, m.clone());
                    if redraw {
                        fx.push(Effect::RenderMessage(m));
                    }
                }
                Some(_) => {}
                None => self.on_message(m, false, fx),
            }
        }
    }

    fn on_frame(&mut self, frame: ServerFrame, fx: &mut Vec<Effect>) {
        match frame {
            ServerFrame::Subscribed { room, .. } if room == self.room => {
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
            ServerFrame::Event { room, event } if room == self.room => self.on_event(event, fx),
            ServerFrame::Ack {
                client_msg_id, id, ..
            } => {
                let was_queued = self.outbox.iter().any(|o| o.client_msg_id == client_msg_id);
                self.outbox.retain(|o| o.client_msg_id != client_msg_id);
                if self.by_id.contains_key(&id) {
                    fx.push(Effect::RemovePending { client_msg_id });
                } else if was_queued {
                    // Keep the placeholder until the message itself arrives.
                    self.acked.insert(id, client_msg_id);
                }
            }
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
            } => {
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
            ServerFrame::Error { message, .. } => fx.push(Effect::Notice(message)),
            ServerFrame::Pong => self.awaiting_pong = false,
            // Frames for other rooms: this popup shows one room.
            ServerFrame::Subscribed { .. }
            | ServerFrame::Event { .. }
            | ServerFrame::Reset { .. } => {}
        }
    }

    /// The seq of my newest message that is not deleted.
    fn my_last(&self) -> Option<u64> {
        self.messages
            .keys()
            .rev()
            .copied()
            .find(|&seq| self.is_mine(seq))
    }
}

/// Applies `msg` to `model` and returns what the DOM layer must do, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Start => model.connect(&mut fx),
        Msg::SocketOpened => {
            if model.connection == ConnState::Connecting && model.transport == Transport::WebSocket
            {
                fx.push(Effect::Send(model.subscribe()));
            }
        }
        Msg::SocketClosed => {
            if model.connection != ConnState::Offline {
                model.go_offline(&mut fx);
            }
        }
        Msg::Frame(frame) => model.on_frame(frame, &mut fx),
        Msg::Tick => {
            if model.connection != ConnState::Connected {
                return fx;
            }
            if model.transport != Transport::WebSocket {
                // No pings over HTTP; a post that failed on the network goes again.
                model.flush_outbox(&mut fx);
            } else if model.awaiting_pong {
                // No pong for a whole interval: the socket is dead but the
                // browser has not noticed. Drop it and start over.
                fx.push(Effect::Disconnect);
                model.go_offline(&mut fx);
            } else {
                model.awaiting_pong = true;
                fx.push(Effect::Send(ClientFrame::Ping));
                // Sends refused with a retryable error are still queued.
                model.flush_outbox(&mut fx);
            }
        }
        Msg::Clock => {
            let now = model.now_ms;
            let before = model.typing.len();
            model.typing.retain(|_, (_, until)| *until > now);
            if model.typing.len() != before {
                model.show_typing(&mut fx);
            }
            if model
                .presence_sent_ms
                .is_some_and(|at| now - at >= PRESENCE_EVERY_MS)
            {
                model.heartbeat(&mut fx);
            }
            model.mark_read(&mut fx);
            model.climb_up(&mut fx);
        }
        Msg::ReconnectDue | Msg::NetworkOnline => {
            if model.connection == ConnState::Offline {
                model.connect(&mut fx);
            }
        }
        Msg::DraftChanged(text) => {
            let due = model
                .typing_sent_ms
                .is_none_or(|at| model.now_ms - at >= TYPING_EVERY_MS);
            let typing = !text.trim().is_empty() && text.len() > model.draft.len();
            model.draft = text;
            if typing && due && model.can_post && model.connection == ConnState::Connected {
                model.typing_sent_ms = Some(model.now_ms);
                model.out(
                    ClientFrame::Typing {
                        room: model.room.clone(),
                    },
                    &mut fx,
                );
            }
        }
        Msg::Submit {
            body,
            client_msg_id,
        } => {
            if !model.can_post || body.trim().is_empty() {
                return fx;
            }
            if body.len() > protocol::MAX_BODY_BYTES {
                fx.push(Effect::Notice(format!(
                    "Message too long: {} bytes, the limit is {}.",
                    body.len(),
                    protocol::MAX_BODY_BYTES
                )));
                return fx;
            }
            let out = Outgoing {
                client_msg_id,
                body,
                reply_to: model.reply_to.take(),
            };
            model.draft.clear();
            model.typing_sent_ms = None;
            fx.push(Effect::ClearInput);
            if out.reply_to.is_some() {
                fx.push(Effect::ShowReply(None));
            }
            fx.push(Effect::ShowPending {
                client_msg_id: out.client_msg_id.clone(),
                body: out.body.clone(),
            });
            model.outbox.push_back(out);
            if model.transport == Transport::WebSocket {
                if model.connection == ConnState::Connected {
                    if let Some(o) = model.outbox.back() {
                        fx.push(Effect::Send(o.frame(&model.room)));
                    }
                }
            } else {
                model.flush_outbox(&mut fx);
            }
        }
        Msg::Posted {
            client_msg_id,
            message,
        } => {
            if model.posting.as_deref() == Some(client_msg_id.as_str()) {
                model.posting = None;
            }
            model.outbox.retain(|o| o.client_msg_id != client_msg_id);
            if model.by_id.contains_key(&message.id) {
                fx.push(Effect::RemovePending { client_msg_id });
            } else {
                model.acked.insert(message.id.clone(), client_msg_id);
                model.on_message(message, true, &mut fx);
            }
            model.flush_outbox(&mut fx);
        }
        Msg::PostFailed { client_msg_id } => {
            if model.posting.as_deref() == Some(client_msg_id.as_str()) {
                // Still queued; the next tick or reconnect tries again.
                model.posting = None;
            }
        }
        Msg::Visibility { hidden, focused } => {
            let was_hidden = model.hidden;
            model.hidden = hidden;
            model.focused = focused;
            if !hidden && focused && model.unseen > 0 {
                model.unseen = 0;
                fx.push(Effect::ShowTitleCount(0));
            }
            if was_hidden != hidden {
                model.heartbeat(&mut fx);
            }
            model.mark_read(&mut fx);
        }
        Msg::Scrolled { at_bottom, at_top } => {
            model.at_bottom = at_bottom;
            if at_bottom && model.below > 0 {
                model.below = 0;
                fx.push(Effect::ShowNewBelow(0));
            }
            if at_top && !model.loading_older && !model.history_complete {
                if let Some(&oldest) = model.messages.keys().next().filter(|&&s| s > 1) {
                    model.loading_older = true;
                    fx.push(Effect::FetchHistory {
                        before: Some(oldest),
                        older: true,
                    });
                }
            }
            model.mark_read(&mut fx);
        }
        Msg::ReadState(unread) => {
            model.read_known = true;
            model.read_mark = model.read_mark.max(unread.last_read_seq);
            if let Some(first) = unread.first_unread {
                // The first unread message on screen (or the oldest shown, if
                // more were missed than the page holds).
                if let Some(&seq) = model.messages.range(first..).next().map(|(s, _)| s) {
                    fx.push(Effect::ShowDivider(seq));
                }
            }
            model.mark_read(&mut fx);
        }
        Msg::History { messages, older } => model.on_history(messages, older, &mut fx),
        Msg::HistoryFailed { older } => {
            if older {
                model.loading_older = false;
            }
        }
        Msg::StartEdit(target) => {
            let Some(seq) = target.or_else(|| model.my_last()) else {
                return fx;
            };
            if !model.can_post || !model.is_mine(seq) {
                return fx;
            }
            let Some(source) = model.sources.get(&seq) else {
                fx.push(Effect::Notice(
                    "That message is still loading; try again in a moment.".to_owned(),
                ));
                return fx;
            };
            let body = source.body.clone();
            if model.editing.is_some() {
                fx.push(Effect::CloseEditor);
            }
            model.editing = Some(seq);
            fx.push(Effect::OpenEditor { seq, body });
        }
        Msg::EditSubmitted(body) => {
            let Some(seq) = model.editing.take() else {
                return fx;
            };
            fx.push(Effect::CloseEditor);
            let unchanged = model.sources.get(&seq).is_some_and(|m| m.body == body);
            if body.trim().is_empty() {
                fx.push(Effect::Notice(
                    "An edit cannot be empty; delete the message instead.".to_owned(),
                ));
            } else if body.len() > protocol::MAX_BODY_BYTES {
                fx.push(Effect::Notice(format!(
                    "Message too long: {} bytes, the limit is {}.",
                    body.len(),
                    protocol::MAX_BODY_BYTES
                )));
            } else if !unchanged {
                fx.push(Effect::PatchMessage { seq, body });
            }
        }
        Msg::EditCancelled => {
            if model.editing.take().is_some() {
                fx.push(Effect::CloseEditor);
            }
        }
        Msg::Delete(seq) => {
            if model.is_mine(seq) {
                fx.push(Effect::DeleteMessage { seq });
            }
        }
        Msg::ReplyTo(target) => {
            let target = target.filter(|seq| model.messages.contains_key(seq));
            if target != model.reply_to {
                model.reply_to = target;
                fx.push(Effect::ShowReply(target));
            }
        }
        Msg::ToggleMute => {
            model.muted = !model.muted;
            fx.push(Effect::ShowMute(model.muted));
        }
        Msg::NotifyPermission(granted) => model.notify = granted,
        Msg::JumpToBottom => {
            model.below = 0;
            model.at_bottom = true;
            fx.push(Effect::ScrollToBottom);
            fx.push(Effect::ShowNewBelow(0));
            model.mark_read(&mut fx);
        }
        Msg::Failed(text) => fx.push(Effect::Notice(text)),
        Msg::Upload(upload) => model.on_upload(upload, &mut fx),
    }
    fx
}

// ---- uploads -------------------------------------------------------------
//
// The DOM layer holds the files themselves (a `Blob` cannot live here); this
// part decides what happens to them: size checks before any byte is sent,
// one upload at a time in the order chosen, progress, and what to tell the
// reader when the server says no. The message that shares a file comes back
// in the upload's answer *and* over the live stream; it is shown once (by id),
// like any message.

/// What can happen to an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadMsg {
    /// The reader chose, dropped or pasted a file; the DOM layer holds it as `id`.
    Chosen { id: u32, name: String, size: u64 },
    /// `sent` bytes of upload `id` went out (the request body, so it can run
    /// a little past the file's size).
    Progress { id: u32, sent: u64 },
    /// The server stored the file and shared it as `message`.
    Done { id: u32, message: Box<Message> },
    /// The server refused, or there was no answer.
    Failed { id: u32, failure: UploadFailure },
    /// The reader cancelled upload `id`.
    Cancel(u32),
}

/// Why an upload did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFailure {
    /// The HTTP status; 0 when no answer came (network down, aborted).
    pub status: u16,
    /// The server's message, if it sent one in the API's error shape.
    pub message: Option<String>,
    /// `Retry-After` in seconds, on a 429.
    pub retry_after: Option<u32>,
}

/// An upload as the progress list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: u32,
    pub name: String,
    pub size: u64,
    /// Bytes sent so far.
    pub sent: u64,
    /// On its way (the others wait their turn).
    pub started: bool,
}

impl Upload {
    /// Whole percent sent, 0..=100.
    pub fn percent(&self) -> u8 {
        if self.size == 0 {
            return if self.started { 100 } else { 0 };
        }
        let pct = self.sent.min(self.size).saturating_mul(100) / self.size;
        u8::try_from(pct).unwrap_or(100)
    }
}

/// `bytes` as the server words its limit: "25 MiB", "512 KiB".
pub fn limit_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        // Limits are far below 2^52: the conversion is exact enough for one decimal.
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// A name for a pasted image (browsers call every one `image.png`):
/// `pasted-YYYY-MM-DD-HHMMSS.ext` in UTC, from its MIME type.
pub fn pasted_name(mime: &str, now_ms: f64) -> String {
    let ext = match mime {
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/png" => "png",
        other => other
            .strip_prefix("image/")
            .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("bin"),
    };
    // Milliseconds since the epoch fit an i64 for any realistic clock.
    // By hand, like `day_label`: `format("%Y-...")` would bring chrono's
    // strftime machinery into the bundle for this one name.
    let stamp = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .map(|t| {
            use chrono::{Datelike, Timelike};
            format!(
                "{:04}-{:02}-{:02}-{:02}{:02}{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|| "now".to_owned());
    format!("pasted-{stamp}.{ext}")
}

/// What to tell the reader when `name` was not uploaded.
pub fn upload_failure_text(name: &str, failure: &UploadFailure) -> String {
    let reason = match failure.status {
        0 => "the server is unreachable; check the connection and try again.".to_owned(),
        413 => match &failure.message {
            Some(m) if !m.is_empty() => format!("it is too large ({m})."),
            _ => "it is too large for this server.".to_owned(),
        },
        429 => match failure.retry_after {
            Some(s) => format!("too many uploads; try again in {s} s."),
            None => "too many uploads; wait a little and try again.".to_owned(),
        },
        401 => "you are signed out; sign in again and retry.".to_owned(),
        403 => "you may not share files in this room.".to_owned(),
        _ => match &failure.message {
            Some(m) if !m.is_empty() => format!("{m}."),
            _ => format!("the server answered {}.", failure.status),
        },
    };
    format!("“{name}” was not uploaded: {reason}")
}

impl Model {
    /// The uploads queued or in flight, in order.
    pub fn uploads(&self) -> &[Upload] {
        &self.uploads
    }

    fn on_upload(&mut self, msg: UploadMsg, fx: &mut Vec<Effect>) {
        match msg {
            UploadMsg::Chosen { id, name, size } => {
                if !self.can_post {
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(
                        "Sharing files needs edit rights on the page.".to_owned(),
                    ));
                    return;
                }
                if size == 0 {
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(format!(
                        "“{name}” is empty; nothing to upload."
                    )));
                    return;
                }
                if self.max_upload_bytes > 0 && size > self.max_upload_bytes {
                    // Said before a byte goes out: the server would answer 413.
                    fx.push(Effect::DropUpload { id });
                    fx.push(Effect::Notice(format!(
                        "“{name}” is too large to upload: files may be at most {}.",
                        limit_text(self.max_upload_bytes)
                    )));
                    return;
                }
                self.uploads.push(Upload {
                    id,
                    name,
                    size,
                    sent: 0,
                    started: false,
                });
                self.next_upload(fx);
                fx.push(Effect::ShowUploads(self.uploads.clone()));
            }
            UploadMsg::Progress { id, sent } => {
                if let Some(u) = self.uploads.iter_mut().find(|u| u.id == id) {
                    let before = u.percent();
                    u.sent = u.sent.max(sent);
                    // Progress events come often; repaint only when the number moves.
                    if u.percent() != before {
                        fx.push(Effect::ShowUploads(self.uploads.clone()));
                    }
                }
            }
            UploadMsg::Done { id, message } => {
                let Some(upload) = self.finish_upload(id, fx) else {
                    return;
                };
                fx.push(Effect::Announce(format!("Uploaded {}.", upload.name)));
                // Shown now, not when the stream brings it (the stream's copy
                // is then a duplicate and dropped by id).
                self.on_message(*message, true, fx);
            }
            UploadMsg::Failed { id, failure } => {
                let Some(upload) = self.finish_upload(id, fx) else {
                    return;
                };
                fx.push(Effect::Notice(upload_failure_text(&upload.name, &failure)));
            }
            UploadMsg::Cancel(id) => {
                if let Some(upload) = self.finish_upload(id, fx) {
                    fx.push(Effect::Announce(format!(
                        "Upload of {} cancelled.",
                        upload.name
                    )));
                }
            }
        }
    }

    /// Takes upload `id` off the list, tells the DOM to let its file go,
    /// and starts the next one.
    fn finish_upload(&mut self, id: u32, fx: &mut Vec<Effect>) -> Option<Upload> {
        let at = self.uploads.iter().position(|u| u.id == id)?;
        let upload = self.uploads.remove(at);
        fx.push(Effect::DropUpload { id });
        self.next_upload(fx);
        fx.push(Effect::ShowUploads(self.uploads.clone()));
        Some(upload)
    }

    /// Starts the first upload if none is on its way: one at a time, so the
    /// files arrive (and are shared) in the order chosen.
    fn next_upload(&mut self, fx: &mut Vec<Effect>) {
        if self.uploads.iter().any(|u| u.started) {
            return;
        }
        if let Some(u) = self.uploads.first_mut() {
            u.started = true;
            fx.push(Effect::StartUpload { id: u.id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn config(last_seq: u64) -> Config {
        Config {
            room: RoomId::new("r1"),
            me: UserId::new("alice"),
            my_name: "Alice".into(),
            last_seq,
            can_post: true,
        }
    }

    fn message(seq: u64, author: &str) -> Message {
        Message {
            id: MessageId::new(format!("m{seq}")),
            room: RoomId::new("r1"),
            seq,
            author: UserId::new(author),
            author_name: author.into(),
            body: format!("message {seq}"),
            html: String::new(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
            edited_at: None,
            deleted_at: None,
            reply_to: None,
            client_msg_id: None,
            mentions: vec![],
            attachments: vec![],
        }
    }

    fn event(message: Message) -> Msg {
        Msg::Frame(ServerFrame::Event {
            room: RoomId::new("r1"),
            event: Event::Message { message },
        })
    }

    fn subscribed() -> Msg {
        Msg::Frame(ServerFrame::Subscribed {
            room: RoomId::new("r1"),
            last_seq: 0,
        })
    }

    /// A model that went through start, open and subscribe.
    fn connected(last_seq: u64) -> Model {
        let mut m = Model::new(config(last_seq), []);
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketOpened);
        update(&mut m, subscribed());
        m
    }

    fn rendered(fx: &[Effect]) -> Vec<u64> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::RenderMessage(m) => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    fn sent(fx: &[Effect]) -> Vec<ClientFrame> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Send(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn sent_ids(fx: &[Effect]) -> Vec<String> {
        sent(fx)
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::Send { client_msg_id, .. } => Some(client_msg_id),
                _ => None,
            })
            .collect()
    }

    fn submit(m: &mut Model, body: &str, id: &str) -> Vec<Effect> {
        update(
            m,
            Msg::Submit {
                body: body.into(),
                client_msg_id: id.into(),
            },
        )
    }

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
    fn a_message_delivered_twice_is_rendered_once() {
        let mut m = connected(0);
        assert_eq!(rendered(&update(&mut m, event(message(1, "bob")))), vec![1]);
        assert!(rendered(&update(&mut m, event(message(1, "bob")))).is_empty());
        assert_eq!(m.seqs().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn server_rendered_messages_are_not_rendered_again() {
        let known = [Known {
            seq: 3,
            id: MessageId::new("m3"),
            author: UserId::new("bob"),
        }];
        let mut m = Model::new(config(3), known);
        assert!(rendered(&update(&mut m, event(message(3, "bob")))).is_empty());
        assert_eq!(rendered(&update(&mut m, event(message(4, "bob")))), vec![4]);
        assert_eq!(m.last_seq, 4);
    }

    #[test]
    fn out_of_order_arrivals_are_ordered_and_hold_the_cursor_at_the_gap() {
        let mut m = connected(1);
        update(&mut m, event(message(3, "bob")));
        assert_eq!(m.last_seq, 1, "seq 2 is missing, so resume from 1");
        update(&mut m, event(message(4, "bob")));
        assert_eq!(m.last_seq, 1);
        update(&mut m, event(message(2, "bob")));
        assert_eq!(
            m.last_seq, 4,
            "the gap filled: the cursor jumps over 3 and 4"
        );
        assert_eq!(m.seqs().collect::<Vec<_>>(), vec![2, 3, 4]);
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
    fn reset_reloads_the_page() {
        let mut m = connected(0);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Reset {
                room: RoomId::new("r1"),
                first_seq: 40,
            }),
        );
        assert_eq!(fx, vec![Effect::Reload]);
        // A reset for another room is not ours to act on.
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Reset {
                room: RoomId::new("elsewhere"),
                first_seq: 40,
            }),
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn the_cursor_is_shown_when_it_moves() {
        let mut m = connected(1);
        let fx = update(&mut m, event(message(3, "bob")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowCursor(_))));
        let fx = update(&mut m, event(message(2, "bob")));
        assert!(fx.contains(&Effect::ShowCursor(3)));
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
    fn edits_and_deletes_rerender_known_messages_only() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "bob")));
        let mut edited = message(1, "bob");
        edited.body = "changed".into();
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Edited { message: edited },
            }),
        );
        assert_eq!(rendered(&fx), vec![1]);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Deleted {
                    message: message(9, "bob"),
                },
            }),
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn events_for_other_rooms_are_ignored() {
        let mut m = connected(0);
        let fx = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("elsewhere"),
                event: Event::Message {
                    message: message(1, "bob"),
                },
            }),
        );
        assert!(fx.is_empty());
        assert_eq!(m.last_seq, 0);
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

    fn ev(event: Event) -> Msg {
        Msg::Frame(ServerFrame::Event {
            room: RoomId::new("r1"),
            event,
        })
    }

    fn posted(fx: &[Effect]) -> Vec<ClientFrame> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Post(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    fn presence(user: &str, p: Option<Presence>) -> Msg {
        ev(Event::Presence {
            user: UserId::new(user),
            name: user.to_uppercase(),
            presence: p,
        })
    }

    #[test]
    fn subscribing_sends_a_presence_heartbeat_and_repeats_it_every_20_seconds() {
        let mut m = Model::new(config(0), []);
        m.now_ms = 1_000.0;
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketOpened);
        let active = ClientFrame::Presence {
            room: RoomId::new("r1"),
            status: Some(Presence::Active),
        };
        assert!(sent(&update(&mut m, subscribed())).contains(&active));
        m.now_ms = 20_000.0;
        assert!(!sent(&update(&mut m, Msg::Clock)).contains(&active));
        m.now_ms = 21_000.0;
        assert!(sent(&update(&mut m, Msg::Clock)).contains(&active));
        // Hiding the page says "away" at once.
        let fx = update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        assert!(sent(&fx).contains(&ClientFrame::Presence {
            room: RoomId::new("r1"),
            status: Some(Presence::Away),
        }));
    }

    #[test]
    fn presence_events_update_here_now_and_invisible_or_gone_people_leave_it() {
        let mut m = connected(0);
        let fx = update(&mut m, presence("bob", Some(Presence::Active)));
        assert_eq!(
            fx,
            vec![Effect::ShowPresent(vec![Person {
                id: UserId::new("bob"),
                name: "BOB".into(),
                presence: Some(Presence::Active)
            }])]
        );
        assert!(update(&mut m, presence("bob", Some(Presence::Active))).is_empty());
        update(&mut m, presence("amy", Some(Presence::Away)));
        let names: Vec<String> = m.present().into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["AMY", "BOB"]);
        update(&mut m, presence("bob", Some(Presence::Invisible)));
        update(&mut m, presence("amy", None));
        assert!(m.present().is_empty());
    }

    #[test]
    fn a_new_author_goes_to_the_top_of_the_participants() {
        let mut m = connected(0).with_people(
            vec![],
            vec![Person {
                id: UserId::new("bob"),
                name: "bob".into(),
                presence: None,
            }],
        );
        let fx = update(&mut m, event(message(1, "carol")));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::ShowParticipants(p) if p.len() == 2)));
        let ids: Vec<&str> = m.participants().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, vec!["carol", "bob"]);
        let fx = update(&mut m, event(message(2, "carol")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowParticipants(_))));
    }

    #[test]
    fn typing_shows_for_five_seconds_and_ends_when_they_post() {
        let mut m = connected(0);
        m.now_ms = 10_000.0;
        let typing = |u: &str| {
            ev(Event::Typing {
                user: UserId::new(u),
                name: u.into(),
            })
        };
        let fx = update(&mut m, typing("bob"));
        assert_eq!(fx, vec![Effect::ShowTyping("bob is typing…".into())]);
        update(&mut m, typing("carol"));
        m.now_ms = 14_000.0;
        update(&mut m, typing("carol"));
        m.now_ms = 15_500.0;
        assert_eq!(
            update(&mut m, Msg::Clock),
            vec![Effect::ShowTyping("carol is typing…".into())]
        );
        let fx = update(&mut m, event(message(1, "carol")));
        assert!(fx.contains(&Effect::ShowTyping(String::new())));
        // My own notices echoed back are not shown.
        assert!(update(&mut m, typing("alice")).is_empty());
        assert_eq!(typing_text(&["a", "b", "c"]), "Several people are typing…");
        assert_eq!(typing_text(&["a", "b"]), "a and b are typing…");
    }

    #[test]
    fn my_typing_notices_go_out_at_most_every_three_seconds() {
        let mut m = connected(0);
        let typing = ClientFrame::Typing {
            room: RoomId::new("r1"),
        };
        m.now_ms = 1_000.0;
        assert_eq!(
            sent(&update(&mut m, Msg::DraftChanged("h".into()))),
            vec![typing.clone()]
        );
        m.now_ms = 2_000.0;
        assert!(sent(&update(&mut m, Msg::DraftChanged("he".into()))).is_empty());
        m.now_ms = 4_100.0;
        assert_eq!(
            sent(&update(&mut m, Msg::DraftChanged("hel".into()))),
            vec![typing]
        );
        // Deleting text is not typing.
        m.now_ms = 9_000.0;
        assert!(sent(&update(&mut m, Msg::DraftChanged("he".into()))).is_empty());
    }

    fn edited(mut msg: Message, body: &str) -> Message {
        msg.body = body.into();
        msg.edited_at = Some(msg.created_at);
        msg
    }

    #[test]
    fn up_edits_my_last_message_and_a_save_patches_it() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "alice")));
        update(&mut m, event(message(2, "alice")));
        update(&mut m, event(message(3, "bob")));
        let fx = update(&mut m, Msg::StartEdit(None));
        assert_eq!(
            fx,
            vec![Effect::OpenEditor {
                seq: 2,
                body: "message 2".into()
            }]
        );
        let fx = update(&mut m, Msg::EditSubmitted("changed".into()));
        assert_eq!(
            fx,
            vec![
                Effect::CloseEditor,
                Effect::PatchMessage {
                    seq: 2,
                    body: "changed".into()
                }
            ]
        );
        // Others' messages cannot be edited or deleted.
        assert!(update(&mut m, Msg::StartEdit(Some(3))).is_empty());
        assert!(update(&mut m, Msg::Delete(3)).is_empty());
        assert_eq!(
            update(&mut m, Msg::Delete(1)),
            vec![Effect::DeleteMessage { seq: 1 }]
        );
        // Esc cancels; an unchanged save sends nothing.
        update(&mut m, Msg::StartEdit(Some(1)));
        assert_eq!(
            update(&mut m, Msg::EditCancelled),
            vec![Effect::CloseEditor]
        );
        update(&mut m, Msg::StartEdit(Some(1)));
        assert_eq!(
            update(&mut m, Msg::EditSubmitted("message 1".into())),
            vec![Effect::CloseEditor]
        );
    }

    #[test]
    fn a_deleted_message_is_rendered_as_such_and_no_longer_mine_to_edit() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "alice")));
        let mut gone = message(1, "alice");
        gone.body.clear();
        gone.deleted_at = Some(gone.created_at);
        let fx = update(&mut m, ev(Event::Deleted { message: gone }));
        assert!(matches!(&fx[..], [Effect::RenderMessage(msg)] if msg.deleted_at.is_some()));
        assert!(update(&mut m, Msg::StartEdit(None)).is_empty());
    }

    #[test]
    fn the_history_refetch_redraws_what_changed_and_learns_sources() {
        let known = [Known {
            seq: 1,
            id: MessageId::new("m1"),
            author: UserId::new("alice"),
        }];
        let mut m = Model::new(config(1), known);
        update(&mut m, Msg::Start);
        update(&mut m, Msg::SocketOpened);
        update(&mut m, subscribed());
        // Unknown source: Up cannot edit yet.
        assert!(matches!(
            &update(&mut m, Msg::StartEdit(None))[..],
            [Effect::Notice(_)]
        ));
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![message(1, "alice"), message(2, "bob")],
                older: false,
            },
        );
        assert_eq!(rendered(&fx), vec![2], "1 is unchanged, 2 is new");
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![edited(message(1, "alice"), "new")],
                older: false,
            },
        );
        assert_eq!(rendered(&fx), vec![1]);
        assert!(matches!(
            &update(&mut m, Msg::StartEdit(None))[..],
            [Effect::OpenEditor { seq: 1, .. }]
        ));
    }

    #[test]
    fn the_divider_goes_before_the_first_unread_message_and_reading_marks_it() {
        let mut m = connected(0);
        for seq in 1..=5 {
            update(&mut m, event(message(seq, "bob")));
        }
        m.at_bottom = false;
        let fx = update(&mut m, Msg::ReadState(Unread::new(2, 5)));
        assert_eq!(fx, vec![Effect::ShowDivider(3)]);
        m.now_ms = 10_000.0;
        let fx = update(
            &mut m,
            Msg::Scrolled {
                at_bottom: true,
                at_top: false,
            },
        );
        assert_eq!(
            sent(&fx),
            vec![ClientFrame::Read {
                room: RoomId::new("r1"),
                seq: 5
            }]
        );
        // Throttled: the next one waits for the clock.
        update(&mut m, event(message(6, "bob")));
        assert!(m.read_mark == 5);
        m.now_ms = 12_500.0;
        let fx = update(&mut m, Msg::Clock);
        assert!(sent(&fx).contains(&ClientFrame::Read {
            room: RoomId::new("r1"),
            seq: 6
        }));
        // Missed more than the page holds: the divider goes on the oldest shown.
        let mut m = connected(0);
        update(&mut m, event(message(40, "bob")));
        let fx = update(&mut m, Msg::ReadState(Unread::new(3, 40)));
        assert!(fx.contains(&Effect::ShowDivider(40)));
    }

    #[test]
    fn news_while_hidden_counts_in_the_title_beeps_once_and_notifies_mentions() {
        let mut m = connected(0);
        m.notify = true;
        m.now_ms = 1_000.0;
        update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        let fx = update(&mut m, event(message(1, "bob")));
        assert!(fx.contains(&Effect::ShowTitleCount(1)));
        assert!(fx.contains(&Effect::Beep));
        let mut ping = message(2, "bob");
        ping.mentions = vec![UserId::new("alice")];
        let fx = update(&mut m, event(ping));
        assert!(fx.contains(&Effect::ShowTitleCount(2)));
        assert!(!fx.contains(&Effect::Beep), "too soon after the last beep");
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::Notify { seq: 2, .. })));
        // My own messages are not news.
        let fx = update(&mut m, event(message(3, "alice")));
        assert!(!fx.iter().any(|e| matches!(e, Effect::ShowTitleCount(_))));
        let fx = update(
            &mut m,
            Msg::Visibility {
                hidden: false,
                focused: true,
            },
        );
        assert!(fx.contains(&Effect::ShowTitleCount(0)));
        // Muted: no beep.
        assert_eq!(
            update(&mut m, Msg::ToggleMute),
            vec![Effect::ShowMute(true)]
        );
        update(
            &mut m,
            Msg::Visibility {
                hidden: true,
                focused: false,
            },
        );
        m.now_ms = 9_000.0;
        assert!(!update(&mut m, event(message(4, "bob"))).contains(&Effect::Beep));
    }

    #[test]
    fn scrolled_up_news_shows_the_button_and_the_top_loads_older_history() {
        let mut m = connected(0);
        update(&mut m, event(message(60, "bob")));
        let fx = update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true,
            },
        );
        assert_eq!(
            fx,
            vec![Effect::FetchHistory {
                before: Some(60),
                older: true
            }]
        );
        // One request at a time.
        assert!(update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true
            }
        )
        .is_empty());
        let fx = update(&mut m, event(message(61, "bob")));
        assert!(fx.contains(&Effect::ShowNewBelow(1)));
        let fx = update(
            &mut m,
            Msg::History {
                messages: vec![message(59, "bob"), message(58, "carol")],
                older: true,
            },
        );
        assert!(
            matches!(&fx[..], [Effect::RenderOlder(v)] if v.iter().map(|m| m.seq).collect::<Vec<_>>() == vec![58, 59])
        );
        assert_eq!(m.seqs().next(), Some(58));
        let fx = update(&mut m, Msg::JumpToBottom);
        assert!(fx.contains(&Effect::ShowNewBelow(0)));
        // The first message reached: no more requests.
        update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true,
            },
        );
        update(
            &mut m,
            Msg::History {
                messages: vec![],
                older: true,
            },
        );
        assert!(update(
            &mut m,
            Msg::Scrolled {
                at_bottom: false,
                at_top: true
            }
        )
        .is_empty());
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

    #[test]
    fn a_reply_carries_the_parent_seq_and_clears_the_quote() {
        let mut m = connected(0);
        update(&mut m, event(message(1, "bob")));
        assert_eq!(
            update(&mut m, Msg::ReplyTo(Some(1))),
            vec![Effect::ShowReply(Some(1))]
        );
        assert!(update(&mut m, Msg::ReplyTo(Some(99))).contains(&Effect::ShowReply(None)));
        update(&mut m, Msg::ReplyTo(Some(1)));
        let fx = submit(&mut m, "yes", "c1");
        assert!(fx.contains(&Effect::ShowReply(None)));
        assert!(matches!(
            &sent(&fx)[..],
            [ClientFrame::Send {
                reply_to: Some(1),
                ..
            }]
        ));
        assert_eq!(m.reply_to, None);
    }

    #[test]
    fn mentions_complete_from_people_and_pastes_become_blocks() {
        assert_eq!(mention_query("hi @bo", 6), Some((3, "bo")));
        assert_eq!(mention_query("mail a@b", 8), None, "not at a word start");
        assert_eq!(mention_query("@", 1), Some((0, "")));
        assert_eq!(mention_query("@bob hi", 7), None);
        let people = [
            Person {
                id: UserId::new("bob"),
                name: "Bob".into(),
                presence: Some(Presence::Active),
            },
            Person {
                id: UserId::new("alice"),
                name: "Alice".into(),
                presence: None,
            },
            Person {
                id: UserId::new("bob"),
                name: "Bob".into(),
                presence: None,
            },
        ];
        let found = mention_candidates("B", &people, &UserId::new("alice"));
        assert_eq!(found.len(), 1);
        assert!(mention_candidates("a", &people, &UserId::new("alice")).is_empty());

        assert_eq!(fence_paste("just words"), None);
        assert_eq!(
            fence_paste("line one\nline two\n").as_deref(),
            Some("```\nline one\nline two\n```\n")
        );
        assert_eq!(
            fence_paste("let x = 1;").as_deref(),
            Some("```\nlet x = 1;\n```\n")
        );
        assert_eq!(
            fence_paste("a ``` b\nc").as_deref(),
            Some("````\na ``` b\nc\n````\n")
        );
    }

    #[test]
    fn day_labels_are_relative_near_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(day_label(d(2026, 11, 22), d(2026, 11, 22)), "Today");
        assert_eq!(day_label(d(2026, 11, 21), d(2026, 11, 22)), "Yesterday");
        assert_eq!(
            day_label(d(2026, 11, 2), d(2026, 11, 22)),
            "Monday, 2 November 2026"
        );
    }
}

#[cfg(test)]
mod upload_tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn model() -> Model {
        let mut m = Model::new(
            Config {
                room: RoomId::new("r1"),
                me: UserId::new("alice"),
                my_name: "Alice".into(),
                last_seq: 0,
                can_post: true,
            },
            [],
        );
        m.max_upload_bytes = 25 * 1024 * 1024;
        m
    }

    fn chosen(id: u32, size: u64) -> Msg {
        Msg::Upload(UploadMsg::Chosen {
            id,
            name: format!("f{id}.txt"),
            size,
        })
    }

    fn shared(seq: u64) -> Message {
        Message {
            id: MessageId::new(format!("m{seq}")),
            room: RoomId::new("r1"),
            seq,
            author: UserId::new("alice"),
            author_name: "Alice".into(),
            body: "shared a file: f1.txt".into(),
            html: String::new(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
            edited_at: None,
            deleted_at: None,
            reply_to: None,
            client_msg_id: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
        }
    }

    fn started(fx: &[Effect]) -> Vec<u32> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::StartUpload { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn notice(fx: &[Effect]) -> Option<&str> {
        fx.iter().find_map(|e| match e {
            Effect::Notice(t) => Some(t.as_str()),
            _ => None,
        })
    }

    #[test]
    fn uploads_go_one_at_a_time_in_the_order_chosen() {
        let mut m = model();
        assert_eq!(started(&update(&mut m, chosen(1, 10))), vec![1]);
        assert!(started(&update(&mut m, chosen(2, 10))).is_empty());
        assert_eq!(m.uploads().len(), 2);
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Done {
                id: 1,
                message: Box::new(shared(1)),
            }),
        );
        assert_eq!(started(&fx), vec![2]);
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::RenderMessage(msg) if msg.seq == 1)));
        // The stream's copy of the same message is not shown twice.
        let again = update(
            &mut m,
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Message { message: shared(1) },
            }),
        );
        assert!(!again.iter().any(|e| matches!(e, Effect::RenderMessage(_))));
    }

    #[test]
    fn a_copy_with_html_redraws_one_shown_without_it_once() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        // The upload's answer carries no `html`: shown as plain text.
        update(
            &mut m,
            Msg::Upload(UploadMsg::Done {
                id: 1,
                message: Box::new(shared(1)),
            }),
        );
        let rendered = Message {
            html: "<p>shared a file: f1.txt</p>\n".into(),
            ..shared(1)
        };
        let event = |message: Message| {
            Msg::Frame(ServerFrame::Event {
                room: RoomId::new("r1"),
                event: Event::Message { message },
            })
        };
        let fx = update(&mut m, event(rendered.clone()));
        assert_eq!(
            fx.iter()
                .filter(|e| matches!(e, Effect::RenderMessage(msg) if msg.html == rendered.html))
                .count(),
            1,
            "{fx:?}"
        );
        // Nothing new: no news, no second drawing.
        assert!(!fx
            .iter()
            .any(|e| matches!(e, Effect::Beep | Effect::Announce(_))));
        assert!(update(&mut m, event(rendered)).is_empty());
        assert!(update(&mut m, event(shared(1))).is_empty());
    }

    #[test]
    fn progress_repaints_only_when_the_percentage_moves() {
        let mut m = model();
        update(&mut m, chosen(1, 1000));
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 500 }),
        );
        assert_eq!(m.uploads()[0].percent(), 50);
        assert!(matches!(fx.as_slice(), [Effect::ShowUploads(u)] if u[0].percent() == 50));
        assert!(update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 501 })
        )
        .is_empty());
        // The multipart body runs past the file: never above 100 %.
        update(
            &mut m,
            Msg::Upload(UploadMsg::Progress { id: 1, sent: 5000 }),
        );
        assert_eq!(m.uploads()[0].percent(), 100);
    }

    #[test]
    fn too_large_files_are_refused_before_sending() {
        let mut m = model();
        let fx = update(&mut m, chosen(1, 26 * 1024 * 1024));
        assert!(started(&fx).is_empty());
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert_eq!(
            notice(&fx),
            Some("“f1.txt” is too large to upload: files may be at most 25 MiB.")
        );
        assert!(m.uploads().is_empty());
        // Without a known limit the server decides.
        m.max_upload_bytes = 0;
        assert_eq!(
            started(&update(&mut m, chosen(2, 26 * 1024 * 1024))),
            vec![2]
        );
    }

    #[test]
    fn readers_and_empty_files_upload_nothing() {
        let mut m = model();
        m.can_post = false;
        let fx = update(&mut m, chosen(1, 10));
        assert!(started(&fx).is_empty() && fx.contains(&Effect::DropUpload { id: 1 }));
        m.can_post = true;
        let fx = update(&mut m, chosen(2, 0));
        assert!(started(&fx).is_empty());
        assert!(notice(&fx).is_some_and(|t| t.contains("empty")));
    }

    #[test]
    fn refusals_say_why_and_the_queue_moves_on() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        update(&mut m, chosen(2, 10));
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 1,
                failure: UploadFailure {
                    status: 413,
                    message: Some("files may be at most 25 MiB".into()),
                    retry_after: None,
                },
            }),
        );
        assert_eq!(
            notice(&fx),
            Some("“f1.txt” was not uploaded: it is too large (files may be at most 25 MiB).")
        );
        assert_eq!(started(&fx), vec![2]);
        let fx = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 2,
                failure: UploadFailure {
                    status: 429,
                    message: Some("too many uploads; wait a little".into()),
                    retry_after: Some(12),
                },
            }),
        );
        assert_eq!(
            notice(&fx),
            Some("“f2.txt” was not uploaded: too many uploads; try again in 12 s.")
        );
        assert!(m.uploads().is_empty());
        assert!(fx.contains(&Effect::ShowUploads(Vec::new())));
        let offline = UploadFailure {
            status: 0,
            message: None,
            retry_after: None,
        };
        assert!(upload_failure_text("a", &offline).contains("unreachable"));
    }

    #[test]
    fn cancelling_drops_the_file_and_starts_the_next() {
        let mut m = model();
        update(&mut m, chosen(1, 10));
        update(&mut m, chosen(2, 10));
        let fx = update(&mut m, Msg::Upload(UploadMsg::Cancel(1)));
        assert!(fx.contains(&Effect::DropUpload { id: 1 }));
        assert_eq!(started(&fx), vec![2]);
        assert!(notice(&fx).is_none());
        // A late answer for the cancelled upload changes nothing.
        let late = update(
            &mut m,
            Msg::Upload(UploadMsg::Failed {
                id: 1,
                failure: UploadFailure {
                    status: 0,
                    message: None,
                    retry_after: None,
                },
            }),
        );
        assert!(late.is_empty());
    }

    #[test]
    fn limits_and_pasted_names_read_well() {
        assert_eq!(limit_text(25 * 1024 * 1024), "25 MiB");
        assert_eq!(limit_text(1536 * 1024), "1.5 MiB");
        assert_eq!(limit_text(1000), "1 KiB");
        let at = Utc
            .with_ymd_and_hms(2026, 11, 22, 8, 15, 3)
            .unwrap()
            .timestamp_millis() as f64;
        assert_eq!(pasted_name("image/png", at), "pasted-2026-11-22-081503.png");
        assert_eq!(
            pasted_name("image/jpeg", at),
            "pasted-2026-11-22-081503.jpg"
        );
        assert_eq!(
            pasted_name("image/x/../y", at),
            "pasted-2026-11-22-081503.bin"
        );
    }
}
