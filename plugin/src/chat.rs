//! The chat operations every transport shares: find a room the caller may
//! see, post to it, read its history and describe it. HTTP, WebSocket and the
//! no-JavaScript form all call these, so the rules live in one place.

pub use crate::access::{access_to, authorize, room_access, Authorized};
use crate::bus::RoomEvent;
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::notifications;
use crate::render;
use crate::state::AppState;
use crate::store::{Appended, Changed, MessageQuery, NewMessage, Room};
use protocol::{
    Attachment, ErrorCode, Event, Message, PageRef, Participant, Presence, RoomId, RoomInfo,
    TranscriptRef, Unread, UserId,
};

/// Longest accepted `client_msg_id`.
pub const MAX_CLIENT_MSG_ID: usize = 128;
/// Most messages one history request returns.
pub const MAX_HISTORY_LIMIT: usize = 200;
/// Most files the room info lists (newest first).
pub const MAX_LISTED_FILES: usize = 50;
/// Longest room name a macro may declare.
pub const MAX_ROOM_NAME: usize = 100;

/// A message as a client submits it, before validation.
#[derive(Debug, Clone)]
pub struct Draft {
    pub body: String,
    pub client_msg_id: String,
    pub reply_to: Option<u64>,
    /// Files already stored as blobs, shared with this message.
    pub files: Vec<crate::store::StoredFile>,
}

/// Validates and stores a message, then publishes it after COMMIT. A retry
/// with the same `client_msg_id` returns the stored message and publishes
/// nothing new. The message comes back rendered (see [`crate::render`]),
/// the same as readers get it.
pub async fn post(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    draft: Draft,
) -> Result<Message, AppError> {
    post_all(state, caller, vec![(room_id.clone(), draft)])
        .await
        .pop()
        .unwrap_or_else(|| Err(anyhow::anyhow!("a post had no outcome").into()))
}

/// [`post`] for several drafts from one caller, in order, each with its own
/// outcome. They are stored with [`Store::append_all`], so a client sending
/// faster than one commit per message waits for one group commit, not one
/// per message; each is published after COMMIT, in order.
///
/// [`Store::append_all`]: crate::store::Store::append_all
pub async fn post_all(
    state: &AppState,
    caller: Option<&Caller>,
    drafts: Vec<(RoomId, Draft)>,
) -> Vec<Result<Message, AppError>> {
    // Each draft is checked first; only those that pass are stored.
    let mut refusals = Vec::with_capacity(drafts.len());
    let mut checked = Vec::with_capacity(drafts.len());
    for (room_id, draft) in drafts {
        match check_post(state, caller, &room_id, draft).await {
            Ok(new) => {
                checked.push(new);
                refusals.push(None);
            }
            Err(refusal) => refusals.push(Some(refusal)),
        }
    }
    let mut appended = state.store.append_all(checked).await.into_iter();
    let mut outcomes = Vec::with_capacity(refusals.len());
    for refusal in refusals {
        let outcome = match (refusal, appended.next()) {
            (Some(refusal), _) => Err(refusal),
            (None, Some(Ok((message, appended)))) => {
                let message = render::rendered(message);
                if appended == Appended::Created {
                    announce(state, &message).await;
                    notify_about(state, &message);
                }
                Ok(message)
            }
            (None, Some(Err(e))) => Err(e.into()),
            (None, None) => Err(anyhow::anyhow!("the store skipped a message").into()),
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// Everything [`post`] checks before storing: who may post, the draft
/// itself, the reply target, the rate limit.
async fn check_post(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    draft: Draft,
) -> Result<NewMessage, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let access = access_to(state, Some(caller), room_id).await?;
    if access < Access::Write {
        return Err(AppError::forbidden(
            "you may read this room but not post in it (posting needs edit rights on the page)",
        ));
    }
    validate(state, &draft)?;
    if let Some(parent) = draft.reply_to {
        let last_seq = state
            .store
            .room(room_id)
            .await?
            .map_or(0, |room| room.last_seq);
        if parent == 0 || parent > last_seq {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "reply_to names no message in this room",
            ));
        }
    }
    state.post_limiter.admit(&caller.id, "messages")?;

    Ok(NewMessage {
        room: room_id.clone(),
        created_at: state.config.clock.now(),
        author: caller.id.clone(),
        author_name: caller.name.clone(),
        mentions: mentions(&draft.body),
        body: draft.body,
        client_msg_id: draft.client_msg_id,
        reply_to: draft.reply_to,
        files: draft.files,
    })
}

