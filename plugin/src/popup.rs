//! The popup page `/rooms/{id}` and its no-JavaScript form.
//!
//! The server renders the whole room (title, info panel, the latest messages,
//! a plain form and a Refresh link), so it works with JavaScript off. When the
//! wasm bundle loads it takes over the same markup: it connects over
//! WebSocket, appends new messages and sends from the form without reloading.
//!
//! The markup is a contract with `wasm-ui` (ids `bc-messages`, `bc-form`,
//! `bc-input`, `bc-send`, `bc-conn`, `bc-file` with its `label.bc-attach`,
//! `bc-room-files`; `li.bc-msg` items; `body[data-room]`, `data-max-upload`).

use crate::chat::{self, Draft};
use crate::error::AppError;
use crate::extract::{MaybeCaller, Query};
use crate::host::{Access, Caller};
use crate::origin::check_same_origin;
use crate::room_people;
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use protocol::{ErrorCode, Message, RoomId, RoomInfo, UserId};
use serde::Deserialize;

/// Messages the page shows when opened.
const LATEST: usize = 50;
/// Auto-refresh interval bounds for the no-JavaScript page, in seconds.
const REFRESH_RANGE: std::ops::RangeInclusive<u32> = 5..=300;

pub use crate::nojs::CSP;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route("/rooms/{room}", get(page))
        .route(
            "/rooms/{room}/messages",
            axum::routing::post(post_form).layer(crate::files::upload_body_limit(max_upload_bytes)),
        )
        .route("/rooms/{room}/people", get(people_fragment))
        .route("/rooms/{room}/invitations", post(invite_form))
        .route("/rooms/{room}/settings", post(settings_form))
        .route("/rooms/{room}/members/{user}/remove", post(remove_form))
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

#[derive(Debug, Deserialize)]
struct PageQuery {
    /// Reload every this many seconds (no-JavaScript auto-refresh).
    refresh: Option<u32>,
}

async fn page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Response> {
    let refresh = query
        .refresh
        .map(|s| s.clamp(*REFRESH_RANGE.start(), *REFRESH_RANGE.end()));
    render(&state, caller.as_ref(), &room, refresh, None)
        .await
        .map(|markup| with_headers(StatusCode::OK, markup))
}

/// The no-JavaScript form's fields.
#[derive(Debug, Deserialize)]
struct PostForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_msg_id: String,
    #[serde(default)]
    body: String,
}

/// The form as posted: plain, or multipart when a file was chosen.
enum Posted {
    Plain(PostForm),
    WithFile(Box<crate::files::UploadForm>),
}

impl Posted {
    fn fields(&self) -> (&str, &str, &str) {
        match self {
            Posted::Plain(f) => (&f.csrf, &f.client_msg_id, &f.body),
            Posted::WithFile(f) => (&f.csrf, &f.client_msg_id, &f.body),
        }
    }
}

async fn post_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    request: axum::extract::Request,
) -> Result<Response, Response> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Everything that decides whether this caller may post is in the
    // headers: refuse before reading a byte of the body.
    let posted = match may_post(&state, caller.as_ref(), &room, &headers).await {
        Err(refusal) => Err(refusal),
        Ok(()) if multipart => {
            let parts = axum::extract::Multipart::from_request(request, &state)
                .await
                .map_err(IntoResponse::into_response)?;
            crate::files::receive(&state, caller.as_ref(), &room, parts)
                .await
                .map(|form| Posted::WithFile(Box::new(form)))
        }
        Ok(()) => read_plain_form(&state, request).await.map(Posted::Plain),
    };
    let posted = match posted {
        Ok(posted) => posted,
        Err(error) if error.code == ErrorCode::NotFound => return Err(error.into_response()),
        Err(error) => {
            let status = error.status();
            let failed = FailedPost {
                message: error.message,
                body: String::new(),
            };
            let markup = render(&state, caller.as_ref(), &room, None, Some(failed)).await?;
            return Ok(with_headers(status, markup));
        }
    };
    let (csrf, client_msg_id, body) = posted.fields();
    let form = PostForm {
        csrf: csrf.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        body: body.to_owned(),
    };
    let file = match posted {
        Posted::WithFile(upload) => upload.file,
        Posted::Plain(_) => None,
    };
    let result = async {
        check_same_origin(&headers)?;
        let caller_ref = caller.as_ref().ok_or_else(AppError::unauthenticated)?;
        if !crate::nojs::token_ok(caller_ref, &form.csrf) {
            return Err(AppError::new(
                ErrorCode::CsrfRejected,
                "this form has expired; your message is kept below, send it again",
            ));
        }
        let client_msg_id = if form.client_msg_id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            form.client_msg_id.clone()
        };
        if let Some(file) = file {
            return crate::files::share(
                &state,
                caller.as_ref(),
                &room,
                file,
                form.body.clone(),
                client_msg_id,
            )
            .await;
        }
        chat::post(
            &state,
            caller.as_ref(),
            &room,
            Draft {
                body: form.body.clone(),
                client_msg_id,
                reply_to: None,
                files: Vec::new(),
            },
        )
        .await
    }
    .await;

    match result {
        Ok(message) => {
            Ok(Redirect::to(&format!("/rooms/{}#m-{}", room, message.seq)).into_response())
        }
        Err(error) if error.code == ErrorCode::NotFound => Err(error.into_response()),
        Err(error) => {
            // Show the room again with the error and the unsent text, so
            // nothing typed is lost.
            let status = error.status();
            let failed = FailedPost {
                message: error.message,
                body: form.body,
            };
            let markup = render(&state, caller.as_ref(), &room, None, Some(failed)).await?;
            Ok(with_headers(status, markup))
        }
    }
}

