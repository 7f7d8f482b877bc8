//! The popup page `/rooms/{id}`, its history pages and its thread pages.
//!
//! The server renders the whole room (title, info panel, a window of
//! messages, a plain form), so it works with JavaScript off. When the wasm
//! bundle loads it takes over the same markup on the latest page: it
//! connects over WebSocket, appends new messages and sends from the form
//! without reloading. The markup is in [`crate::popup_view`]; the forms
//! these pages post are handled in [`crate::popup_forms`].
//!
//! Without JavaScript a reader moves through history by links: `?before=N`
//! and `?after=N` page older and newer, `?at=N` shows the page around
//! message N (a permalink), `?range=day|week|month|3months` the newest
//! messages of that range, `/rooms/{id}/threads/{N}` a message and its
//! replies. `?reply=N` and `?edit=N` turn the form into a reply (quoted) or
//! an edit of the caller's own message N, on whichever page it is.

use crate::chat;
use crate::error::AppError;
use crate::extract::{MaybeCaller, Query};
use crate::history::{self, Range, Window};
use crate::host::{Access, Caller};
use crate::popup_view::{popup, Compose, FailedPost, PopupView};
use crate::room_people;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use maud::Markup;
use protocol::{ErrorCode, RoomId, UserId};
use serde::Deserialize;

/// Auto-refresh interval bounds for the no-JavaScript page, in seconds.
const REFRESH_RANGE: std::ops::RangeInclusive<u32> = 5..=300;

pub use crate::nojs::CSP;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rooms/{room}", get(page))
        .route("/rooms/{room}/threads/{seq}", get(thread_page))
        .route("/rooms/{room}/people", get(people_fragment))
}

/// `GET /rooms/{room}/people`: the people panel alone (`section#bc-people`),
/// rendered as the page renders it, which the browser UI swaps in when the
/// room's members change. The same 404 as the page for anyone who may not
/// read the room.
async fn people_fragment(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
) -> Response {
    let shown = async {
        let authorized = chat::authorize(&state, caller.as_ref(), &room).await?;
        let people = room_people::load(&state, caller.as_ref(), &authorized).await?;
        Ok::<_, AppError>(room_people::panel(
            &people,
            caller.as_ref(),
            &authorized.room,
        ))
    };
    match shown.await {
        Ok(markup) => crate::nojs::page(StatusCode::OK, markup),
        Err(refused) => refused.into_response(),
    }
}

/// The page's query: which window of history, and what the form does.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Reload every this many seconds (no-JavaScript auto-refresh).
    refresh: Option<u32>,
    before: Option<u64>,
    after: Option<u64>,
    at: Option<u64>,
    range: Option<Range>,
    /// Reply to this message.
    reply: Option<u64>,
    /// Edit this message (the caller's own).
    edit: Option<u64>,
}

/// What a popup page shows: a window of history and the form's mode.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    pub window: Window,
    pub reply: Option<u64>,
    pub edit: Option<u64>,
    pub refresh: Option<u32>,
}

impl Shown {
    /// The latest page with a plain form (where posts land).
    pub const LATEST: Shown = Shown {
        window: Window::Latest,
        reply: None,
        edit: None,
        refresh: None,
    };

    pub fn window(window: Window) -> Shown {
        Shown {
            window,
            ..Shown::LATEST
        }
    }
}

async fn page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let window = history::window(query.before, query.after, query.at, query.range)
        .map_err(IntoResponse::into_response)?;
    let shown = Shown {
        window,
        reply: query.reply,
        edit: query.edit,
        refresh: query
            .refresh
            .map(|s| s.clamp(*REFRESH_RANGE.start(), *REFRESH_RANGE.end())),
    };
    render(&state, caller.as_ref(), &room, shown, None)
        .await
        .map(|markup| crate::nojs::page(StatusCode::OK, markup))
}

#[derive(Debug, Deserialize)]
struct ThreadQuery {
    edit: Option<u64>,
}