/// The notifications a new message makes (mentions, a reply, a direct
/// message), worked out off the posting path so they never delay it. A
/// page room's plain message makes none and costs nothing here.
fn notify_about(state: &AppState, message: &Message) {
    let page_room = state.room_pages.get(&message.room).is_some();
    if page_room && message.mentions.is_empty() && message.reply_to.is_none() {
        return;
    }
    let (state, message) = (state.clone(), message.clone());
    tokio::spawn(async move {
        match state.store.room(&message.room).await {
            Ok(Some(room)) => notifications::for_message(&state, &room, &message).await,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(room = %message.room, error = ?e, "no notifications: the room could not be read");
            }
        }
    });
}

/// A new message is committed: its day needs publishing and its readers
/// need it.
async fn announce(state: &AppState, message: &Message) {
    state.transcripts.touch(message);
    state
        .bus
        .publish(
            &message.room,
            RoomEvent::new(
                message.room.clone(),
                Event::Message {
                    message: message.clone(),
                },
            ),
        )
        .await;
    tracing::debug!(room = %message.room, seq = message.seq, author = %message.author, "message posted");
}

/// Replaces the body of one of the caller's own messages. The old text is
/// kept as a revision; readers get an `edited` event. Returns the message
/// rendered, as readers get it.
pub async fn edit(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    seq: u64,
    body: String,
) -> Result<Message, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let Authorized { room, access } = authorize(state, Some(caller), room_id).await?;
    let message = find(state, &room, seq).await?;
    if message.author != caller.id || access < Access::Write {
        return Err(AppError::forbidden("only its author may edit a message"));
    }
    validate_body(state, &body)?;
    state
        .edit_limiter
        .admit(&caller.id, "edits and deletions")?;
    let mentions = mentions(&body);
    let changed = state.store.edit(&room.id, seq, body, mentions).await?;
    let message = render::rendered(settle(changed)?);
    state.transcripts.redact(&message);
    publish(
        state,
        &room,
        Event::Edited {
            message: message.clone(),
        },
    )
    .await;
    Ok(message)
}

/// Deletes a message, leaving a tombstone. Its author may, and so may anyone
/// with admin rights on the host page (moderation).
pub async fn delete(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    seq: u64,
) -> Result<Message, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let Authorized { room, access } = authorize(state, Some(caller), room_id).await?;
    let message = find(state, &room, seq).await?;
    let own = message.author == caller.id && access >= Access::Write;
    if !own && access < Access::Admin {
        return Err(AppError::forbidden(
            "only its author or a page admin may delete a message",
        ));
    }
    state
        .edit_limiter
        .admit(&caller.id, "edits and deletions")?;
    // The files' blob keys, read before the tombstone hides them.
    let mut files = Vec::with_capacity(message.attachments.len());
    for attachment in &message.attachments {
        if let Some(file) = state.store.file(&room.id, &attachment.id).await? {
            files.push(file);
        }
    }
    let message = render::rendered(settle(state.store.delete(&room.id, seq).await?)?);
    crate::collector::release(state, &files, message.created_at).await;
    state.transcripts.redact(&message);
    publish(
        state,
        &room,
        Event::Deleted {
            message: message.clone(),
        },
    )
    .await;
    Ok(message)
}