/// The people panel's forms (see [`room_people`]): on to the room when
/// they worked, the popup again with the reason when not.
async fn invite_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<room_people::InviteForm>, FormRejection>,
) -> Result<Response, Response> {
    let done = match form {
        Ok(Form(form)) => room_people::invite(&state, caller.as_ref(), &headers, &room, form).await,
        Err(rejection) => Err(AppError::bad_request(rejection.body_text())),
    };
    people_done(&state, caller.as_ref(), &room, done).await
}

async fn settings_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<room_people::SettingsForm>, FormRejection>,
) -> Result<Response, Response> {
    let done = match form {
        Ok(Form(form)) => {
            room_people::settings(&state, caller.as_ref(), &headers, &room, form).await
        }
        Err(rejection) => Err(AppError::bad_request(rejection.body_text())),
    };
    people_done(&state, caller.as_ref(), &room, done).await
}

async fn remove_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path((room, user)): Path<(RoomId, UserId)>,
    form: Result<Form<room_people::RemoveForm>, FormRejection>,
) -> Result<Response, Response> {
    let done = match form {
        Ok(Form(form)) => {
            room_people::remove(&state, caller.as_ref(), &headers, &room, &user, form).await
        }
        Err(rejection) => Err(AppError::bad_request(rejection.body_text())),
    };
    people_done(&state, caller.as_ref(), &room, done).await
}

async fn people_done(
    state: &AppState,
    caller: Option<&Caller>,
    room: &RoomId,
    done: Result<String, AppError>,
) -> Result<Response, Response> {
    let error = match done {
        Ok(to) => return Ok(Redirect::to(&to).into_response()),
        Err(_) if caller.is_none() => {
            let back = format!("/rooms/{room}");
            return Ok(Redirect::to(&state.host.sign_in_url(&back)).into_response());
        }
        Err(error) => error,
    };
    let status = error.status();
    let failed = FailedPost {
        message: error.message,
        body: String::new(),
    };
    let markup = render(state, caller, room, None, Some(failed)).await?;
    Ok(with_headers(status, markup))
}

/// The checks a form post must pass before its body is read: the same
/// origin, a signed-in caller, and the right to post in the room.
async fn may_post(
    state: &AppState,
    caller: Option<&Caller>,
    room: &RoomId,
    headers: &HeaderMap,
) -> Result<(), AppError> {
    check_same_origin(headers)?;
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    if chat::access_to(state, Some(caller), room).await? < Access::Write {
        return Err(AppError::forbidden(
            "you may read this room but not post in it (posting needs edit rights on the page)",
        ));
    }
    Ok(())
}

/// Largest form body without a file: a message at the size limit with
/// every byte percent-encoded, plus the token fields.
fn plain_form_limit(state: &AppState) -> usize {
    state.config.max_body_bytes.saturating_mul(3) + 4 * 1024
}

/// Reads a urlencoded form of at most [`plain_form_limit`] bytes; larger
/// ones are refused (`payload_too_large`) without reading them whole.
async fn read_plain_form(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<PostForm, AppError> {
    let (parts, body) = request.into_parts();
    let limit = plain_form_limit(state);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a message form may be at most {} KiB; a message at most {} KiB",
                limit / 1024,
                state.config.max_body_bytes / 1024
            ),
        )
    })?;
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    Form::<PostForm>::from_request(request, state)
        .await
        .map(|Form(form)| form)
        .map_err(|e| AppError::bad_request(e.body_text()))
}

/// A form post that did not go through, shown above the form.
struct FailedPost {
    message: String,
    body: String,
}

fn with_headers(status: StatusCode, markup: Markup) -> Response {
    crate::nojs::page(status, markup)
}

