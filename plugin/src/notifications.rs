//! Notifications (seed 004): persisted per user until they read or dismiss
//! them (or act on what they announce), delivered live over the user's own
//! channel and listed on connect. Bounded: a per-user cap (the oldest go)
//! and an expiry, so a flood or a long absence cannot grow them without
//! limit.
//!
//! The user's channel is a bus topic of its own ([`channel`]), so a
//! notification made on one node reaches the user's connections on every
//! node.

use crate::access;
use crate::bus::RoomEvent;
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::rooms;
use crate::state::AppState;
use crate::store::{NewNotification, Room, StoredNotification};
use chrono::{DateTime, Duration, Utc};
use protocol::{
    Event, Message, Notification, NotificationBody, Notifications, Profile, RoomId, RoomKind,
    UserId,
};

/// Most notifications one page lists.
pub const PAGE: usize = 50;
/// Characters of a message quoted in its notification.
const EXCERPT: usize = 140;

/// The bus topic of `user`'s own events. Room ids are hex, so a `~` can
/// never name a room.
pub fn channel(user: &UserId) -> RoomId {
    RoomId::new(format!("~{user}"))
}

/// Stores a notification for `user` and, if it is visible now, sends it to
/// their open connections.
pub async fn notify(
    state: &AppState,
    user: &UserId,
    body: NotificationBody,
    room: Option<&RoomId>,
    invitation: Option<u64>,
    visible_at: Option<DateTime<Utc>>,
) -> Result<(), AppError> {
    let now = state.config.clock.now();
    let payload = serde_json::to_string(&body).map_err(anyhow::Error::from)?;
    let stored = state
        .store
        .notify(
            NewNotification {
                user: user.clone(),
                kind: body.kind().to_owned(),
                room: room.cloned(),
                invitation,
                payload,
                created_at: now,
                visible_at: visible_at.unwrap_or(now).max(now),
            },
            state.config.notification_cap,
        )
        .await?;
    if stored.visible_at <= now {
        if let Some(notification) = shown(stored) {
            let topic = channel(user);
            let event = RoomEvent::new(topic.clone(), Event::Notification { notification });
            state.bus.publish(&topic, event).await;
        }
    }
    Ok(())
}

/// A stored notification as its user sees it; `None` for a payload this
/// version cannot read (written by a newer one).
fn shown(stored: StoredNotification) -> Option<Notification> {
    match serde_json::from_str::<NotificationBody>(&stored.payload) {
        Ok(body) => Some(Notification {
            id: stored.id,
            created_at: stored.created_at,
            read: stored.read,
            body,
        }),
        Err(e) => {
            tracing::warn!(id = stored.id, error = %e, "skipping a notification this version cannot read");
            None
        }
    }
}

/// The oldest a notification may be and still be shown.
fn cutoff(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(i64::from(state.config.notification_days))
}

/// A page of the caller's notifications, newest first, and the bell's count.
pub async fn list(
    state: &AppState,
    caller: Option<&Caller>,
    before: Option<u64>,
    limit: Option<usize>,
) -> Result<Notifications, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let now = state.config.clock.now();
    let limit = limit.unwrap_or(PAGE).clamp(1, PAGE);
    let after = cutoff(state, now);
    let stored = state
        .store
        .notifications(&caller.id, now, after, before, limit + 1)
        .await?;
    let more = stored.len() > limit;
    // A notification about a page room the caller may no longer read
    // (their access to its page was taken away) would still tell its name
    // and a message's excerpt: such ones are left out (and kept, should
    // access come back). Each room is asked once per page.
    let mut readable: std::collections::HashMap<RoomId, bool> = std::collections::HashMap::new();
    let mut notifications = Vec::with_capacity(limit.min(stored.len()));
    for notification in stored.into_iter().take(limit) {
        if let Some(room) = &notification.room {
            let may = match readable.get(room) {
                Some(may) => *may,
                None => {
                    // Group and direct rooms: the notification itself is
                    // the grant (an invitation), or the caller is in them.
                    let may = match state.store.room(room).await? {
                        None => false,
                        Some(found) if found.kind != RoomKind::Page => true,
                        Some(found) => {
                            access::room_access(state, Some(caller), &found).await? >= Access::Read
                        }
                    };
                    readable.insert(room.clone(), may);
                    may
                }
            };
            if !may {
                continue;
            }
        }
        notifications.extend(shown(notification));
    }
    let next = more.then(|| notifications.last().map(|n| n.id)).flatten();
    Ok(Notifications {
        unread: state
            .store
            .unread_notifications(&caller.id, now, after)
            .await?,
        notifications,
        next,
    })
}

/// The bell's count alone (one count query), for the header every wiki
/// page shows.
pub async fn unread(state: &AppState, caller: &Caller) -> Result<u64, AppError> {
    let now = state.config.clock.now();
    Ok(state
        .store
        .unread_notifications(&caller.id, now, cutoff(state, now))
        .await?)
}

