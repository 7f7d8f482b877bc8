//! The JSON HTTP API for rooms with people (see docs/API.md, "Rooms with
//! people"): group rooms, direct chats, members and roles, invitations,
//! notifications, "my rooms", the directory and the person picker. The
//! rules live in [`members`], [`invitations`] and [`notifications`]; these
//! handlers only translate HTTP.

use crate::direct;
use crate::error::AppError;
use crate::extract::{Json, MaybeCaller, Query, SameOrigin};
use crate::feed::Reader;
use crate::invitations::{self, InviteDraft};
use crate::members::{self, GroupDraft, SettingsDraft};
use crate::notifications;
use crate::rooms;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use protocol::{
    ErrorCode, Invitation, MemberInfo, MyRoom, Notifications, Profile, Role, RoomCard, RoomId,
    UserId,
};
use serde::{Deserialize, Serialize};

/// Most users the person picker suggests.
pub const MAX_SUGGESTIONS: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", post(create_group))
        .route("/api/rooms/{room}/settings", put(update_settings))
        .route("/api/rooms/{room}/join", post(join))
        .route("/api/rooms/{room}/leave", post(leave))
        .route("/api/rooms/{room}/mute", put(mute))
        .route("/api/rooms/{room}/members", get(list_members))
        .route(
            "/api/rooms/{room}/members/{user}",
            put(set_role).delete(remove_member),
        )
        .route(
            "/api/rooms/{room}/invitations",
            get(room_invitations).post(invite),
        )
        .route("/api/rooms/{room}/call", post(call))
        .route("/api/direct/{user}", post(open_direct))
        .route("/api/me/rooms", get(my_rooms))
        .route("/api/directory", get(directory))
        .route("/api/users", get(find_users))
        .route("/api/invitations", get(my_invitations))
        .route("/api/invitations/{id}", get(invitation))
        .route("/api/invitations/{id}/accept", post(accept))
        .route("/api/invitations/{id}/decline", post(decline))
        .route("/api/invitations/{id}/cancel", post(cancel))
        .route("/api/invitations/{id}/calendar.ics", get(calendar))
        .route("/api/notifications", get(list_notifications))
        .route("/api/notifications/read", post(read_notifications))
        .route("/api/notifications/dismiss", post(dismiss_notifications))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    is_public: bool,
}