/// `GET /rooms/{room}/threads/{seq}`: a message and its replies, with a
/// form that replies in the thread.
async fn thread_page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, seq)): Path<(RoomId, u64)>,
    Query(query): Query<ThreadQuery>,
) -> Result<Response, Response> {
    let shown = Shown {
        edit: query.edit,
        ..Shown::window(Window::Thread(seq))
    };
    render(&state, caller.as_ref(), &room, shown, None)
        .await
        .map(|markup| crate::nojs::page(StatusCode::OK, markup))
}

/// The popup page for `shown`, with `failed` above the form when a post
/// did not go through. Not signed in and not readable: a redirect to sign
/// in (the room may be readable then). A reply or edit of a message the
/// room does not have is shown as the plain form; editing someone else's
/// message is refused.
pub async fn render(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    shown: Shown,
    failed: Option<FailedPost>,
) -> Result<Markup, Response> {
    let authorized = match chat::authorize(state, caller, room_id).await {
        Ok(authorized) => authorized,
        Err(e) if e.code == ErrorCode::NotFound && caller.is_none() => {
            let back = format!("/rooms/{room_id}");
            return Err(Redirect::to(&state.host.sign_in_url(&back)).into_response());
        }
        Err(e) => return Err(e.into_response()),
    };
    let loaded = async {
        let room = &authorized.room;
        let info = chat::room_info(state, room).await?;
        let page = history::load(state, room, shown.window).await?;
        let reply = match shown.reply {
            Some(seq) => Some(chat::find(state, room, seq).await?),
            None => None,
        };
        let edit = match shown.edit {
            Some(seq) => {
                let message = chat::find(state, room, seq).await?;
                if caller.is_none_or(|me| me.id != message.author) {
                    return Err(AppError::forbidden("only its author may edit a message"));
                }
                Some(message)
            }
            None => None,
        };
        let read_mark = match caller {
            Some(me) => Some(state.store.last_read(&room.id, &me.id).await?),
            None => None,
        };
        // Times show in the host page's zone; rooms without a page in UTC.
        let zone = match &room.page {
            Some(page) => state
                .host
                .page(page)
                .await?
                .map_or(Tz::UTC, |p| p.time_zone),
            None => Tz::UTC,
        };
        let people = room_people::load(state, caller, &authorized).await?;
        let shown: Vec<UserId> = page
            .messages
            .iter()
            .map(|m| m.author.clone())
            .chain(info.participants.iter().map(|p| p.id.clone()))
            .chain(info.present.iter().map(|p| p.id.clone()))
            .collect();
        let faces = crate::profiles::faces(state, &shown).await?;
        let commands = match caller {
            Some(me) => crate::commands::allowed(state, me, room_id)
                .await?
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(" "),
            None => String::new(),
        };
        let loaded = (info, page, reply, edit, read_mark, zone, people, faces);
        Ok::<_, AppError>((loaded, commands))
    };
    let ((info, page, reply, edit, read_mark, zone, people, faces), commands) =
        loaded.await.map_err(IntoResponse::into_response)?;
    let room = &authorized.room;
    let compose = match (&edit, &reply) {
        (Some(message), _) => Compose::Edit(message),
        (None, Some(parent)) => Compose::Reply(parent),
        (None, None) => Compose::New,
    };
    Ok(popup(&PopupView {
        info: &info,
        window: shown.window,
        page: &page,
        caller,
        can_post: caller.is_some() && authorized.access >= Access::Write,
        moderates: caller.is_some() && authorized.access >= Access::Admin,
        read_mark,
        compose,
        people: room_people::panel(&people, caller, room),
        avatar_url: crate::rooms::card(room).avatar_url,
        faces: &faces,
        commands: &commands,
        zone,
        refresh: shown.refresh,
        failed,
        sign_in: state.host.sign_in_url(&format!("/rooms/{room_id}")),
        max_upload_bytes: state.config.max_upload_bytes,
    }))
}
