//! The WebSocket transport at `/api/ws`: JSON frames from `protocol::frame`.
//!
//! One connection may follow several rooms; each subscription runs a
//! [`crate::feed::follow`] task (replay, then live, resync on gaps).
//!
//! A live event's frame is serialised once, by the first of its recipients
//! on this node, and kept with the event ([`RoomEvent::encoded`]); every
//! other recipient clones the shared bytes.
//!
//! Frames leave through one bounded queue per connection. When a client
//! reads too slowly the queue fills, its subscription tasks stop draining the
//! bus, and they catch up from the store once it drains: memory per
//! connection stays bounded.
//!
//! `send` frames go to the connection's poster task, which stores whatever
//! has queued up since its last commit as one batch ([`chat::post_all`]) and
//! acks in order. Reading the next frame never waits for a COMMIT, so one
//! connection can send faster than one message per commit, and its messages
//! still keep the order they were sent in.
//!
//! The connection's [`Reader`] is rechecked before every frame it reads and
//! every [`feed::RECHECK_EVERY`] while idle: once the session it was opened
//! with has ended (sign-out, password reset, deleted API token), a `send`
//! is refused with an `unauthenticated` error frame and the connection is
//! closed with [`SIGNED_OUT_CLOSE_CODE`]; each room's feed closes the same
//! way on its own.

use crate::bus::RoomEvent;
use crate::chat::{self, Draft};
use crate::error::AppError;
use crate::extract::SameOrigin;
use crate::feed::{self, Closed, FeedItem, Reader};
use crate::host::Caller;
use crate::notifications;
use crate::profiles;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientFrame, ErrorCode, Event, RoomId, ServerFrame};
use std::collections::{HashMap, HashSet};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// Frames that may wait for a slow client before its subscriptions pause.
const OUTBOX_FRAMES: usize = 256;
/// Largest frame a client may send; a message body is at most 16 KiB.
const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// Rooms one connection may follow at once.
const MAX_SUBSCRIPTIONS: usize = 64;
/// `send` frames read but not yet stored before reading pauses.
const POSTS_QUEUED: usize = 256;
/// Most drafts stored in one batch.
const POST_BATCH: usize = 64;
/// The close code of a connection whose session ended (the 4000-4999 range
/// is the application's; 4401 echoes HTTP 401). A client should sign in
/// again rather than reconnect with the same credentials.
pub const SIGNED_OUT_CLOSE_CODE: u16 = 4401;
/// How long the close frame may take to leave before the socket is dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/ws", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    reader: Reader,
    _: SameOrigin,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    // axum's default read buffer is 128 KiB per connection; chat frames are
    // small, so a few KiB keeps idle connections cheap.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| serve(state, reader, socket)))
}

