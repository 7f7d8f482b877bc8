//! The `/chats` page and its forms: rooms with people without JavaScript.
//!
//! `GET /chats` shows a signed-in person everything that is theirs (pending
//! invitations, their rooms with unread counts, new chat, new room, the
//! directory, notifications; [`chats_view`] draws it). Every action is a
//! plain form posted under `/chats/...`; each passes [`nojs::gate`] (same
//! origin, signed in, CSRF token) and then calls the operation the JSON API
//! calls ([`members`], [`invitations`], [`notifications`]), so both share
//! one set of rules.
//!
//! After a post that worked the browser is sent on with a 303 (back to
//! `/chats`, or into the room); one that did not gets the page again with
//! the reason as a notice and the error's status (401 sends to sign-in), so
//! nothing is silently lost and no JSON error reaches the browser.

use crate::chats_view::{self, ChatsView};
use crate::direct;
use crate::error::AppError;
use crate::extract::{MaybeCaller, Query};
use crate::host::Caller;
use crate::invitations;
use crate::members::{self, GroupDraft};
use crate::nojs;
use crate::notifications;
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use protocol::{RoomId, UserId};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chats", get(show))
        .route("/chats/direct", post(open_direct))
        .route("/chats/rooms", post(create_room))
        .route("/chats/rooms/{room}/join", post(join))
        .route("/chats/rooms/{room}/leave", post(leave))
        .route("/chats/rooms/{room}/mute", post(mute))
        .route("/chats/invitations/{id}/accept", post(accept))
        .route("/chats/invitations/{id}/decline", post(decline))
        .route("/chats/notifications/read", post(read_all))
        .route("/chats/notifications/{id}/dismiss", post(dismiss))
}

/// `GET /chats` parameters: the directory search and page, the person
/// finder, and the notifications page.
#[derive(Debug, Default, Deserialize)]
pub struct ChatsQuery {
    /// Directory search.
    #[serde(default)]
    pub q: String,
    /// The directory cursor of the next page.
    pub after: Option<String>,
    /// The no-JavaScript person picker: people whose name starts so.
    #[serde(default)]
    pub find: String,
    /// Notifications older than this id.
    pub before: Option<u64>,
}

async fn show(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    query: Result<Query<ChatsQuery>, AppError>,
) -> Response {
    let Some(caller) = caller else {
        return Redirect::to(&state.host.sign_in_url("/chats")).into_response();
    };
    let (query, notice) = match query {
        Ok(Query(query)) => (query, None),
        Err(error) => (ChatsQuery::default(), Some(error)),
    };
    let status = notice.as_ref().map_or(StatusCode::OK, AppError::status);
    render(&state, &caller, &query, notice, status).await
}

/// The page for `caller`, with a notice; if even that fails, the error.
async fn render(
    state: &AppState,
    caller: &Caller,
    query: &ChatsQuery,
    notice: Option<AppError>,
    status: StatusCode,
) -> Response {
    match load(state, caller, query).await {
        Ok(mut view) => {
            view.notice = notice.map(|e| e.message);
            nojs::page(status, chats_view::page(&view))
        }
        Err(error) => error.into_response(),
    }
}

async fn load<'a>(
    state: &AppState,
    caller: &'a Caller,
    query: &'a ChatsQuery,
) -> Result<ChatsView<'a>, AppError> {
    let me = Some(caller);
    let after = query
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(members::parse_directory_cursor)
        .transpose()?;
    let (directory, next) = members::directory(state, me, &query.q, after).await?;
    let find: String = query.find.trim().chars().take(64).collect();
    let found = match find.is_empty() {
        true => None,
        false => Some(state.host.find_users(&find, nojs::MAX_MATCHES).await?),
    };
    let invitations = invitations::pending(state, me).await?;
    let notifications = notifications::list(state, me, query.before, None).await?;
    let people: Vec<UserId> = invitations
        .iter()
        .map(|i| i.inviter.id.clone())
        .chain(
            notifications
                .notifications
                .iter()
                .map(|n| chats_view::from(n).id.clone()),
        )
        .collect();
    Ok(ChatsView {
        caller,
        q: &query.q,
        find: &query.find,
        notice: None,
        invitations,
        rooms: members::my_rooms(state, me).await?,
        directory,
        next: next.as_ref().map(members::directory_cursor),
        notifications,
        found,
        faces: crate::profiles::faces(state, &people).await?,
    })
}

