//! The Server-Sent Events transport at `GET /api/rooms/{room}/stream`.
//!
//! Each message event carries `id: <seq>`, so a browser's `EventSource`
//! resumes by itself after a drop: it sends `Last-Event-ID` and the feed
//! replays what came after. `?after=SEQ` does the same for the first
//! connection. Event names follow `protocol::Event`'s `type` (`message`,
//! `edited`, ...) plus `subscribed`, `reset` and `error`; data is JSON.
//!
//! The stream ends after an `error` event: `not_found` when the reader lost
//! access to the room, `unauthenticated` when their session ended (sign-out,
//! password reset, deleted API token; see [`feed::Reader`]).

use crate::chat;
use crate::error::AppError;
use crate::extract::{Query, SameOrigin};
use crate::feed::{self, FeedItem, Reader};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use protocol::{Event, RoomId};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Events that may wait for a slow reader before its feed pauses (and later
/// resyncs from the store).
const OUTBOX_EVENTS: usize = 256;
/// Comment lines keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(20);

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/rooms/{room}/stream", get(stream))
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    after: Option<u64>,
}

async fn stream(
    State(state): State<AppState>,
    reader: Reader,
    Path(room): Path<RoomId>,
    Query(query): Query<StreamQuery>,
    _: SameOrigin,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| AppError::bad_request("Last-Event-ID must be a message seq"))?,
        ),
        None => query.after,
    };
    let room = chat::authorize(&state, reader.caller(), &room).await?.room;
    let (out, events) = mpsc::channel(OUTBOX_EVENTS);
    // The feed ends when the client goes away (the receiver is dropped), or
    // when access is revoked or the session ends (it sends `error` and
    // returns, ending the stream).
    tokio::spawn(feed::follow(state, reader, room, resume, out, encode));
    let events = tokio_stream::StreamExt::map(ReceiverStream::new(events), Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn encode(_room: &RoomId, item: FeedItem) -> SseEvent {
    match item {
        FeedItem::Live(event) => event_frame(&event.event),
        FeedItem::Stored(message) => event_frame(&Event::Message { message: *message }),
        FeedItem::Subscribed { last_seq } => {
            json_event("subscribed", &serde_json::json!({ "last_seq": last_seq }))
        }
        FeedItem::Reset { first_seq } => {
            json_event("reset", &serde_json::json!({ "first_seq": first_seq }))
        }
        FeedItem::Closed { reason } => json_event("error", &AppError::from(reason).body()),
    }
}

fn event_frame(event: &Event) -> SseEvent {
    let name = match event {
        Event::Message { .. } => "message",
        Event::Edited { .. } => "edited",
        Event::Deleted { .. } => "deleted",
        Event::Presence { .. } => "presence",
        Event::Typing { .. } => "typing",
        Event::Membership { .. } => "membership",
        Event::Notification { .. } => "notification",
    };
    let frame = json_event(name, event);
    match event.seq() {
        Some(seq) => frame.id(seq.to_string()),
        None => frame,
    }
}

fn json_event(name: &str, data: &impl serde::Serialize) -> SseEvent {
    // Serialising these plain data types cannot fail.
    SseEvent::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_default())
}
