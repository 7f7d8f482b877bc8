//! The long-poll transport at `GET /api/rooms/{room}/events?after=SEQ&wait=SECS`,
//! BOSH-style: the request is held until something newer than `after`
//! arrives or `wait` seconds pass, then answered with what there is.
//!
//! For clients behind proxies that break WebSocket and SSE. The client asks
//! again with `after` set to the returned `last_seq`.
//!
//! A held request is rechecked before it is answered (see
//! [`feed::Reader`]): a session that ended while it waited gets a 401, a
//! revoked reader a 404, never what was posted after.

use crate::chat::{self, MAX_HISTORY_LIMIT};
use crate::error::AppError;
use crate::extract::{Json, Query};
use crate::feed::{self, Reader};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use protocol::{Event, RoomId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest a request is held; below common proxy idle timeouts (60 s).
pub const MAX_WAIT_SECS: u64 = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/rooms/{room}/events", get(events))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    after: u64,
    #[serde(default)]
    wait: u64,
    limit: Option<usize>,
}

/// The answer to one poll.
#[derive(Debug, Serialize)]
struct Events {
    /// Events after the cursor, oldest first; empty when `wait` ran out.
    events: Vec<Event>,
    /// The cursor for the next poll.
    last_seq: u64,
    /// Set when `after` is older than the retained history: the events start
    /// at this seq and the client should reload what it shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    reset: Option<u64>,
}

async fn events(
    State(state): State<AppState>,
    mut reader: Reader,
    Path(room): Path<RoomId>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Events>, AppError> {
    if query.wait > MAX_WAIT_SECS {
        return Err(AppError::bad_request(format!(
            "wait may be at most {MAX_WAIT_SECS} seconds"
        )));
    }
    chat::access_to(&state, reader.caller(), &room).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_HISTORY_LIMIT);

    let wait = Duration::from_secs(query.wait);
    let messages = feed::wait_for_news(&state, &room, query.after, wait, limit).await?;
    // The request was held: a sign-out or a revocation while it waited
    // must not be answered with what was posted after it.
    reader.recheck(&state, Some(&room)).await?;
    // Seqs are gapless and deletions leave tombstones, so if the first
    // message after the cursor is not the next seq, pruning took the ones
    // between: the client must reload what it shows.
    let reset = messages
        .first()
        .map(|m| m.seq)
        .filter(|&first| query.after > 0 && first > query.after.saturating_add(1));
    let last_seq = messages.last().map_or(query.after, |m| m.seq);
    Ok(Json(Events {
        events: messages
            .into_iter()
            .map(|message| Event::Message { message })
            .collect(),
        last_seq,
        reset,
    }))
}