async fn render(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    refresh: Option<u32>,
    failed: Option<FailedPost>,
) -> Result<Markup, Response> {
    let authorized = match chat::authorize(state, caller, room_id).await {
        Ok(authorized) => authorized,
        // Not signed in: the room may be readable after signing in.
        Err(e) if e.code == ErrorCode::NotFound && caller.is_none() => {
            let back = format!("/rooms/{room_id}");
            return Err(Redirect::to(&state.host.sign_in_url(&back)).into_response());
        }
        Err(e) => return Err(e.into_response()),
    };
    let room = &authorized.room;
    let info = chat::room_info(state, room)
        .await
        .map_err(IntoResponse::into_response)?;
    let messages = chat::latest(state, room, LATEST)
        .await
        .map_err(IntoResponse::into_response)?;
    // Times show in the host page's zone; rooms without a page in UTC.
    let zone = match &room.page {
        Some(page) => state
            .host
            .page(page)
            .await
            .map_err(|e| AppError::from(e).into_response())?
            .map_or(Tz::UTC, |p| p.time_zone),
        None => Tz::UTC,
    };
    let people = room_people::load(state, caller, &authorized)
        .await
        .map_err(IntoResponse::into_response)?;
    let people = room_people::panel(&people, caller, room);
    let can_post = caller.is_some() && authorized.access >= Access::Write;
    Ok(popup(&PopupView {
        info: &info,
        messages: &messages,
        caller,
        can_post,
        people,
        avatar_url: crate::rooms::card(room).avatar_url,
        zone,
        refresh,
        failed,
        sign_in: state.host.sign_in_url(&format!("/rooms/{room_id}")),
        max_upload_bytes: state.config.max_upload_bytes,
    }))
}

struct PopupView<'a> {
    info: &'a RoomInfo,
    messages: &'a [Message],
    caller: Option<&'a Caller>,
    can_post: bool,
    /// The members panel and its forms ([`room_people::panel`]).
    people: Markup,
    /// The room's image: its avatar, or the stock icon.
    avatar_url: String,
    zone: Tz,
    refresh: Option<u32>,
    failed: Option<FailedPost>,
    sign_in: String,
    /// The upload cap, so the UI can refuse a too-large file before sending it.
    max_upload_bytes: u64,
}

fn popup(view: &PopupView<'_>) -> Markup {
    let info = view.info;
    let room_url = format!("/rooms/{}", info.id);
    let last_seq = view.messages.last().map(|m| m.seq).unwrap_or(info.last_seq);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = view.refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (info.name) " — chat" }
                link rel="stylesheet" href="/assets/chat.css";
            }
            body.bc-popup
                data-room=(info.id)
                data-user=[view.caller.map(|c| c.id.as_str())]
                data-user-name=[view.caller.map(|c| c.name.as_str())]
                data-last-seq=(last_seq)
                data-can-post=(view.can_post)
                data-max-upload=(view.max_upload_bytes)
                data-connected="false"
            {
                header #bc-title {
                    h1 {
                        img.bc-room-avatar src=(view.avatar_url) alt="" width="28" height="28";
                        " " (info.name)
                    }
                    @if !info.topic.is_empty() { p.bc-topic { (info.topic) } }
                    @if let Some(page) = &info.page {
                        a.bc-page href=(page.url) target="_blank" rel="noopener" { (page.title) }
                    }
                    span #bc-conn role="status" { "offline" }
                }
                div #bc-main {
                    section #bc-conversation aria-label="Conversation" {
                        @if view.messages.is_empty() {
                            p #bc-empty { "No messages yet. Say hello!" }
                        }
                        ol #bc-messages aria-live="polite" aria-relevant="additions" {
                            @for message in view.messages {
                                (message_item(message, view.zone))
                            }
                        }
                    }
                    aside #bc-info aria-label="Room info" {
                        h2 { "Here now" }
                        ul #bc-present {
                            @for person in &info.present {
                                li data-user=(person.id)
                                    data-presence=[person.presence.map(presence_name)] { (person.name) }
                            }
                        }
                        h2 { "Participants" }
                        ul #bc-participants {
                            @for person in &info.participants {
                                li data-user=(person.id) {
                                    (person.name)
                                    @if let Some(me) = view.caller.filter(|me| me.id != person.id) {
                                        " " (crate::chats_view::message_button(me, &person.id, &person.name))
                                    }
                                }
                            }
                            @if info.participants.is_empty() { li.bc-none { "nobody yet" } }
                        }
                        (view.people)
                        h2 { "Files" }
                        ul #bc-room-files {
                            @for file in &info.files {
                                li data-file=(file.id) { (room_file(file)) }
                            }
                            @if info.files.is_empty() { li.bc-none { "none yet" } }
                        }
                    }
                }
                @if let Some(failed) = &view.failed {
                    p #bc-error role="alert" { (failed.message) }
                }
                @if view.can_post {
                    form #bc-form method="post" action=(format!("{room_url}/messages"))
                        enctype="multipart/form-data" {
                        input type="hidden" name="csrf"
                            value=(view.caller.and_then(|c| c.csrf_token.as_deref()).unwrap_or_default());
                        input type="hidden" name="client_msg_id" value=(uuid::Uuid::new_v4());
                        label.bc-visually-hidden for="bc-input" { "Message" }
                        textarea #bc-input name="body" rows="2"
                            placeholder="Write a message (Markdown works)" {
                            @if let Some(failed) = &view.failed { (failed.body) }
                        }
                        label.bc-attach for="bc-file" { "Attach a file" }
                        input #bc-file type="file" name="file";
                        button #bc-send type="submit" { "Send" }
                    }
                } @else if view.caller.is_none() {
                    p.bc-readonly { a href=(view.sign_in) { "Sign in" } " to post." }
                } @else {
                    p.bc-readonly { "You can read this room; posting needs edit rights on its page." }
                }
                nav #bc-refresh-bar {
                    a #bc-refresh href=(room_url) { "Refresh" }
                    noscript {
                        " · "
                        @if view.refresh.is_some() {
                            a href=(room_url) { "Stop auto-refresh" }
                        } @else {
                            a href=(format!("{room_url}?refresh=10")) { "Auto-refresh every 10 s" }
                        }
                    }
                }
                script type="module" src="/assets/boot.js" {}
                script type="module" src="/assets/picker.js" {}
            }
        }
    }
}