/// A subscription task, aborted when dropped (unsubscribe or disconnect).
struct Subscription(JoinHandle<()>);

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(state: AppState, mut reader: Reader, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (outbox, mut outgoing) = mpsc::channel::<WsMessage>(OUTBOX_FRAMES);
    let mut writer = tokio::spawn(async move {
        // Frames that are already waiting go out in one write: a busy room
        // then costs one syscall per batch, not one per frame.
        while let Some(frame) = outgoing.recv().await {
            let mut closing = matches!(frame, WsMessage::Close(_));
            if feed_frame(&mut sink, frame).await.is_err() {
                break;
            }
            let mut failed = false;
            while !closing {
                let Ok(frame) = outgoing.try_recv() else {
                    break;
                };
                closing = matches!(frame, WsMessage::Close(_));
                if feed_frame(&mut sink, frame).await.is_err() {
                    failed = true;
                    break;
                }
            }
            // Nothing follows a close frame.
            if failed || sink.flush().await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });

    // Started with the first `send`: most connections only listen, and an
    // idle one should cost no more than its buffers. Drafts are boxed because
    // the channel allocates its slots 32 at a time.
    let mut poster: Option<mpsc::Sender<Box<(RoomId, Draft)>>> = None;

    let mut subscriptions: HashMap<RoomId, Subscription> = HashMap::new();
    // Rooms this connection said its user is in: they leave them when it
    // closes (a closed popup), rather than a heartbeat's lifetime later.
    let mut present_in: HashSet<RoomId> = HashSet::new();
    let mut idle = tokio::time::interval(feed::RECHECK_EVERY);
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let incoming = tokio::select! {
            incoming = stream.next() => incoming,
            _ = &mut writer => break,
            _ = idle.tick() => match reader.recheck(&state, None).await {
                Ok(()) => continue,
                Err(reason) => {
                    close(&outbox, reason, None, subscriptions, writer).await;
                    return;
                }
            },
        };
        // Whatever the frame asks, it is asked by whoever the connection's
        // credentials stand for now.
        if let Err(reason) = reader.recheck(&state, None).await {
            let client_msg_id = match &incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    match serde_json::from_str::<ClientFrame>(text.as_str()) {
                        Ok(ClientFrame::Send { client_msg_id, .. }) => Some(client_msg_id),
                        _ => None,
                    }
                }
                _ => None,
            };
            close(&outbox, reason, client_msg_id, subscriptions, writer).await;
            return;
        }
        let caller = reader.caller();
        let text = match incoming {
            Some(Ok(WsMessage::Text(text))) => text,
            Some(Ok(WsMessage::Binary(_))) => {
                let error = error_frame(ErrorCode::BadRequest, "send JSON text frames", None);
                if outbox.send(error).await.is_err() {
                    break;
                }
                continue;
            }
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
            // Pings are answered by the library; pongs need nothing.
            Some(Ok(_)) => continue,
        };
        let frame = match serde_json::from_str::<ClientFrame>(text.as_str()) {
            Ok(frame) => frame,
            Err(e) => {
                let error = error_frame(ErrorCode::BadRequest, &format!("bad frame: {e}"), None);
                if outbox.send(error).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let reply = match frame {
            ClientFrame::Subscribe { room, after } => {
                subscribe(&state, &reader, &outbox, &mut subscriptions, room, after).await
            }
            ClientFrame::Unsubscribe { room } => {
                subscriptions.remove(&room);
                None
            }
            // Commands are run through POST .../commands, never posted.
            ClientFrame::Send {
                room,
                body,
                client_msg_id,
                ..
            } if crate::commands::refuse(&room, &body).is_err() => {
                let refused = crate::commands::refuse(&room, &body).err();
                refused.map(|e| error_frame(e.code, &e.message, Some(client_msg_id)))
            }
            ClientFrame::Send {
                room,
                body,
                client_msg_id,
                reply_to,
            } => {
                let draft = Draft {
                    body,
                    client_msg_id,
                    reply_to,
                    files: Vec::new(),
                };
                let posts = poster.get_or_insert_with(|| {
                    let (posts, queued) = mpsc::channel(POSTS_QUEUED);
                    // Not aborted on disconnect: what was read is stored even
                    // if nobody waits for the ack (a retry with the same
                    // client_msg_id finds it).
                    tokio::spawn(post_in_order(
                        state.clone(),
                        caller.cloned(),
                        queued,
                        outbox.clone(),
                    ));
                    posts
                });
                if posts.send(Box::new((room, draft))).await.is_err() {
                    break;
                }
                None
            }
            ClientFrame::Presence { room, status } => {
                match chat::set_presence(&state, caller, &room, status).await {
                    Ok(()) if status.is_some() => {
                        present_in.insert(room);
                        None
                    }
                    Ok(()) => {
                        present_in.remove(&room);
                        None
                    }
                    Err(e) => Some(error_frame(e.code, &e.message, None)),
                }
            }
            ClientFrame::Typing { room } => {
                match chat::typing(&state, caller, &room).await {
                    // Typing notices are best effort: too many are dropped quietly.
                    Err(e) if e.code == ErrorCode::RateLimited => None,
                    Err(e) => Some(error_frame(e.code, &e.message, None)),
                    Ok(()) => None,
                }
            }
            ClientFrame::Read { room, seq } => chat::mark_read(&state, caller, &room, seq)
                .await
                .err()
                .map(|e| error_frame(e.code, &e.message, None)),
            ClientFrame::Notifications => {
                follow_notifications(&state, &reader, &outbox, &mut subscriptions).await
            }
            ClientFrame::Ping => Some(frame_message(&ServerFrame::Pong)),
        };
        if let Some(reply) = reply {
            if outbox.send(reply).await.is_err() {
                break;
            }
        }
    }
    drop(subscriptions);
    writer.abort();
    for room in present_in {
        // Best effort: a refusal (access gone, too many changes) leaves
        // the heartbeat to expire as before.
        let _ = chat::set_presence(&state, reader.caller(), &room, None).await;
    }
}

/// Queues `frame` on the socket; a close frame for an ended session goes
/// after an `unauthenticated` error frame saying why, whichever task
/// (a room's feed or the connection's own check) found out.
async fn feed_frame(
    sink: &mut futures_util::stream::SplitSink<WebSocket, WsMessage>,
    frame: WsMessage,
) -> Result<(), axum::Error> {
    if matches!(&frame, WsMessage::Close(Some(c)) if c.code == SIGNED_OUT_CLOSE_CODE) {
        let error = AppError::from(Closed::SignedOut);
        sink.feed(error_frame(error.code, &error.message, None))
            .await?;
    }
    sink.feed(frame).await
}

