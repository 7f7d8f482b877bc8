//! A room's feed: one ordered stream of events for one reader, whatever the
//! transport. WebSocket and SSE both run [`follow`]; long-poll uses
//! [`wait_for_news`].
//!
//! [`follow`] subscribes to the bus *first*, then replays from the store what
//! the reader missed, then forwards live events, skipping any seq it already
//! sent. A gap in seqs (a lagged bus receiver, an event lost between nodes)
//! is refilled from the store, so a slow reader is resynced, never silently
//! dropped.
//!
//! Before each delivery, and before every replay from the store (a lagged
//! receiver's resync included), the [`Reader`] checks the host's permission
//! epoch and, if it moved anywhere, asks the host again who the reader's
//! credentials belong to and whether they may still see the room: a session
//! that ended (sign-out, password reset, deleted API token) or access that
//! was revoked stops the stream before anything else is sent. An idle
//! stream checks every [`RECHECK_EVERY`], so it closes even when nothing is
//! posted. The epoch moves on every node (the wiki's is stored and polled),
//! so a sign-out on one node closes streams on the others.

use crate::bus::SharedEvent;
use crate::chat;
use crate::error::AppError;
use crate::host::Caller;
use crate::profiles;
use crate::render;
use crate::state::AppState;
use crate::store::{MessageQuery, Room};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use protocol::{ErrorCode, Event, Message, RoomId};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Messages read from the store per replay query.
const REPLAY_BATCH: usize = 200;

/// How often an idle stream looks at the permission epoch. Reading it is an
/// atomic load; the host is asked again only when it moved.
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// Who reads a stream: the caller a request resolved to and the credentials
/// it was resolved from (its `Authorization` and `Cookie` headers), kept so
/// the host can be asked again when the permission epoch moves. Resolving a
/// caller once would leave a stream reading, and a WebSocket posting, after
/// its session ended.
#[derive(Clone)]
pub struct Reader {
    caller: Option<Caller>,
    /// Only the headers that identify the caller; the rest of the request
    /// is not kept for the life of the stream.
    credentials: HeaderMap,
    /// The epoch read *before* the caller was resolved, so a change racing
    /// with the request is noticed at the first check.
    epoch: u64,
    /// Set when something other than the host's epoch may have changed
    /// this reader's access (their membership of the room changed).
    doubted: bool,
}

impl Reader {
    /// Reads the epoch, then resolves the caller from `headers`.
    pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Self {
        let epoch = state.host.acl_epoch();
        let caller = match state.host.caller(headers).await {
            Some(caller) => Some(profiles::with_display_name(state, caller).await),
            None => None,
        };
        let mut credentials = HeaderMap::new();
        for name in [header::AUTHORIZATION, header::COOKIE] {
            for value in headers.get_all(&name) {
                credentials.append(name.clone(), value.clone());
            }
        }
        Self {
            caller,
            credentials,
            epoch,
            doubted: false,
        }
    }

    /// Makes the next [`Reader::recheck`] ask again even if the epoch has
    /// not moved (the reader's membership changed).
    pub fn doubt(&mut self) {
        self.doubted = true;
    }

    /// The caller as last resolved; `None` for an anonymous reader.
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// If the permission epoch moved since the last check (or
    /// [`Reader::doubt`] was called): whether the credentials still stand
    /// for the same caller and, given `room`, whether that caller may still
    /// read it. Cheap when nothing moved.
    pub async fn recheck(&mut self, state: &AppState, room: Option<&RoomId>) -> Result<(), Closed> {
        let now = state.host.acl_epoch();
        if now == self.epoch && !self.doubted {
            return Ok(());
        }
        if let Some(was) = &self.caller {
            match state.host.caller(&self.credentials).await {
                Some(is) if is.id == was.id => {
                    self.caller = Some(profiles::with_display_name(state, is).await)
                }
                // Signed out, password reset, token deleted, account gone.
                _ => return Err(Closed::SignedOut),
            }
        }
        if let Some(room) = room {
            match chat::access_to(state, self.caller.as_ref(), room).await {
                Ok(_) => {}
                Err(refused) if refused.is_refusal() => return Err(Closed::AccessRevoked),
                // The host or the store failed: not a revocation, but
                // nothing can be delivered unchecked; the reader reconnects
                // and retries.
                Err(e) => {
                    tracing::error!(room = %room, error = ?e, "rechecking access failed; closing the reader's stream");
                    return Err(Closed::StoreFailed);
                }
            }
        }
        self.doubted = false;
        // Only a check that passed moves the reader on, so a failed one is
        // asked again, never skipped.
        self.epoch = now;
        Ok(())
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(Reader::resolve(state, &parts.headers).await)
    }
}

