//! The Server-Sent Events transport at `GET /api/rooms/{room}/stream`, and
//! the caller's notifications at `GET /api/notifications/stream`.
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
use crate::notifications;
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
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Events that may wait for a slow reader before its feed pauses (and later
/// resyncs from the store).
const OUTBOX_EVENTS: usize = 256;
/// Comment lines keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(20);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}/stream", get(stream))
        .route("/api/notifications/stream", get(notification_stream))
}

/// `GET /api/notifications/stream`: the caller's notifications. First a
/// `notifications` event (the newest page and the unread count), then a
/// `notification` event for each new one, from any node. Ends with an
/// `error` event when the session ends.
async fn notification_stream(
    State(state): State<AppState>,
    mut reader: Reader,
    _: SameOrigin,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let caller = reader
        .caller()
        .cloned()
        .ok_or_else(AppError::unauthenticated)?;
    let topic = notifications::channel(&caller.id);
    // Subscribed before the page is read, so nothing falls in between.
    let mut live = state.bus.subscribe(&topic).await;
    let page = notifications::list(&state, Some(&caller), None, None).await?;
    let (out, events) = mpsc::channel(OUTBOX_EVENTS);
    tokio::spawn(async move {
        let newest = page.notifications.first().map_or(0, |n| n.id);
        if out.send(json_event("notifications", &page)).await.is_err() {
            return;
        }
        let mut idle = tokio::time::interval(feed::RECHECK_EVERY);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let received = tokio::select! {
                received = live.recv() => Some(received),
                _ = idle.tick() => None,
            };
            if let Err(reason) = reader.recheck(&state, None).await {
                let _ = out
                    .send(json_event("error", &AppError::from(reason).body()))
                    .await;
                return;
            }
            let event = match received {
                None => continue,
                Some(Ok(event)) => event,
                // Missed some: they are stored; the next page shows them.
                Some(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Some(Err(broadcast::error::RecvError::Closed)) => return,
            };
            if let Event::Notification { notification } = &event.event {
                if notification.id > newest {
                    let frame =
                        json_event("notification", notification).id(notification.id.to_string());
                    if out.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let events = tokio_stream::StreamExt::map(ReceiverStream::new(events), Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
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
        Event::Profile { .. } => "profile",
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