/// Records a presence heartbeat (`None`: leaving) and tells the room when
/// what others see changes.
pub async fn set_presence(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    status: Option<Presence>,
) -> Result<(), AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let room = authorize(state, Some(caller), room_id).await?.room;
    state
        .presence_limiter
        .admit(&caller.id, "presence changes")?;
    if let Some(shown) = state
        .presence
        .beat(&room.id, &caller.id, &caller.name, status)
    {
        let event = crate::presence::event(&room.id, &caller.id, &caller.name, shown);
        state.bus.publish(&room.id, event).await;
    }
    // Every beat, not just changes: it keeps this user alive on other nodes.
    let beat = crate::gossip::Heartbeat {
        room: room.id,
        user: caller.id.clone(),
        name: caller.name.clone(),
        status,
    };
    state.gossip.share_heartbeat(&beat).await;
    Ok(())
}

/// Tells the room the caller is typing. Rate-limited; invisible users type
/// unseen.
pub async fn typing(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<(), AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let Authorized { room, access } = authorize(state, Some(caller), room_id).await?;
    if access < Access::Write {
        return Err(AppError::forbidden(
            "you may read this room but not post in it",
        ));
    }
    state.typing_limiter.admit(&caller.id, "typing notices")?;
    if state.presence.status(&room.id, &caller.id) == Some(Presence::Invisible) {
        return Ok(());
    }
    let event = Event::Typing {
        user: caller.id.clone(),
        name: caller.name.clone(),
    };
    publish(state, &room, event).await;
    Ok(())
}

/// Moves the caller's read mark forward to `seq` (clamped to the newest
/// message) and returns what is still unread.
pub async fn mark_read(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    seq: u64,
) -> Result<Unread, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let room = authorize(state, Some(caller), room_id).await?.room;
    state.read_limiter.admit(&caller.id, "read marks")?;
    let mark = state
        .store
        .mark_read(&room.id, &caller.id, seq.min(room.last_seq))
        .await?;
    Ok(Unread::new(mark, room.last_seq))
}

/// What the caller has not read in the room yet.
pub async fn unread(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Unread, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let room = authorize(state, Some(caller), room_id).await?.room;
    let mark = state.store.last_read(&room.id, &caller.id).await?;
    Ok(Unread::new(mark, room.last_seq))
}

/// One message of a room the caller may read, or 404.
pub async fn find(state: &AppState, room: &Room, seq: u64) -> Result<Message, AppError> {
    state
        .store
        .message(&room.id, seq)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such message"))
}

fn settle(changed: Changed) -> Result<Message, AppError> {
    match changed {
        Changed::Done(message) => Ok(*message),
        Changed::Missing => Err(AppError::new(ErrorCode::NotFound, "no such message")),
        Changed::Deleted => Err(AppError::new(
            ErrorCode::Conflict,
            "the message was deleted and cannot change",
        )),
    }
}

async fn publish(state: &AppState, room: &Room, event: Event) {
    state
        .bus
        .publish(&room.id, RoomEvent::new(room.id.clone(), event))
        .await;
}

fn validate(state: &AppState, draft: &Draft) -> Result<(), AppError> {
    validate_body(state, &draft.body)?;
    if draft.client_msg_id.is_empty() || draft.client_msg_id.len() > MAX_CLIENT_MSG_ID {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("client_msg_id must be 1 to {MAX_CLIENT_MSG_ID} bytes"),
        ));
    }
    Ok(())
}

fn validate_body(state: &AppState, body: &str) -> Result<(), AppError> {
    if body.len() > state.config.max_body_bytes {
        return Err(AppError::new(
            ErrorCode::MessageTooLarge,
            format!(
                "a message may hold at most {} bytes; this one has {}",
                state.config.max_body_bytes,
                body.len()
            ),
        ));
    }
    if body.trim().is_empty() {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "the message is empty",
        ));
    }
    Ok(())
}

