//! The popup's state and the one function that changes it.
//!
//! Everything here is plain Rust: no web-sys, no clocks, no randomness. The
//! DOM layer turns browser events into a [`Msg`], [`update`] applies it to the
//! [`Model`] and answers with [`Effect`]s for the DOM layer to carry out. That
//! keeps the delivery rules (dedupe by id, order by seq, resume from the last
//! contiguous seq, outbox resent in order after a reconnect) unit-tested
//! natively with `cargo test -p wasm-ui`.

use protocol::{ClientFrame, ErrorCode, Event, Message, MessageId, RoomId, ServerFrame, UserId};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How often the keep-alive `ping` goes out while connected. A missing `pong`
/// by the next tick counts as a dead connection.
pub const PING_INTERVAL_MS: u32 = 25_000;

/// The first reconnect delay; doubles per failed attempt up to [`MAX_BACKOFF_MS`].
pub const BASE_BACKOFF_MS: u32 = 500;

/// The longest wait between reconnect attempts.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// Where the live connection stands, as shown in `#bc-conn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// A socket is opening, or open and waiting for `subscribed`.
    Connecting,
    /// Subscribed: events flow and sends go out immediately.
    Connected,
    /// No socket; a reconnect is scheduled.
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
    /// Every message on screen, seq -> id; the view shows them in this order.
    messages: BTreeMap<u64, MessageId>,
    /// id -> seq, so a message delivered twice is recognised and shown once.
    by_id: HashMap<MessageId, u64>,
    /// The resume cursor: every seq from the first one we started with up to
    /// here is on screen. A later seq that arrived early does not move it, so a
    /// reconnect replays the gap instead of skipping it.
    pub last_seq: u64,
    pub connection: ConnState,
    /// Sent but not acknowledged, oldest first; resent in this order on reconnect.
    outbox: VecDeque<Outgoing>,
    /// Acknowledged sends whose message event has not arrived yet: their
    /// "sending…" placeholder stays until the real message replaces it.
    acked: HashMap<MessageId, String>,
    /// The text in the input, as last reported by the DOM.
    pub draft: String,
    /// Failed connection attempts since the last successful subscribe.
    attempts: u32,
    /// A ping went out and no pong came back yet.
    awaiting_pong: bool,
}

/// Something that happened: a browser event or a server frame.
// One value at a time passes straight through (as with `ServerFrame` itself),
// so the size of the frame variant costs nothing worth a Box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// The app is wired up: start connecting.
    Start,
    /// The WebSocket opened.
    SocketOpened,
    /// The WebSocket closed or failed.
    SocketClosed,
    /// A frame arrived from the server.
    Frame(ServerFrame),
    /// The keep-alive timer fired.
    Tick,
    /// The reconnect delay is over.
    ReconnectDue,
    /// The browser says the network is back (`online` event).
    NetworkOnline,
    /// The user edited the input.
    DraftChanged(String),
    /// The user sent the input. The DOM layer picks the random `client_msg_id`.
    Submit { body: String, client_msg_id: String },
}

