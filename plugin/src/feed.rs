//! A room's feed: one ordered stream of events for one reader, whatever the
//! transport. WebSocket and SSE both run [`follow`]; long-poll uses
//! [`wait_for_news`].
//!
//! [`follow`] subscribes to the bus *first*, then replays from the store what
//! the reader missed, then forwards live events, skipping any seq it already
//! sent. A gap in seqs (a lagged bus receiver, an event lost between nodes)
//! is refilled from the store, so a slow reader is resynced, never silently
//! dropped. Before each delivery it checks the host's permission epoch and,
//! if permissions changed anywhere, asks again whether the reader may still
//! see the room: revoking access stops the stream.

use crate::bus::SharedEvent;
use crate::host::{Access, Caller};
use crate::render;
use crate::state::AppState;
use crate::store::{MessageQuery, Room};
use protocol::{Event, Message, RoomId};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Messages read from the store per replay query.
const REPLAY_BATCH: usize = 200;

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
    AccessRevoked,
    StoreFailed,
}

/// Streams `room` to `out` (mapped by `encode`) from `after` onwards (`None`:
/// from now). Returns when the receiver is dropped or the feed closes.
pub async fn follow<T: Send + 'static>(
    state: AppState,
    caller: Option<Caller>,
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
    let mut epoch = state.host.acl_epoch();

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
    let Some(mut last) = replay(&state, &sink, last).await else {
        return;
    };

    loop {
        let event = match live.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(room = %room.id, missed, "reader lagged; resyncing from the store");
                match replay(&state, &sink, last).await {
                    Some(caught_up) => {
                        last = caught_up;
                        continue;
                    }
                    None => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };

        let now = state.host.acl_epoch();
        if now != epoch {
            epoch = now;
            match state.host.access(caller.as_ref(), &room.page).await {
                Ok(access) if access < Access::Read => {
                    tracing::info!(room = %room.id, "access revoked; closing the reader's stream");
                    sink.close(Closed::AccessRevoked).await;
                    return;
                }
                Ok(_) => {}
                // The host failed: not a revocation, but nothing can be
                // delivered unchecked; the reader reconnects and retries.
                Err(e) => {
                    tracing::error!(room = %room.id, error = ?e, "rechecking access failed; closing the reader's stream");
                    sink.close(Closed::StoreFailed).await;
                    return;
                }
            }
        }

        if let Some(seq) = event.seq() {
            if seq > last.saturating_add(1) {
                // A gap: what we missed is committed (or it would not be on
                // the bus), so the store has it.
                match replay(&state, &sink, last).await {
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
/// `None` when the reader is gone or the store failed.
async fn replay<T>(state: &AppState, sink: &Sink<T>, mut last: u64) -> Option<u64> {
    loop {
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