/// Ends a connection whose reader may no longer read: an error frame for
/// the `send` that found out (if one did), then a close frame, given a
/// moment to leave.
async fn close(
    outbox: &mpsc::Sender<WsMessage>,
    reason: Closed,
    client_msg_id: Option<String>,
    subscriptions: HashMap<RoomId, Subscription>,
    mut writer: JoinHandle<()>,
) {
    tracing::info!(
        ?reason,
        "closing a WebSocket whose reader may no longer read"
    );
    drop(subscriptions);
    let error = AppError::from(reason);
    // Bounded: a client that stopped reading has a full outbox, and must
    // not keep the connection (and its credentials) alive.
    let goodbye = async {
        if client_msg_id.is_some() {
            let refused = error_frame(error.code, &error.message, client_msg_id);
            let _ = outbox.send(refused).await;
        }
        let _ = outbox.send(close_frame(reason)).await;
        let _ = (&mut writer).await;
    };
    if tokio::time::timeout(CLOSE_GRACE, goodbye).await.is_err() {
        writer.abort();
    }
}

/// The close frame for a connection that ends because of `reason`.
fn close_frame(reason: Closed) -> WsMessage {
    let (code, text) = match reason {
        Closed::SignedOut => (SIGNED_OUT_CLOSE_CODE, "session ended"),
        // 1008: policy violation; 1011: the server failed.
        Closed::AccessRevoked => (1008, "access revoked"),
        Closed::StoreFailed => (1011, "server error"),
    };
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(text),
    }))
}

/// Stores the connection's drafts in the order they were sent, each batch
/// being whatever queued up while the previous one committed, and answers
/// each with an ack or an error frame.
async fn post_in_order(
    state: AppState,
    caller: Option<Caller>,
    mut queued: mpsc::Receiver<Box<(RoomId, Draft)>>,
    outbox: mpsc::Sender<WsMessage>,
) {
    while let Some(first) = queued.recv().await {
        let mut batch = vec![*first];
        while batch.len() < POST_BATCH {
            match queued.try_recv() {
                Ok(draft) => batch.push(*draft),
                Err(_) => break,
            }
        }
        let ids: Vec<String> = batch
            .iter()
            .map(|(_, draft)| draft.client_msg_id.clone())
            .collect();
        // A connection lives for hours: each batch takes the author's
        // display name as it is now (cached; a change on this node shows
        // at once, on another within the cache's time to live).
        let author = match caller.clone() {
            Some(caller) => Some(profiles::with_display_name(&state, caller).await),
            None => None,
        };
        let outcomes = chat::post_all(&state, author.as_ref(), batch).await;
        for (client_msg_id, outcome) in ids.into_iter().zip(outcomes) {
            let reply = match outcome {
                Ok(message) => frame_message(&ServerFrame::Ack {
                    client_msg_id,
                    id: message.id,
                    seq: message.seq,
                }),
                Err(e) => error_frame(e.code, &e.message, Some(client_msg_id)),
            };
            // A closed connection gets no acks; the rest is still stored.
            let _ = outbox.send(reply).await;
        }
    }
}

/// Starts following `room_id`; returns an error frame if that is refused.
async fn subscribe(
    state: &AppState,
    reader: &Reader,
    outbox: &mpsc::Sender<WsMessage>,
    subscriptions: &mut HashMap<RoomId, Subscription>,
    room_id: RoomId,
    after: Option<u64>,
) -> Option<WsMessage> {
    if !subscriptions.contains_key(&room_id) && subscriptions.len() >= MAX_SUBSCRIPTIONS {
        return Some(error_frame(
            ErrorCode::InvalidInput,
            &format!("a connection may follow at most {MAX_SUBSCRIPTIONS} rooms"),
            None,
        ));
    }
    let room = match chat::authorize(state, reader.caller(), &room_id).await {
        Ok(authorized) => authorized.room,
        Err(e) => return Some(error_frame(e.code, &e.message, None)),
    };
    let feed = feed::follow(
        state.clone(),
        reader.clone(),
        room,
        after,
        outbox.clone(),
        encode,
    );
    // Replaces (and so aborts) an earlier subscription to the same room.
    subscriptions.insert(room_id, Subscription(tokio::spawn(feed)));
    None
}