/// Something for the DOM layer to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open a new WebSocket (dropping any old one and any pending reconnect).
    Connect,
    /// Close the current WebSocket without waiting for its close event.
    Disconnect,
    /// Call back with [`Msg::ReconnectDue`] after [`backoff_ms`] for this attempt.
    ScheduleReconnect { attempt: u32 },
    /// Send a frame on the open socket.
    Send(ClientFrame),
    /// Show the connection state (`#bc-conn`, `body[data-connected]`).
    ShowConnection(ConnState),
    /// Show a message in seq order, replacing its earlier rendering if any.
    RenderMessage(Message),
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
    /// Tell the reader something went wrong.
    Notice(String),
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
    /// A model for the page as rendered: `known` are the messages already in it.
    pub fn new(config: Config, known: impl IntoIterator<Item = Known>) -> Self {
        let mut model = Model {
            room: config.room,
            me: config.me,
            my_name: config.my_name,
            can_post: config.can_post,
            messages: BTreeMap::new(),
            by_id: HashMap::new(),
            last_seq: config.last_seq,
            connection: ConnState::Connecting,
            outbox: VecDeque::new(),
            acked: HashMap::new(),
            draft: String::new(),
            attempts: 0,
            awaiting_pong: false,
        };
        for k in known {
            model.by_id.insert(k.id.clone(), k.seq);
            model.messages.insert(k.seq, k.id);
        }
        model.advance_cursor();
        model
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

    fn subscribe(&self) -> ClientFrame {
        ClientFrame::Subscribe {
            room: self.room.clone(),
            after: Some(self.last_seq),
        }
    }

    /// Moves the cursor over every seq that is now contiguous with it.
    fn advance_cursor(&mut self) {
        while self.messages.contains_key(&(self.last_seq + 1)) {
            self.last_seq += 1;
        }
    }

    fn go_offline(&mut self, fx: &mut Vec<Effect>) {
        self.connection = ConnState::Offline;
        self.awaiting_pong = false;
        fx.push(Effect::ShowConnection(ConnState::Offline));
        fx.push(Effect::ScheduleReconnect {
            attempt: self.attempts,
        });
        self.attempts = self.attempts.saturating_add(1);
    }

    fn connect(&mut self, fx: &mut Vec<Effect>) {
        self.connection = ConnState::Connecting;
        fx.push(Effect::ShowConnection(ConnState::Connecting));
        fx.push(Effect::Connect);
    }

    /// Drops an outbox entry and its placeholder once its message is on screen.
    fn settle(&mut self, client_msg_id: &str, fx: &mut Vec<Effect>) {
        self.outbox.retain(|o| o.client_msg_id != client_msg_id);
        fx.push(Effect::RemovePending {
            client_msg_id: client_msg_id.to_owned(),
        });
    }

    fn on_message(&mut self, message: Message, fx: &mut Vec<Effect>) {
        if message.room != self.room || self.by_id.contains_key(&message.id) {
            return;
        }
        // A different id at a seq we already show cannot happen with a sane
        // server; keep what is on screen rather than show two at one position.
        if self.messages.contains_key(&message.seq) {
            return;
        }
        self.by_id.insert(message.id.clone(), message.seq);
        self.messages.insert(message.seq, message.id.clone());
        let before = self.last_seq;
        self.advance_cursor();
        let mine = match self.acked.remove(&message.id) {
            Some(client_msg_id) => Some(client_msg_id),
            None if message.author == self.me => message.client_msg_id.clone(),
            None => None,
        };
        fx.push(Effect::RenderMessage(message));
        if self.last_seq != before {
            fx.push(Effect::ShowCursor(self.last_seq));
        }
        if let Some(client_msg_id) = mine {
            self.settle(&client_msg_id, fx);
        }
    }

    fn on_frame(&mut self, frame: ServerFrame, fx: &mut Vec<Effect>) {
        match frame {
            ServerFrame::Subscribed { room, .. } if room == self.room => {
                self.connection = ConnState::Connected;
                self.attempts = 0;
                self.awaiting_pong = false;
                fx.push(Effect::ShowConnection(ConnState::Connected));
                // Everything unacknowledged goes (again), in order: the server
                // dedupes by client_msg_id, so a send that did commit before the
                // old socket died is acknowledged, not doubled.
                for o in &self.outbox {
                    fx.push(Effect::Send(o.frame(&self.room)));
                }
            }
            ServerFrame::Event { room, event } if room == self.room => match event {
                Event::Message { message } => self.on_message(message, fx),
                Event::Edited { message } | Event::Deleted { message } => {
                    if self.by_id.get(&message.id) == Some(&message.seq) {
                        fx.push(Effect::RenderMessage(message));
                    }
                }
                // Presence and typing arrive with the info panel (issue 5).
                Event::Presence { .. } | Event::Typing { .. } => {}
            },
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
            }
            ServerFrame::Error { message, .. } => fx.push(Effect::Notice(message)),
            ServerFrame::Pong => self.awaiting_pong = false,
            // Frames for other rooms: this popup shows one room.
            ServerFrame::Subscribed { .. }
            | ServerFrame::Event { .. }
            | ServerFrame::Reset { .. } => {}
        }
    }
}

/// Applies `msg` to `model` and returns what the DOM layer must do, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Start => model.connect(&mut fx),
        Msg::SocketOpened => {
            if model.connection == ConnState::Connecting {
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
            if model.connection == ConnState::Connected {
                if model.awaiting_pong {
                    // No pong for a whole interval: the socket is dead but the
                    // browser has not noticed. Drop it and start over.
                    fx.push(Effect::Disconnect);
                    model.go_offline(&mut fx);
                } else {
                    model.awaiting_pong = true;
                    fx.push(Effect::Send(ClientFrame::Ping));
                    // Sends refused with a retryable error are still queued.
                    for o in &model.outbox {
                        fx.push(Effect::Send(o.frame(&model.room)));
                    }
                }
            }
        }
        Msg::ReconnectDue | Msg::NetworkOnline => {
            if model.connection == ConnState::Offline {
                model.connect(&mut fx);
            }
        }
        Msg::DraftChanged(text) => model.draft = text,
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
                reply_to: None,
            };
            model.draft.clear();
            fx.push(Effect::ClearInput);
            fx.push(Effect::ShowPending {
                client_msg_id: out.client_msg_id.clone(),
                body: out.body.clone(),
            });
            if model.connection == ConnState::Connected {
                fx.push(Effect::Send(out.frame(&model.room)));
            }
            model.outbox.push_back(out);
        }
    }
    fx
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
                Effect::Connect
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
        assert_eq!(fx, vec![Effect::ShowConnection(ConnState::Connected)]);
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
        assert!(fx.contains(&Effect::Connect));
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
        assert_eq!(attempts, vec![0, 1, 2]);
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
        assert!(fx.contains(&Effect::Connect));
        // While already connecting, it does not open a second socket.
        assert!(update(&mut m, Msg::NetworkOnline).is_empty());
    }
}