/// [`list`] for a long-poll: answers as soon as the caller has a
/// notification newer than `after`, or after `wait` with the page as it is.
pub async fn wait_for_news(
    state: &AppState,
    caller: Option<&Caller>,
    after: u64,
    wait: std::time::Duration,
) -> Result<Notifications, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    // Subscribed before the first read, so nothing falls in between.
    let mut live = state.bus.subscribe(&channel(&caller.id)).await;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let page = list(state, Some(caller), None, None).await?;
        let news = page.notifications.first().is_some_and(|n| n.id > after);
        if news || tokio::time::Instant::now() >= deadline {
            return Ok(page);
        }
        // Any event (or a lag) is a reason to look again; the deadline ends it.
        let _ = tokio::time::timeout_at(deadline, live.recv()).await;
    }
}

/// Marks the caller's notifications read (`ids` empty: all of them).
pub async fn read(state: &AppState, caller: Option<&Caller>, ids: &[u64]) -> Result<u64, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    Ok(state.store.read_notifications(&caller.id, ids).await?)
}

/// Removes the caller's notifications for good.
pub async fn dismiss(
    state: &AppState,
    caller: Option<&Caller>,
    ids: &[u64],
) -> Result<u64, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    Ok(state.store.dismiss_notifications(&caller.id, ids).await?)
}

/// Asks `user` into a room now (seed 001's call): they must be able to read it.
pub async fn call(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    user: &UserId,
) -> Result<(), AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let authorized = access::authorize(state, Some(caller), room_id).await?;
    if authorized.access < Access::Write {
        return Err(AppError::forbidden(
            "calling people into a room needs the right to post in it",
        ));
    }
    if !may_read(state, user, &authorized.room).await? {
        return Err(AppError::new(
            protocol::ErrorCode::NotFound,
            "no such user in this room's readers",
        ));
    }
    state.invite_limiter.admit(&caller.id, "calls")?;
    notify(
        state,
        user,
        NotificationBody::Call {
            room: rooms::card(&authorized.room),
            by: profile(caller),
        },
        Some(room_id),
        None,
        None,
    )
    .await
}

fn profile(caller: &Caller) -> Profile {
    Profile {
        id: caller.id.clone(),
        name: caller.name.clone(),
    }
}

/// Whether `user` exists and may read `room` now.
async fn may_read(state: &AppState, user: &UserId, room: &Room) -> Result<bool, AppError> {
    let Some(found) = state.host.user(user).await? else {
        return Ok(false);
    };
    let as_them = Caller {
        id: found.id,
        name: found.name,
        csrf_token: None,
    };
    Ok(access::room_access(state, Some(&as_them), room).await? >= Access::Read)
}

/// The notifications a new message makes: mentions of real users who may
/// read the room, a reply to someone else's message, and a message in a
/// direct room for the other person; never for the author, never from a
/// room the recipient muted. Runs after the message is committed and
/// published, so it never delays delivery; a failure is logged.
pub async fn for_message(state: &AppState, room: &Room, message: &Message) {
    if let Err(e) = message_notifications(state, room, message).await {
        tracing::warn!(room = %room.id, seq = message.seq, error = ?e, "notifications for a message failed");
    }
}

/// Why a message notifies someone.
#[derive(Clone, Copy)]
enum Reason {
    Direct,
    Reply,
    Mention,
}

async fn message_notifications(
    state: &AppState,
    room: &Room,
    message: &Message,
) -> Result<(), AppError> {
    // Who may be told, and why, in the order a person is told once: the
    // direct room's other person, the author of the message replied to,
    // then those mentioned. A message names few people (the parser keeps
    // distinct names); each is checked against the host, so a made-up name
    // notifies nobody.
    let mut candidates: Vec<(UserId, Reason)> = Vec::new();
    if let Some(other) = rooms::direct_partner(room, &message.author) {
        candidates.push((other, Reason::Direct));
    }
    if let Some(parent) = message.reply_to {
        if let Some(parent) = state.store.message(&room.id, parent).await? {
            candidates.push((parent.author, Reason::Reply));
        }
    }
    let mentioned = message.mentions.iter().take(20);
    candidates.extend(mentioned.map(|user| (user.clone(), Reason::Mention)));

    let by = Profile {
        id: message.author.clone(),
        name: message.author_name.clone(),
    };
    let excerpt: String = message.body.chars().take(EXCERPT).collect();
    let card = rooms::card(room);
    let mut told: Vec<UserId> = vec![message.author.clone()];
    for (user, reason) in candidates {
        if told.contains(&user) {
            continue;
        }
        let muted = state
            .store
            .member(&room.id, &user)
            .await?
            .is_some_and(|member| member.muted);
        if muted || !may_read(state, &user, room).await? {
            continue;
        }
        let (room, seq, by, excerpt) = (card.clone(), message.seq, by.clone(), excerpt.clone());
        let body = match reason {
            Reason::Direct => NotificationBody::Direct {
                room,
                seq,
                by,
                excerpt,
            },
            Reason::Reply => NotificationBody::Reply {
                room,
                seq,
                by,
                excerpt,
            },
            Reason::Mention => NotificationBody::Mention {
                room,
                seq,
                by,
                excerpt,
            },
        };
        notify(state, &user, body, Some(&card.id), None, None).await?;
        told.push(user);
    }
    Ok(())
}