async fn create_group(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    _: SameOrigin,
    Json(body): Json<NewGroup>,
) -> Result<(StatusCode, Json<RoomCard>), AppError> {
    let room = members::create_group(
        &state,
        caller.as_ref(),
        GroupDraft {
            name: body.name,
            alias: body.alias,
            topic: body.topic,
            is_public: body.is_public,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rooms::card(&room))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSettings {
    name: Option<String>,
    topic: Option<String>,
    alias: Option<String>,
    is_public: Option<bool>,
    avatar: Option<String>,
    transcripts_page: Option<String>,
}

async fn update_settings(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<NewSettings>,
) -> Result<Json<RoomCard>, AppError> {
    let room = members::update_settings(
        &state,
        caller.as_ref(),
        &room,
        SettingsDraft {
            name: body.name,
            topic: body.topic,
            alias: body.alias,
            is_public: body.is_public,
            avatar: body.avatar,
            transcripts_page: body.transcripts_page,
        },
    )
    .await?;
    Ok(Json(rooms::card(&room)))
}

async fn join(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
) -> Result<StatusCode, AppError> {
    members::join(&state, caller.as_ref(), &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn leave(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
) -> Result<StatusCode, AppError> {
    members::leave(&state, caller.as_ref(), &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mute {
    muted: bool,
}

async fn mute(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<Mute>,
) -> Result<StatusCode, AppError> {
    members::set_muted(&state, caller.as_ref(), &room, body.muted).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_members(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
) -> Result<Json<Vec<MemberInfo>>, AppError> {
    Ok(Json(
        members::members(&state, caller.as_ref(), &room).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    role: Role,
}

async fn set_role(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, user)): Path<(RoomId, UserId)>,
    _: SameOrigin,
    Json(body): Json<NewRole>,
) -> Result<StatusCode, AppError> {
    members::set_role(&state, caller.as_ref(), &room, &user, body.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, user)): Path<(RoomId, UserId)>,
    _: SameOrigin,
) -> Result<StatusCode, AppError> {
    members::remove(&state, caller.as_ref(), &room, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvitation {
    user: UserId,
    #[serde(default)]
    comment: String,
    ttl_secs: Option<u64>,
    starts_at: Option<DateTime<Utc>>,
}

async fn invite(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<NewInvitation>,
) -> Result<(StatusCode, Json<Invitation>), AppError> {
    let invited = invitations::invite(
        &state,
        caller.as_ref(),
        &room,
        &body.user,
        InviteDraft {
            comment: body.comment,
            ttl_secs: body.ttl_secs,
            starts_at: body.starts_at,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(invited.invitation)))
}

async fn room_invitations(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
) -> Result<Json<Vec<Invitation>>, AppError> {
    Ok(Json(
        invitations::of_room(&state, caller.as_ref(), &room).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    user: UserId,
}

async fn call(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    Json(body): Json<Call>,
) -> Result<StatusCode, AppError> {
    notifications::call(&state, caller.as_ref(), &room, &body.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn open_direct(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
    _: SameOrigin,
) -> Result<(StatusCode, Json<RoomCard>), AppError> {
    let direct = direct::open_direct(&state, caller.as_ref(), &user).await?;
    let status = if direct.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(rooms::card(&direct.room))))
}

async fn my_rooms(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
) -> Result<Json<Vec<MyRoom>>, AppError> {
    Ok(Json(members::my_rooms(&state, caller.as_ref()).await?))
}

#[derive(Debug, Deserialize)]
struct DirectoryQuery {
    #[serde(default)]
    q: String,
    /// The `next` of the previous page.
    after: Option<String>,
}

#[derive(Debug, Serialize)]
struct Directory {
    rooms: Vec<RoomCard>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

async fn directory(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<DirectoryQuery>,
) -> Result<Json<Directory>, AppError> {
    let after = query
        .after
        .as_deref()
        .map(members::parse_directory_cursor)
        .transpose()?;
    let (rooms, next) = members::directory(&state, caller.as_ref(), &query.q, after).await?;
    Ok(Json(Directory {
        rooms,
        next: next.as_ref().map(members::directory_cursor),
    }))
}

#[derive(Debug, Deserialize)]
struct UsersQuery {
    #[serde(default)]
    q: String,
}

/// The person picker: signed-in callers only, at most [`MAX_SUGGESTIONS`].
async fn find_users(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<UsersQuery>,
) -> Result<Json<Vec<Profile>>, AppError> {
    caller.ok_or_else(AppError::unauthenticated)?;
    let prefix: String = query.q.trim().chars().take(64).collect();
    if prefix.is_empty() {
        return Ok(Json(Vec::new()));
    }
    Ok(Json(state.host.find_users(&prefix, MAX_SUGGESTIONS).await?))
}

async fn my_invitations(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
) -> Result<Json<Vec<Invitation>>, AppError> {
    Ok(Json(invitations::pending(&state, caller.as_ref()).await?))
}

async fn invitation(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<u64>,
) -> Result<Json<Invitation>, AppError> {
    Ok(Json(invitations::get(&state, caller.as_ref(), id).await?))
}

async fn accept(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<u64>,
    _: SameOrigin,
) -> Result<Json<RoomCard>, AppError> {
    let room = invitations::accept(&state, caller.as_ref(), id).await?;
    Ok(Json(rooms::card(&room)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decline {
    /// Said to the inviter; absent or empty declines silently.
    message: Option<String>,
}

async fn decline(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<u64>,
    _: SameOrigin,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    // The body is optional: none declines silently. One that is there must
    // be JSON, as on every other write: a cross-site form cannot send that
    // without a preflight, so it cannot decline in the invitee's name.
    let body: Decline = if body.is_empty() {
        Decline::default()
    } else {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return Err(AppError::bad_request(
                "send the decline as application/json, or with no body",
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("the body is not a decline: {e}")))?
    };
    let message = body.message;
    invitations::decline(&state, caller.as_ref(), id, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn cancel(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<u64>,
    _: SameOrigin,
) -> Result<StatusCode, AppError> {
    invitations::cancel(&state, caller.as_ref(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The site's address as the request reached it (the wiki's edge has
/// already checked `Host` against its allow-list).
fn site(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

async fn calendar(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let ics = invitations::calendar(&state, caller.as_ref(), id, &site(&headers)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"invitation.ics\"",
            ),
        ],
        ics,
    )
        .into_response())
}

/// `GET /api/notifications` parameters: a page (`before`, `limit`), or a
/// long-poll (`after` the newest id the client has, `wait` seconds).
#[derive(Debug, Deserialize)]
struct NotificationsQuery {
    before: Option<u64>,
    limit: Option<usize>,
    after: Option<u64>,
    #[serde(default)]
    wait: u64,
}

/// The longest a notification long-poll is held.
pub const MAX_WAIT_SECS: u64 = 60;

async fn list_notifications(
    State(state): State<AppState>,
    mut reader: Reader,
    Query(query): Query<NotificationsQuery>,
) -> Result<Json<Notifications>, AppError> {
    if query.wait == 0 {
        let page = notifications::list(&state, reader.caller(), query.before, query.limit);
        return Ok(Json(page.await?));
    }
    if query.wait > MAX_WAIT_SECS {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("wait may be at most {MAX_WAIT_SECS} seconds"),
        ));
    }
    let after = query.after.unwrap_or(0);
    let wait = std::time::Duration::from_secs(query.wait);
    let page = notifications::wait_for_news(&state, reader.caller(), after, wait).await?;
    // Held for a while: a session that ended meanwhile gets nothing.
    reader.recheck(&state, None).await?;
    Ok(Json(page))
}

/// Which notifications; empty or absent means all of the caller's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ids {
    #[serde(default)]
    ids: Vec<u64>,
}

#[derive(Debug, Serialize)]
struct Changed {
    changed: u64,
}

/// Most ids one request names.
const MAX_IDS: usize = 500;

fn checked(ids: &[u64]) -> Result<(), AppError> {
    if ids.len() > MAX_IDS {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("at most {MAX_IDS} ids at once"),
        ));
    }
    Ok(())
}

async fn read_notifications(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    _: SameOrigin,
    Json(body): Json<Ids>,
) -> Result<Json<Changed>, AppError> {
    checked(&body.ids)?;
    let changed = notifications::read(&state, caller.as_ref(), &body.ids).await?;
    Ok(Json(Changed { changed }))
}

async fn dismiss_notifications(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    _: SameOrigin,
    Json(body): Json<Ids>,
) -> Result<Json<Changed>, AppError> {
    checked(&body.ids)?;
    let changed = notifications::dismiss(&state, caller.as_ref(), &body.ids).await?;
    Ok(Json(Changed { changed }))
}
