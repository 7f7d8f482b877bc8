//! The JSON HTTP API under `/api/rooms` (see docs/API.md). Every message
//! it answers with goes through [`render`], so it carries its `html`.

use crate::chat::{self, Draft, MAX_HISTORY_LIMIT};
use crate::error::AppError;
use crate::extract::{Json, MaybeCaller, Query, SameOrigin};
use crate::history::Range;
use crate::render;
use crate::state::AppState;
use crate::store::{MessageQuery, Revision};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use protocol::{History, Message, Presence, RoomId, RoomInfo, Thread, Unread};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}", get(room_info))
        .route(
            "/api/rooms/{room}/messages",
            get(history).post(post_message),
        )
        .route(
            "/api/rooms/{room}/messages/{seq}",
            get(message_in_context)
                .patch(edit_message)
                .delete(delete_message),
        )
        .route("/api/rooms/{room}/messages/{seq}/thread", get(thread))
        .route("/api/rooms/{room}/messages/{seq}/revisions", get(revisions))
        .route("/api/rooms/{room}/read", get(unread).post(mark_read))
        .route("/api/rooms/{room}/commands", post(command))
        .route("/api/rooms/{room}/presence", post(presence))
        .route("/api/rooms/{room}/typing", post(typing))
}

async fn room_info(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
) -> Result<Json<RoomInfo>, AppError> {
    let authorized = chat::authorize(&state, caller.as_ref(), &room).await?;
    Ok(Json(chat::room_info(&state, &authorized.room).await?))
}

/// `GET /api/rooms/{room}/messages` parameters. With `after`: the messages
/// after that seq, oldest first. With `before` (or neither): the newest
/// messages before that seq, newest first. `range` limits the latter to the
/// last day, week, month or three months.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
    range: Option<Range>,
}

async fn history(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<History>, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_HISTORY_LIMIT);
    let messages = match (query.after, query.before, query.range) {
        (Some(_), Some(_), _) => {
            return Err(AppError::bad_request("give `after` or `before`, not both"))
        }
        (Some(_), None, Some(_)) => {
            return Err(AppError::bad_request(
                "`range` pages backwards: use it with `before`, not `after`",
            ))
        }
        (Some(after), None, None) => {
            state
                .store
                .messages(&room.id, MessageQuery::After(after), limit)
                .await?
        }
        (None, before, None) => {
            let before = before.unwrap_or(u64::MAX);
            state
                .store
                .messages(&room.id, MessageQuery::Before(before), limit)
                .await?
        }
        (None, before, Some(range)) => {
            let since = state.config.clock.now() - range.length();
            let before = before.unwrap_or(u64::MAX);
            state
                .store
                .messages(&room.id, MessageQuery::Since { since, before }, limit)
                .await?
        }
    };
    Ok(Json(History {
        messages: render::all(messages),
        last_seq: room.last_seq,
    }))
}

/// `POST /api/rooms/{room}/messages` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    body: String,
    client_msg_id: String,
    #[serde(default)]
    reply_to: Option<u64>,
}