/// The distinct `@username`s in a body, in order of first appearance. A
/// mention starts at the beginning or after a character that cannot be part of
/// a name (so `a@b.c` is not a mention) and runs over letters, digits, `_`,
/// `-` and `.` (a trailing `.` is punctuation, not part of the name).
pub fn mentions(body: &str) -> Vec<UserId> {
    let mut found: Vec<UserId> = Vec::new();
    let mut previous: Option<char> = None;
    for (index, c) in body.char_indices() {
        let starts = c == '@' && !previous.is_some_and(|p| p.is_alphanumeric() || p == '_');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &body[index + 1..];
        let len = rest
            .find(|ch: char| !(ch.is_alphanumeric() || matches!(ch, '_' | '-' | '.')))
            .unwrap_or(rest.len());
        let name = rest[..len].trim_end_matches('.');
        if !name.is_empty() && !found.iter().any(|u| u.0 == name) {
            found.push(UserId::new(name));
        }
    }
    found
}

/// Everything the popup's info panel and the macro table show.
pub async fn room_info(state: &AppState, room: &Room) -> Result<RoomInfo, AppError> {
    let page = match &room.page {
        Some(page) => state.host.page(page).await?.map(|found| PageRef {
            id: page.clone(),
            title: found.title,
            url: found.url,
        }),
        None => None,
    };
    let posters = state.store.posters(&room.id).await?;
    Ok(RoomInfo {
        id: room.id.clone(),
        name: room.name.clone(),
        page,
        topic: room.topic.clone(),
        last_activity: room.last_activity,
        participants: posters
            .into_iter()
            .map(|p| Participant {
                id: p.id,
                name: p.name,
                presence: None,
                last_seen: Some(p.last_posted),
            })
            .collect(),
        present: state.presence.present(&room.id),
        files: state
            .store
            .files(&room.id, MAX_LISTED_FILES)
            .await?
            .into_iter()
            .map(|entry| Attachment {
                uploaded_by: Some(entry.uploaded_by),
                uploaded_at: Some(entry.uploaded_at),
                ..entry.file.attachment(&room.id)
            })
            .collect(),
        transcripts: transcripts(state, room).await?,
        last_seq: room.last_seq,
    })
}

/// The room's transcripts, newest day first, each linked where the host
/// says it lives now (a moved host page moves them), or where it was
/// written when the host cannot say.
async fn transcripts(state: &AppState, room: &Room) -> Result<Vec<TranscriptRef>, AppError> {
    let mut transcripts = state.store.transcripts(&room.id).await?;
    let Some(page) = room.page.as_ref().filter(|_| !transcripts.is_empty()) else {
        return Ok(transcripts);
    };
    let children: Vec<Vec<String>> = transcripts
        .iter()
        .map(|t| transcript::day_segments(&room.name, t.date))
        .collect();
    if let Some(links) = state.host.child_links(page, &children).await? {
        for (transcript, link) in transcripts.iter_mut().zip(links) {
            transcript.path = link.path;
            transcript.url = link.url;
        }
    }
    Ok(transcripts)
}

/// The newest `limit` messages, oldest first (what a freshly opened room shows).
pub async fn latest(state: &AppState, room: &Room, limit: usize) -> Result<Vec<Message>, AppError> {
    let mut messages = state
        .store
        .messages(
            &room.id,
            MessageQuery::Before(room.last_seq.saturating_add(1)),
            limit,
        )
        .await?;
    messages.reverse();
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<String> {
        mentions(body).into_iter().map(|u| u.0).collect()
    }

    #[test]
    fn mentions_are_found_once_each() {
        assert_eq!(names("@alice hi @bob and @alice."), vec!["alice", "bob"]);
        assert_eq!(names("(@carol)"), vec!["carol"]);
        assert_eq!(names("@dan.smith, ok"), vec!["dan.smith"]);
    }

    #[test]
    fn email_addresses_and_lone_ats_are_not_mentions() {
        assert!(names("mail a@b.c or @ or @@").is_empty());
    }
}
