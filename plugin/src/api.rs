//! The JSON HTTP API under `/api/rooms` (see docs/API.md).

use crate::chat::{self, Draft, MAX_HISTORY_LIMIT};
use crate::error::AppError;
use crate::host::Caller;
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use protocol::{ErrorCode, Message, RoomId, RoomInfo};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}", get(room_info))
        .route(
            "/api/rooms/{room}/messages",
            get(history).post(post_message),
        )
}

/// `axum::Json`, but a malformed body becomes our error shape (400, or 413
/// when the body is over the request size limit).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(ErrorCode::PayloadTooLarge, "the request body is too large");
        }
        AppError::bad_request(rejection.body_text())
    }
}

/// `axum::extract::Query` with our error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::bad_request(rejection.body_text())
    }
}

/// The signed-in caller, if any, as the host sees them.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeCaller(state.host.caller(&parts.headers).await))
    }
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
/// messages before that seq, newest first.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
struct History {
    messages: Vec<Message>,
    /// The room's newest seq when the page was read.
    last_seq: u64,
}

async fn history(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<History>, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_HISTORY_LIMIT);
    let messages = match (query.after, query.before) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request("give `after` or `before`, not both"))
        }
        (Some(after), None) => state.store.messages_after(&room.id, after, limit).await?,
        (None, before) => {
            let before = before.unwrap_or(u64::MAX);
            state.store.messages_before(&room.id, before, limit).await?
        }
    };
    Ok(Json(History {
        messages,
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
    Json(post): Json<PostBody>,
) -> Result<(StatusCode, Json<Message>), AppError> {
    let message = chat::post(
        &state,
        caller.as_ref(),
        &room,
        Draft {
            body: post.body,
            client_msg_id: post.client_msg_id,
            reply_to: post.reply_to,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(message)))
}