/// How a form post ends: on to `Ok`'s address with a 303; for a caller
/// not signed in, to sign-in; otherwise the page again with the reason.
async fn finish(
    state: &AppState,
    caller: Option<&Caller>,
    done: Result<String, AppError>,
) -> Response {
    match (done, caller) {
        (Ok(to), _) => Redirect::to(&to).into_response(),
        (Err(_), None) => Redirect::to(&state.host.sign_in_url("/chats")).into_response(),
        (Err(error), Some(caller)) => {
            let status = error.status();
            render(state, caller, &ChatsQuery::default(), Some(error), status).await
        }
    }
}

/// A form's fields, or why they could not be read.
fn fields<T>(form: Result<Form<T>, FormRejection>) -> Result<T, AppError> {
    form.map(|Form(fields)| fields)
        .map_err(|e| AppError::bad_request(e.body_text()))
}

/// A form that carries only its token.
#[derive(Debug, Deserialize)]
struct Plain {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
struct DirectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
}

/// Opens the direct room with the person named (from `/chats` or the
/// popup's "Message" buttons) and goes into it.
async fn open_direct(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<DirectForm>, FormRejection>,
) -> Response {
    let done = async {
        let form = fields(form)?;
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        let person = nojs::person(&state, &form.person).await?;
        let direct = direct::open_direct(&state, Some(me), &person.id).await?;
        Ok(format!("/rooms/{}", direct.room.id))
    };
    finish(&state, caller.as_ref(), done.await).await
}

#[derive(Debug, Deserialize)]
struct NewRoomForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    topic: String,
    /// Present (any value) when the box is ticked.
    is_public: Option<String>,
}

async fn create_room(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<NewRoomForm>, FormRejection>,
) -> Response {
    let done = async {
        let form = fields(form)?;
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        let draft = GroupDraft {
            name: form.name,
            alias: Some(form.alias).filter(|a| !a.trim().is_empty()),
            topic: form.topic,
            is_public: form.is_public.is_some(),
        };
        let room = members::create_group(&state, Some(me), draft).await?;
        Ok(format!("/rooms/{}", room.id))
    };
    finish(&state, caller.as_ref(), done.await).await
}

async fn join(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &fields(form)?.csrf)?;
        members::join(&state, Some(me), &room).await?;
        Ok(format!("/rooms/{room}"))
    };
    finish(&state, caller.as_ref(), done.await).await
}

async fn leave(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &fields(form)?.csrf)?;
        members::leave(&state, Some(me), &room).await?;
        Ok("/chats#rooms".to_owned())
    };
    finish(&state, caller.as_ref(), done.await).await
}

#[derive(Debug, Deserialize)]
struct MuteForm {
    #[serde(default)]
    csrf: String,
    /// `true` mutes, anything else unmutes.
    #[serde(default)]
    muted: String,
}

async fn mute(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<MuteForm>, FormRejection>,
) -> Response {
    let done = async {
        let form = fields(form)?;
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        members::set_muted(&state, Some(me), &room, form.muted == "true").await?;
        Ok("/chats#rooms".to_owned())
    };
    finish(&state, caller.as_ref(), done.await).await
}

async fn accept(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<u64>,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &fields(form)?.csrf)?;
        let room = invitations::accept(&state, Some(me), id).await?;
        Ok(format!("/rooms/{}", room.id))
    };
    finish(&state, caller.as_ref(), done.await).await
}

#[derive(Debug, Deserialize)]
struct DeclineForm {
    #[serde(default)]
    csrf: String,
    /// Said to the inviter, unless the "Decline" (silently) button was used.
    #[serde(default)]
    message: String,
    /// Present when "Decline" (without the message) was pressed.
    silent: Option<String>,
}

async fn decline(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<u64>,
    form: Result<Form<DeclineForm>, FormRejection>,
) -> Response {
    let done = async {
        let form = fields(form)?;
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        let message = Some(form.message).filter(|m| form.silent.is_none() && !m.trim().is_empty());
        invitations::decline(&state, Some(me), id, message).await?;
        Ok("/chats#invitations".to_owned())
    };
    finish(&state, caller.as_ref(), done.await).await
}

async fn read_all(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &fields(form)?.csrf)?;
        notifications::read(&state, Some(me), &[]).await?;
        Ok("/chats#notifications".to_owned())
    };
    finish(&state, caller.as_ref(), done.await).await
}

async fn dismiss(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<u64>,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &fields(form)?.csrf)?;
        notifications::dismiss(&state, Some(me), &[id]).await?;
        Ok("/chats#notifications".to_owned())
    };
    finish(&state, caller.as_ref(), done.await).await
}
