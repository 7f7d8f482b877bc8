//! The forms the popup posts without JavaScript: a message (with a file, or
//! as a reply), an edit, a delete, "mark all as read", and the people
//! panel's invite, settings and remove.
//!
//! Each checks the origin and the CSRF token, acts through the same
//! operation the JSON API uses, and redirects back to the page it came from
//! (the `back` field, checked to be a page of the same room) at the message
//! it touched. When it fails, the page is shown again with the reason and
//! with whatever was typed, so nothing is lost.

use crate::chat::{self, Draft};
use crate::commands::{self, Outcome};
use crate::error::AppError;
use crate::extract::MaybeCaller;
use crate::history::Window;
use crate::host::{Access, Caller};
use crate::origin::check_same_origin;
use crate::popup::{render, Shown};
use crate::popup_view::FailedPost;
use crate::room_people;
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use protocol::{ErrorCode, RoomId, UserId};
use serde::Deserialize;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route(
            "/rooms/{room}/messages",
            post(post_form).layer(crate::files::upload_body_limit(max_upload_bytes)),
        )
        .route("/rooms/{room}/messages/{seq}/edit", post(edit_form))
        .route("/rooms/{room}/messages/{seq}/delete", post(delete_form))
        .route("/rooms/{room}/read", post(read_form))
        .route("/rooms/{room}/invitations", post(invite_form))
        .route("/rooms/{room}/settings", post(settings_form))
        .route("/rooms/{room}/members/{user}/remove", post(remove_form))
}

/// The message form's fields, when posted urlencoded (the page's own form
/// is multipart; see [`crate::files::UploadForm`]).
#[derive(Debug, Default, Deserialize)]
struct PostForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_msg_id: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    reply_to: Option<u64>,
    #[serde(default)]
    back: String,
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
                .map(|upload| {
                    let form = PostForm {
                        csrf: upload.csrf,
                        client_msg_id: upload.client_msg_id,
                        body: upload.body,
                        reply_to: upload.reply_to,
                        back: upload.back,
                    };
                    (form, upload.file)
                })
        }
        Ok(()) => read_plain_form(&state, request)
            .await
            .map(|form| (form, None)),
    };
    let (form, file) = match posted {
        Ok(posted) => posted,
        Err(error) => {
            return failed(
                &state,
                caller.as_ref(),
                &room,
                Shown::LATEST,
                error,
                String::new(),
            )
            .await
        }
    };
    let shown = Shown {
        reply: form.reply_to,
        ..Shown::window(came_from(&room, &form.back))
    };
    let result = async {
        check_same_origin(&headers)?;
        let me = caller.as_ref().ok_or_else(AppError::unauthenticated)?;
        if !crate::nojs::token_ok(me, &form.csrf) {
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
        let outcome = match file {
            Some(file) => {
                commands::refuse(&room, &form.body)?;
                crate::files::share(
                    &state,
                    caller.as_ref(),
                    &room,
                    file,
                    form.body.clone(),
                    client_msg_id,
                    form.reply_to,
                )
                .await
                .map(|message| Outcome::Posted(Box::new(message)))?
            }
            None => {
                let draft = Draft {
                    body: form.body.clone(),
                    client_msg_id,
                    reply_to: form.reply_to,
                    files: Vec::new(),
                };
                commands::run(&state, caller.as_ref(), &room, draft).await?
            }
        };
        if let Outcome::Posted(message) = &outcome {
            // Writing in a room means having read it.
            chat::mark_read(&state, caller.as_ref(), &room, message.seq)
                .await
                .ok();
        }
        Ok(outcome)
    }
    .await;
    let result = match result {
        Ok(Outcome::Posted(message)) => Ok(message),
        // A command's answer: the page again, with it above the form.
        Ok(Outcome::Said(said)) => {
            let answer = FailedPost {
                message: said,
                body: String::new(),
            };
            return match render(&state, caller.as_ref(), &room, shown, Some(answer)).await {
                Ok(markup) => Ok(crate::nojs::page(axum::http::StatusCode::OK, markup)),
                // The room is gone from the caller's view (`/leave`).
                Err(_) => Ok(Redirect::to("/chats#rooms").into_response()),
            };
        }
        Err(error) => Err(error),
    };
    match result {
        // A thread's reply stays in the thread; anything else lands at the
        // bottom of the room, where the new message is.
        Ok(message) => {
            let to = match shown.window {
                Window::Thread(_) => crate::popup_view::here(&room, shown.window, None),
                _ => format!("/rooms/{room}"),
            };
            Ok(Redirect::to(&format!("{to}#m-{}", message.seq)).into_response())
        }
        Err(error) => failed(&state, caller.as_ref(), &room, shown, error, form.body).await,
    }
}

/// The edit form's fields.
#[derive(Debug, Deserialize)]
struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    back: String,
}

async fn edit_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path((room, seq)): Path<(RoomId, u64)>,
    form: Result<Form<EditForm>, FormRejection>,
) -> Result<Response, Response> {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return unreadable(&state, caller.as_ref(), &room, rejection).await,
    };
    let window = came_from(&room, &form.back);
    let done = async {
        crate::nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        chat::edit(&state, caller.as_ref(), &room, seq, form.body.clone()).await
    };
    match done.await {
        Ok(_) => Ok(back_to(&room, window, seq)),
        Err(error) => {
            let shown = Shown {
                edit: Some(seq),
                ..Shown::window(window)
            };
            failed(&state, caller.as_ref(), &room, shown, error, form.body).await
        }
    }
}