/// A shared file: images as a thumbnail linking to the full picture, other
/// files as a named download link with their size.
pub fn attachment(file: &protocol::Attachment) -> Markup {
    html! {
        @if file.content_type.as_deref().is_some_and(|t| t.starts_with("image/")) {
            a.bc-file.bc-image href=(file.url) target="_blank" rel="noopener" {
                img.bc-thumb src=(file.url) alt=(file.name) loading="lazy";
            }
        } @else {
            a.bc-file href=(file.url) download=(file.name) { (file.name) }
            " " span.bc-size { "(" (protocol::size::human_size(file.size)) ")" }
        }
    }
}

/// A file in the info panel: a download link, its size and who shared it.
/// (wasm-ui's `view::room_file` renders the same for files shared live.)
fn room_file(file: &protocol::Attachment) -> Markup {
    html! {
        a.bc-file href=(file.url) download=(file.name) { (file.name) }
        span.bc-size {
            " (" (protocol::size::human_size(file.size))
            @if let Some(by) = &file.uploaded_by { ", " (by) }
            ")"
        }
    }
}

/// The CSS/data name of a presence status.
fn presence_name(presence: protocol::Presence) -> &'static str {
    match presence {
        protocol::Presence::Active => "active",
        protocol::Presence::Away => "away",
        protocol::Presence::Idle => "idle",
        protocol::Presence::Invisible => "invisible",
    }
}

/// One message as a list item. The wasm UI renders new messages with the
/// same markup.
pub fn message_item(message: &Message, zone: Tz) -> Markup {
    let local = message.created_at.with_timezone(&zone);
    let initial = message
        .author_name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    html! {
        li.bc-msg #(format!("m-{}", message.seq))
            data-seq=(message.seq) data-id=(message.id) data-author=(message.author)
        {
            span.bc-avatar aria-hidden="true" { (initial) }
            span.bc-author { (message.author_name) }
            " "
            time datetime=(message.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                title=(local.format("%Y-%m-%d %H:%M:%S %Z")) { (local.format("%H:%M")) }
            @if message.edited_at.is_some() { " " span.bc-edited { "(edited)" } }
            @if message.deleted_at.is_some() {
                div.bc-body.bc-deleted { "(message deleted)" }
            } @else {
                div.bc-body {
                    (PreEscaped(transcript::render_html(&message.body, &Default::default())))
                }
                @if !message.attachments.is_empty() {
                    ul.bc-files {
                        @for file in &message.attachments {
                            li { (attachment(file)) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{MessageId, UserId};

    /// wasm-ui's browser tests run against a hand-copied popup
    /// (wasm-ui/tests/fixtures/popup.html); this keeps its message item in
    /// step with what the server renders.
    #[test]
    fn the_wasm_fixture_matches_the_server_markup() {
        let message = Message {
            id: MessageId::new("0190a1b2-0000-7000-8000-000000000001"),
            author: UserId::new("bob"),
            author_name: "Bob".into(),
            ..crate::render::sample(&RoomId::new("r1"), 1, "Hello **world**")
        };
        let item = message_item(&message, chrono_tz::Europe::Berlin).into_string();
        let fixture = include_str!("../../wasm-ui/tests/fixtures/popup.html");
        assert!(
            fixture.contains(&item),
            "wasm-ui/tests/fixtures/popup.html no longer matches message_item(); update it to:\n{item}"
        );
    }
}