/// What a reader receives, in order.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// The reader's cursor is older than the retained history; what follows
    /// starts at `first_seq`.
    Reset { first_seq: u64 },
    /// Replay is about to start; the room's newest seq at this moment.
    Subscribed { last_seq: u64 },
    /// A message read back from the store during replay or resync, with its
    /// `html` filled in.
    Stored(Box<Message>),
    /// An event as published on the bus.
    Live(SharedEvent),
    /// The reader lost access to the room (or it could not be read); the
    /// feed ends after this.
    Closed { reason: Closed },
}

/// Why a feed ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The reader may no longer see the room.
    AccessRevoked,
    /// The reader's session ended (sign-out, password reset, deleted API
    /// token): the connection should close, not just this room's feed.
    SignedOut,
    /// The store or the host failed; the reader may reconnect.
    StoreFailed,
}

/// Streams `room` to `out` (mapped by `encode`) from `after` onwards (`None`:
/// from now). Returns when the receiver is dropped or the feed closes.
pub async fn follow<T: Send + 'static>(
    state: AppState,
    mut reader: Reader,
    room: Room,
    after: Option<u64>,
    out: mpsc::Sender<T>,
    encode: fn(&RoomId, FeedItem) -> T,
) {
    let sink = Sink {
        room: room.id.clone(),
        out,
        encode,
    };
    let mut live = state.bus.subscribe(&room.id).await;
    // Whether the reader may still read, asked before anything is sent.
    macro_rules! recheck {
        () => {
            if let Err(reason) = reader.recheck(&state, Some(&room.id)).await {
                tracing::info!(room = %room.id, ?reason, "closing the reader's stream");
                sink.close(reason).await;
                return;
            }
        };
    }
    recheck!();

    // `None`: from now. `Some(n)`: everything after n, so `Some(0)` replays
    // the room from its start (a page rendered while the room was empty).
    // Cursors come from clients, up to u64::MAX: `+ 1` saturates here.
    let mut last = after.unwrap_or(room.last_seq);
    if after.is_some() {
        match state.store.first_seq(&room.id).await {
            Ok(Some(first)) if last.saturating_add(1) < first => {
                if !sink.send(FeedItem::Reset { first_seq: first }).await {
                    return;
                }
                last = first - 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(room = %room.id, error = ?e, "reading the first retained seq");
                sink.close(Closed::StoreFailed).await;
                return;
            }
        }
    }
    let subscribed = FeedItem::Subscribed {
        last_seq: room.last_seq.max(last),
    };
    if !sink.send(subscribed).await {
        return;
    }
    let Some(mut last) = replay(&state, &mut reader, &room.id, &sink, last).await else {
        return;
    };

    let mut idle = tokio::time::interval(RECHECK_EVERY);
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let received = tokio::select! {
            received = live.recv() => received,
            _ = idle.tick() => {
                recheck!();
                continue;
            }
        };
        // Before anything reaches the reader, from the bus or the store.
        recheck!();
        let event = match received {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(room = %room.id, missed, "reader lagged; resyncing from the store");
                match replay(&state, &mut reader, &room.id, &sink, last).await {
                    Some(caught_up) => {
                        last = caught_up;
                        continue;
                    }
                    None => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        // The reader was removed from the room (on any node): ask again
        // now, not at the next epoch move, so their stream ends at once.
        if let Event::Membership {
            user, role: None, ..
        } = &event.event
        {
            if reader.caller().is_some_and(|caller| &caller.id == user) {
                reader.doubt();
                recheck!();
            }
        }

        if let Some(seq) = event.seq() {
            if seq > last.saturating_add(1) {
                // A gap: what we missed is committed (or it would not be on
                // the bus), so the store has it.
                match replay(&state, &mut reader, &room.id, &sink, last).await {
                    Some(caught_up) => last = caught_up,
                    None => return,
                }
            }
            if seq <= last {
                continue;
            }
            last = seq;
        }
        if !sink.send(FeedItem::Live(event)).await {
            return;
        }
    }
}

impl From<Closed> for AppError {
    /// What a transport tells its client when a feed closes.
    fn from(reason: Closed) -> Self {
        match reason {
            Closed::AccessRevoked => AppError::new(
                ErrorCode::NotFound,
                "you no longer have access to this room",
            ),
            Closed::SignedOut => AppError::new(
                ErrorCode::Unauthenticated,
                "your session ended; sign in again",
            ),
            Closed::StoreFailed => {
                AppError::new(ErrorCode::Internal, "could not read history; reconnect")
            }
        }
    }
}

/// The reader's end of a feed.
struct Sink<T> {
    room: RoomId,
    out: mpsc::Sender<T>,
    encode: fn(&RoomId, FeedItem) -> T,
}

impl<T> Sink<T> {
    /// False once the reader is gone.
    async fn send(&self, item: FeedItem) -> bool {
        self.out.send((self.encode)(&self.room, item)).await.is_ok()
    }

    async fn close(&self, reason: Closed) {
        self.send(FeedItem::Closed { reason }).await;
    }
}

/// Sends every stored message after `last`; returns the new last seq, or
/// `None` when the reader is gone, may no longer read, or the store failed.
/// The reader is rechecked before each batch is read, so a long resync
/// stops as soon as access goes.
async fn replay<T>(
    state: &AppState,
    reader: &mut Reader,
    room: &RoomId,
    sink: &Sink<T>,
    mut last: u64,
) -> Option<u64> {
    loop {
        if let Err(reason) = reader.recheck(state, Some(room)).await {
            tracing::info!(room = %sink.room, ?reason, "closing the reader's stream");
            sink.close(reason).await;
            return None;
        }
        let batch = match state
            .store
            .messages(&sink.room, MessageQuery::After(last), REPLAY_BATCH)
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(room = %sink.room, error = ?e, "replaying history");
                sink.close(Closed::StoreFailed).await;
                return None;
            }
        };
        let done = batch.len() < REPLAY_BATCH;
        for message in batch {
            last = message.seq;
            let message = Box::new(render::rendered(message));
            if !sink.send(FeedItem::Stored(message)).await {
                return None;
            }
        }
        if done {
            return Some(last);
        }
    }
}