/// The delete and read forms' fields.
#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    /// The read form's seq.
    #[serde(default)]
    seq: Option<u64>,
}

async fn delete_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path((room, seq)): Path<(RoomId, u64)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return unreadable(&state, caller.as_ref(), &room, rejection).await,
    };
    let window = came_from(&room, &form.back);
    let done = async {
        crate::nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        chat::delete(&state, caller.as_ref(), &room, seq).await
    };
    match done.await {
        Ok(_) => Ok(back_to(&room, window, seq)),
        Err(error) => {
            let shown = Shown::window(window);
            failed(&state, caller.as_ref(), &room, shown, error, String::new()).await
        }
    }
}

async fn read_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(room): Path<RoomId>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, Response> {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return unreadable(&state, caller.as_ref(), &room, rejection).await,
    };
    let window = came_from(&room, &form.back);
    let done = async {
        crate::nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        let seq = form.seq.ok_or_else(|| {
            AppError::bad_request("say up to which message (`seq`) you have read")
        })?;
        chat::mark_read(&state, caller.as_ref(), &room, seq).await
    };
    match done.await {
        Ok(_) => Ok(Redirect::to(&crate::popup_view::here(&room, window, None)).into_response()),
        Err(error) => {
            let shown = Shown::window(window);
            failed(&state, caller.as_ref(), &room, shown, error, String::new()).await
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
    match done {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(error) => failed(state, caller, room, Shown::LATEST, error, String::new()).await,
    }
}

/// A form that did not go through. Not signed in: to sign in, then back to
/// the room. A room the caller may not read: its 404, as for any unknown.
/// Otherwise the page again with the reason and `typed` in the form.
async fn failed(
    state: &AppState,
    caller: Option<&Caller>,
    room: &RoomId,
    shown: Shown,
    error: AppError,
    typed: String,
) -> Result<Response, Response> {
    if error.code == ErrorCode::NotFound {
        return Err(error.into_response());
    }
    if caller.is_none() && error.code == ErrorCode::Unauthenticated {
        let back = format!("/rooms/{room}");
        return Ok(Redirect::to(&state.host.sign_in_url(&back)).into_response());
    }
    let status = error.status();
    let failed = FailedPost {
        message: error.message,
        body: typed,
    };
    // The page it came from may be what failed (a message deleted since):
    // then the latest page, which always renders.
    let markup = match render(state, caller, room, shown, Some(failed)).await {
        Ok(markup) => markup,
        Err(_) => {
            let failed = FailedPost {
                message: "that message is gone; here is the room as it is now".into(),
                body: String::new(),
            };
            render(state, caller, room, Shown::LATEST, Some(failed)).await?
        }
    };
    Ok(crate::nojs::page(status, markup))
}

/// A form body that could not be read: the latest page, with why.
async fn unreadable(
    state: &AppState,
    caller: Option<&Caller>,
    room: &RoomId,
    rejection: FormRejection,
) -> Result<Response, Response> {
    let error = AppError::bad_request(rejection.body_text());
    failed(state, caller, room, Shown::LATEST, error, String::new()).await
}

/// Back to `window` at message `seq`.
fn back_to(room: &RoomId, window: Window, seq: u64) -> Response {
    let to = crate::popup_view::here(room, window, None);
    Redirect::to(&format!("{to}#m-{seq}")).into_response()
}

/// The window a form's `back` field names, if it is a page of this room
/// (anything else, including another room or another site, is the latest
/// page: `back` is never a redirect to elsewhere).
fn came_from(room: &RoomId, back: &str) -> Window {
    let base = format!("/rooms/{room}");
    let Some(rest) = back.strip_prefix(&base) else {
        return Window::Latest;
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |name: &str| -> Option<u64> {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    };
    if let Some(seq) = path.strip_prefix("/threads/") {
        return seq.parse().map_or(Window::Latest, Window::Thread);
    }
    if !path.is_empty() {
        return Window::Latest;
    }
    let range = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("range="))
        .and_then(|v| serde_json::from_value(serde_json::Value::String(v.into())).ok());
    crate::history::window(param("before"), param("after"), param("at"), range)
        .unwrap_or(Window::Latest)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Range;

    #[test]
    fn back_names_a_page_of_this_room_or_the_latest() {
        let room = RoomId::new("r1");
        assert_eq!(came_from(&room, "/rooms/r1?before=40"), Window::Before(40));
        assert_eq!(came_from(&room, "/rooms/r1/threads/7"), Window::Thread(7));
        assert_eq!(
            came_from(&room, "/rooms/r1?range=3months&before=9"),
            Window::Range {
                range: Range::ThreeMonths,
                before: Some(9)
            }
        );
        for elsewhere in [
            "https://evil.example/rooms/r1",
            "//evil.example",
            "/rooms/r2?before=1",
            "/rooms/r1x",
            "/rooms/r1/../r2",
            "/rooms/r1?before=1&after=2",
            "",
        ] {
            assert_eq!(came_from(&room, elsewhere), Window::Latest, "{elsewhere}");
        }
    }
}