/// Sends the caller's newest notifications, then each new one as it comes
/// (from any node, over the bus). Kept with the room subscriptions, so it
/// ends with the connection and counts towards its limit.
async fn follow_notifications(
    state: &AppState,
    reader: &Reader,
    outbox: &mpsc::Sender<WsMessage>,
    subscriptions: &mut HashMap<RoomId, Subscription>,
) -> Option<WsMessage> {
    let Some(caller) = reader.caller() else {
        let error = AppError::unauthenticated();
        return Some(error_frame(error.code, &error.message, None));
    };
    let topic = notifications::channel(&caller.id);
    if subscriptions.contains_key(&topic) {
        return None;
    }
    // Subscribed before the page is read, so nothing falls in between.
    let mut live = state.bus.subscribe(&topic).await;
    let page = match notifications::list(state, Some(caller), None, None).await {
        Ok(page) => page,
        Err(e) => return Some(error_frame(e.code, &e.message, None)),
    };
    let newest = page.notifications.first().map_or(0, |n| n.id);
    if outbox
        .send(frame_message(&ServerFrame::Notifications { page }))
        .await
        .is_err()
    {
        return None;
    }
    let outbox = outbox.clone();
    let task = tokio::spawn(async move {
        loop {
            match live.recv().await {
                Ok(event) => {
                    let Event::Notification { notification } = &event.event else {
                        continue;
                    };
                    if notification.id <= newest {
                        continue;
                    }
                    let frame = ServerFrame::Notification {
                        notification: notification.clone(),
                    };
                    if outbox.send(frame_message(&frame)).await.is_err() {
                        return;
                    }
                }
                // Missed some: they are stored, and the bell's next page
                // shows them; say nothing rather than guess.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    subscriptions.insert(topic, Subscription(task));
    None
}

/// A feed item as a WebSocket frame. Live events reuse the frame serialised
/// once for all recipients.
fn encode(room: &RoomId, item: FeedItem) -> WsMessage {
    let frame = match item {
        FeedItem::Live(event) => return WsMessage::Text(live_frame(&event)),
        FeedItem::Stored(message) => ServerFrame::Event {
            room: room.clone(),
            event: Event::Message { message: *message },
        },
        FeedItem::Subscribed { last_seq } => ServerFrame::Subscribed {
            room: room.clone(),
            last_seq,
        },
        FeedItem::Reset { first_seq } => ServerFrame::Reset {
            room: room.clone(),
            first_seq,
        },
        // The session ended: the whole connection goes, not just this room
        // (the writer puts the `unauthenticated` error frame before it).
        FeedItem::Closed {
            reason: Closed::SignedOut,
        } => return close_frame(Closed::SignedOut),
        FeedItem::Closed { reason } => {
            let error = AppError::from(reason);
            return error_frame(error.code, &error.message, None);
        }
    };
    frame_message(&frame)
}

/// A live event's `ServerFrame::Event` JSON, as [`RoomEvent::encoded`] keeps
/// it for every recipient.
struct LiveFrame(Utf8Bytes);

/// The frame for a live event, serialised by its first recipient; the rest
/// clone the bytes (a reference count, no copy).
fn live_frame(event: &RoomEvent) -> Utf8Bytes {
    let encode = |event: &RoomEvent| {
        LiveFrame(frame_text(&ServerFrame::Event {
            room: event.room.clone(),
            event: event.event.clone(),
        }))
    };
    match event.encoded(encode) {
        Some(LiveFrame(frame)) => frame.clone(),
        None => encode(event).0,
    }
}

fn frame_message(frame: &ServerFrame) -> WsMessage {
    WsMessage::Text(frame_text(frame))
}

fn frame_text(frame: &ServerFrame) -> Utf8Bytes {
    // Serialising these plain data types cannot fail.
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}

fn error_frame(code: ErrorCode, message: &str, client_msg_id: Option<String>) -> WsMessage {
    frame_message(&ServerFrame::Error {
        code,
        message: message.to_owned(),
        client_msg_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_frame_is_serialised_once_for_every_recipient() {
        let room = RoomId::new("r1");
        let message = crate::render::rendered(crate::render::sample(&room, 1, "**hi**"));
        let event = RoomEvent::new(room.clone(), Event::Message { message });
        let (first, second) = (live_frame(&event), live_frame(&event));
        assert_eq!(
            first.as_str().as_ptr(),
            second.as_str().as_ptr(),
            "the second recipient shares the first one's bytes"
        );
        let parsed: ServerFrame = serde_json::from_str(first.as_str()).unwrap();
        assert_eq!(
            parsed,
            ServerFrame::Event {
                room,
                event: event.event.clone()
            }
        );
    }
}