/// Long-poll: the messages after `after` (at most `limit`), waiting up to
/// `wait` for the first one. Messages that arrive while waiting are taken
/// from the bus as published (rendered once for every reader) as long as
/// they follow on from `after`; anything else (a gap, a lagged receiver) is
/// read from the store. So a poll that waits costs at most one store read,
/// and none when the bus shows the poller has everything already.
pub async fn wait_for_news(
    state: &AppState,
    room: &RoomId,
    after: u64,
    wait: Duration,
    limit: usize,
) -> anyhow::Result<Vec<Message>> {
    // Subscribe before the first read so a message committed in between
    // wakes us instead of being missed until the timeout.
    let (mut live, seen) = state.bus.subscribe_seen(room).await;
    // A poller that has everything this node has published skips the read:
    // with many pollers, each answered poll would otherwise cost one.
    let caught_up = seen.is_some_and(|seen| after >= seen);
    if !caught_up || wait.is_zero() {
        let messages = state
            .store
            .messages(room, MessageQuery::After(after), limit)
            .await?;
        if !messages.is_empty() || wait.is_zero() {
            return Ok(render::all(messages));
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut arrived = Vec::new();
    loop {
        let event = match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(event)) => event,
            // Timed out: nothing came.
            Err(_) => return Ok(Vec::new()),
            // The bus went away or we lagged: the store knows.
            Ok(Err(_)) => break,
        };
        match (&event.event, event.seq()) {
            (Event::Message { message }, Some(seq)) if seq == after.saturating_add(1) => {
                arrived.push(message.clone());
                break;
            }
            (_, Some(seq)) if seq > after.saturating_add(1) => break,
            _ => continue,
        }
    }
    if let Some(first) = arrived.first() {
        // Whatever else is already waiting, as long as it follows on.
        let mut last = first.seq;
        while arrived.len() < limit {
            match live.try_recv() {
                Ok(event) => match &event.event {
                    Event::Message { message } if message.seq == last.saturating_add(1) => {
                        last = message.seq;
                        arrived.push(message.clone());
                    }
                    _ if event.seq().is_some_and(|seq| seq > last.saturating_add(1)) => break,
                    _ => continue,
                },
                Err(_) => break,
            }
        }
        return Ok(arrived);
    }
    let messages = state
        .store
        .messages(room, MessageQuery::After(after), limit)
        .await?;
    Ok(render::all(messages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::ROOM_CHANNEL_CAPACITY;
    use crate::chat::Draft;
    use crate::host::Access;
    use crate::testing::TestApp;
    use axum::http::HeaderValue;

    const SOON: Duration = Duration::from_secs(10);

    /// A room on a page alice may post on and bob may read.
    async fn team() -> (TestApp, Room) {
        let app = TestApp::new().unwrap();
        let page = app.host.add_page("Team");
        app.host.grant("alice", &page, Access::Write);
        app.host.grant("bob", &page, Access::Read);
        let id = app.room(&page, "Lobby").await.unwrap();
        let room = app.state().store.room(&id).await.unwrap().unwrap();
        (app, room)
    }

    async fn reader(state: &AppState, user: &str) -> Reader {
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {user}")).unwrap();
        headers.insert(header::AUTHORIZATION, bearer);
        Reader::resolve(state, &headers).await
    }

    /// Posts `count` messages as alice, `{tag} 0`, `{tag} 1`, ..., in
    /// batches, each published as it commits.
    async fn post(state: &AppState, room: &RoomId, count: usize, tag: &str) {
        let alice = reader(state, "alice").await;
        let drafts: Vec<_> = (0..count)
            .map(|i| {
                let draft = Draft {
                    body: format!("{tag} {i}"),
                    client_msg_id: format!("{tag}-{i}"),
                    reply_to: None,
                    files: Vec::new(),
                };
                (room.clone(), draft)
            })
            .collect();
        for batch in drafts.chunks(64) {
            for outcome in chat::post_all(state, alice.caller(), batch.to_vec()).await {
                outcome.unwrap();
            }
        }
    }

    fn keep(_: &RoomId, item: FeedItem) -> FeedItem {
        item
    }

    /// Bob following `room` into a one-slot queue: once it holds an item
    /// the feed stops draining the bus, like a reader that stopped reading.
    async fn slow_reader(app: &TestApp, room: &Room) -> mpsc::Receiver<FeedItem> {
        let state = app.state().clone();
        let (out, mut items) = mpsc::channel(1);
        let bob = reader(&state, "bob").await;
        tokio::spawn(follow(state, bob, room.clone(), None, out, keep));
        let first = tokio::time::timeout(SOON, items.recv()).await.unwrap();
        assert!(
            matches!(first, Some(FeedItem::Subscribed { .. })),
            "{first:?}"
        );
        items
    }

    /// The items a feed sends until it ends or goes quiet.
    async fn drain(items: &mut mpsc::Receiver<FeedItem>) -> Vec<FeedItem> {
        let mut got = Vec::new();
        while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(1), items.recv()).await
        {
            got.push(item);
        }
        got
    }

    fn message(item: &FeedItem) -> Option<&Message> {
        match item {
            FeedItem::Stored(message) => Some(message),
            FeedItem::Live(event) => match &event.event {
                Event::Message { message } => Some(message),
                _ => None,
            },
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_reader_that_lags_behind_the_bus_is_resynced_not_dropped() {
        let (app, room) = team().await;
        let mut items = slow_reader(&app, &room).await;
        let count = ROOM_CHANNEL_CAPACITY + 100;
        post(app.state(), &room.id, count, "flood").await;

        let got = drain(&mut items).await;
        let seqs: Vec<u64> = got.iter().filter_map(message).map(|m| m.seq).collect();
        let expected: Vec<u64> = (1..=u64::try_from(count).unwrap()).collect();
        assert_eq!(seqs, expected, "every message once, in order");
        assert!(
            got.iter().any(|item| matches!(item, FeedItem::Stored(_))),
            "the reader lagged and was resynced from the store"
        );
    }

    /// A reader that lagged, then lost the right to read: the resync must
    /// not replay what was posted after.
    async fn a_lagged_reader_gets_nothing_after(take_away: impl FnOnce(&TestApp, &Room)) -> Closed {
        let (app, room) = team().await;
        let mut items = slow_reader(&app, &room).await;
        post(app.state(), &room.id, ROOM_CHANNEL_CAPACITY + 100, "flood").await;
        take_away(&app, &room);
        post(app.state(), &room.id, 1, "secret").await;

        let got = drain(&mut items).await;
        let leaked: Vec<&Message> = got
            .iter()
            .filter_map(message)
            .filter(|m| m.body.starts_with("secret"))
            .collect();
        assert!(leaked.is_empty(), "replayed after revocation: {leaked:?}");
        match got.last() {
            Some(FeedItem::Closed { reason }) => *reason,
            other => panic!("the feed ends with Closed, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_lagged_reader_whose_access_was_revoked_is_closed_before_any_replay() {
        let reason = a_lagged_reader_gets_nothing_after(|app, room| {
            app.host.revoke("bob", room.page.as_ref().unwrap())
        })
        .await;
        assert_eq!(reason, Closed::AccessRevoked);
    }

    #[tokio::test]
    async fn a_lagged_reader_whose_session_ended_is_closed_before_any_replay() {
        let reason = a_lagged_reader_gets_nothing_after(|app, _| app.host.sign_out("bob")).await;
        assert_eq!(reason, Closed::SignedOut);
    }
}