async fn post_message(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(post): Json<PostBody>,
) -> Result<(StatusCode, Json<Message>), AppError> {
    crate::commands::refuse(&room, &post.body)?;
    let message = chat::post(
        &state,
        caller.as_ref(),
        &room,
        Draft {
            body: post.body,
            client_msg_id: post.client_msg_id,
            reply_to: post.reply_to,
            files: Vec::new(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// `POST /api/rooms/{room}/commands` body: a command line (or text, which
/// is posted; `//` at its start posts the rest).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    text: String,
    #[serde(default)]
    client_msg_id: Option<String>,
}

/// What a command did: the message it posted, or what it says back.
#[derive(Debug, Serialize)]
struct CommandAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    said: Option<String>,
}

async fn command(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<CommandBody>,
) -> Result<Json<CommandAnswer>, AppError> {
    let draft = Draft {
        body: body.text,
        client_msg_id: body
            .client_msg_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        reply_to: None,
        files: Vec::new(),
    };
    Ok(Json(
        match crate::commands::run(&state, caller.as_ref(), &room, draft).await? {
            crate::commands::Outcome::Posted(message) => CommandAnswer {
                message: Some(*message),
                said: None,
            },
            crate::commands::Outcome::Said(said) => CommandAnswer {
                message: None,
                said: Some(said),
            },
        },
    ))
}

/// `GET /api/rooms/{room}/messages/{seq}?context=N`: a message with up to N
/// neighbours on each side (the permalink view).
#[derive(Debug, Deserialize)]
struct ContextQuery {
    context: Option<usize>,
}

#[derive(Debug, Serialize)]
struct InContext {
    message: Message,
    /// Older neighbours, oldest first.
    before: Vec<Message>,
    /// Newer neighbours, oldest first.
    after: Vec<Message>,
}

/// Most neighbours a permalink request returns on each side.
const MAX_CONTEXT: usize = 50;

async fn message_in_context(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
    Query(query): Query<ContextQuery>,
) -> Result<Json<InContext>, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    let message = chat::find(&state, &room, seq).await?;
    let context = query.context.unwrap_or(0).min(MAX_CONTEXT);
    let (mut before, after) = if context == 0 {
        (Vec::new(), Vec::new())
    } else {
        (
            state
                .store
                .messages(&room.id, MessageQuery::Before(seq), context)
                .await?,
            state
                .store
                .messages(&room.id, MessageQuery::After(seq), context)
                .await?,
        )
    };
    before.reverse();
    Ok(Json(InContext {
        message: render::rendered(message),
        before: render::all(before),
        after: render::all(after),
    }))
}

/// `PATCH /api/rooms/{room}/messages/{seq}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    body: String,
}

async fn edit_message(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
    _: SameOrigin,
    Json(edit): Json<EditBody>,
) -> Result<Json<Message>, AppError> {
    let edited = chat::edit(&state, caller.as_ref(), &room, seq, edit.body).await?;
    Ok(Json(edited))
}

async fn delete_message(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
    _: SameOrigin,
) -> Result<Json<Message>, AppError> {
    let deleted = chat::delete(&state, caller.as_ref(), &room, seq).await?;
    Ok(Json(deleted))
}

async fn thread(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
) -> Result<Json<Thread>, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    let parent = chat::find(&state, &room, seq).await?;
    let replies = state
        .store
        .messages(&room.id, MessageQuery::Replies(seq), MAX_HISTORY_LIMIT)
        .await?;
    Ok(Json(Thread {
        parent: render::rendered(parent),
        replies: render::all(replies),
    }))
}

#[derive(Debug, Serialize)]
struct Revisions {
    revisions: Vec<Revision>,
}

async fn revisions(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
) -> Result<Json<Revisions>, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    chat::find(&state, &room, seq).await?;
    let revisions = state.store.revisions(&room.id, seq).await?;
    Ok(Json(Revisions { revisions }))
}

async fn unread(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
) -> Result<Json<Unread>, AppError> {
    Ok(Json(chat::unread(&state, caller.as_ref(), &room).await?))
}

/// `POST /api/rooms/{room}/read` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadBody {
    seq: u64,
}

async fn mark_read(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(read): Json<ReadBody>,
) -> Result<Json<Unread>, AppError> {
    Ok(Json(
        chat::mark_read(&state, caller.as_ref(), &room, read.seq).await?,
    ))
}

/// `POST /api/rooms/{room}/presence` body: `{"status": "away"}`, or
/// `{"status": null}` to leave.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    status: Option<Presence>,
}

async fn presence(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<PresenceBody>,
) -> Result<StatusCode, AppError> {
    chat::set_presence(&state, caller.as_ref(), &room, body.status).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn typing(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
) -> Result<StatusCode, AppError> {
    chat::typing(&state, caller.as_ref(), &room).await?;
    Ok(StatusCode::NO_CONTENT)
}
