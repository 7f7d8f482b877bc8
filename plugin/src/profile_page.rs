//! `/users/{user}`: a person's profile as a page, and its forms, all
//! working without JavaScript.
//!
//! Anyone may read the page (anonymous readers see everything but the
//! contact links, and a sign-in link instead). The person themselves also
//! gets three forms: their profile's texts (`POST /users/{user}/profile`),
//! a new picture (`POST /users/{user}/avatar`, multipart, field `avatar`)
//! and removing it (`POST /users/{user}/avatar/remove`). Each passes
//! [`nojs::gate`] (same origin, signed in, CSRF token) and then calls what
//! the JSON API calls ([`profiles`]), so both share one set of rules.
//!
//! A post that worked is sent back to the page with a 303. One that did
//! not gets the page again with the reason and the error's status, the
//! values typed kept in the form (a caller not signed in goes to sign-in
//! instead). The status expiry is a `datetime-local` field, read in the
//! time zone chosen in the same form (UTC when none is).
//!
//! Everything people typed goes through maud's escaping; contact links
//! are built from validated values behind fixed `mailto:`, `tel:` and
//! `xmpp:` schemes.

use crate::chats_view::{csrf, message_button};
use crate::error::AppError;
use crate::extract::MaybeCaller;
use crate::files::{multipart_error, small_text};
use crate::host::Caller;
use crate::nojs;
use crate::profiles::{self, MAX_NAME_CHARS, MAX_STATUS_CHARS};
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, DOCTYPE};
use protocol::{ProfileEdit, UserId, UserProfile};
use serde::Deserialize;

/// Form fields around the picture in a multipart body.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Longest `csrf` field.
const MAX_TOKEN_FIELD: usize = 1024;

pub fn routes(avatar_max_bytes: u64) -> Router<AppState> {
    let limit =
        usize::try_from(avatar_max_bytes.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX);
    Router::new()
        .route("/users/{user}", get(show))
        .route("/users/{user}/profile", post(edit))
        .route(
            "/users/{user}/avatar",
            post(upload).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/users/{user}/avatar/remove", post(remove))
}

/// The profile form's fields, as typed (also what an error shows again).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    /// `datetime-local`: `2026-12-03T15:00`, in `time_zone`.
    #[serde(default)]
    pub status_until: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub xmpp: String,
}

impl ProfileForm {
    /// The form filled from what `profile` shows its owner.
    fn of(profile: &UserProfile, display_name: Option<&str>) -> Self {
        let zone = zone_of(profile.time_zone.as_deref());
        let contacts = profile.contacts.clone().unwrap_or_default();
        Self {
            csrf: String::new(),
            name: display_name.unwrap_or_default().to_owned(),
            status: profile
                .status
                .as_ref()
                .map(|s| s.text.clone())
                .unwrap_or_default(),
            status_until: profile
                .status
                .as_ref()
                .and_then(|s| s.until)
                .map(|until| local_input(until, zone))
                .unwrap_or_default(),
            time_zone: profile.time_zone.clone().unwrap_or_default(),
            email: contacts.email.unwrap_or_default(),
            phone: contacts.phone.unwrap_or_default(),
            xmpp: contacts.xmpp.unwrap_or_default(),
        }
    }

    /// The edit these fields make (blank fields clear), the expiry read in
    /// the zone chosen.
    fn edit(&self) -> Result<ProfileEdit, AppError> {
        let zone = match self.time_zone.trim() {
            "" => Tz::UTC,
            name => profiles::checked_zone(name)?,
        };
        let until = match self.status_until.trim() {
            "" => None,
            value => Some(profiles::local_time(value, zone)?),
        };
        let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(ProfileEdit {
            name: text(&self.name),
            status: text(&self.status),
            status_until: until,
            time_zone: text(&self.time_zone),
            email: text(&self.email),
            phone: text(&self.phone),
            xmpp: text(&self.xmpp),
        })
    }
}

fn zone_of(name: Option<&str>) -> Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(Tz::UTC)
}

/// `at` as a `datetime-local` value in `zone`.
fn local_input(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// Everything the page shows.
struct PageView<'a> {
    profile: UserProfile,
    viewer: Option<&'a Caller>,
    /// The owner's form, when the viewer is the person.
    form: Option<ProfileForm>,
    notice: Option<String>,
    sign_in: String,
    /// The largest picture upload, as configured.
    max_picture: u64,
}

async fn show(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
) -> Response {
    render(&state, caller.as_ref(), &user, None, None, StatusCode::OK).await
}

/// The page for `viewer`, with a notice and, for the owner, `typed` in
/// the form (else what is stored); if even that fails, the error.
async fn render(
    state: &AppState,
    viewer: Option<&Caller>,
    user: &UserId,
    notice: Option<AppError>,
    typed: Option<ProfileForm>,
    status: StatusCode,
) -> Response {
    let profile = match profiles::view(state, viewer, user).await {
        Ok(profile) => profile,
        Err(error) => return error.into_response(),
    };
    let owner = viewer.is_some_and(|v| v.id == *user);
    let form = match (owner, typed) {
        (false, _) => None,
        (true, Some(typed)) => Some(typed),
        (true, None) => match profiles::record(state, user).await {
            Ok(record) => {
                let name = record.as_ref().and_then(|r| r.display_name.as_deref());
                Some(ProfileForm::of(&profile, name))
            }
            Err(error) => return error.into_response(),
        },
    };
    let view = PageView {
        sign_in: state.host.sign_in_url(&profiles::page_url(user)),
        profile,
        viewer,
        form,
        notice: notice.map(|e| e.message),
        max_picture: state.config.avatar_max_bytes,
    };
    nojs::page(status, page(&view, state.config.clock.now()))
}

/// How a form post ends: back to the page with a 303; for a caller not
/// signed in, to sign-in; otherwise the page again with the reason.
async fn finish(
    state: &AppState,
    caller: Option<&Caller>,
    user: &UserId,
    done: Result<(), AppError>,
    typed: Option<ProfileForm>,
) -> Response {
    let here = profiles::page_url(user);
    match (done, caller) {
        (Ok(()), _) => Redirect::to(&here).into_response(),
        (Err(_), None) => Redirect::to(&state.host.sign_in_url(&here)).into_response(),
        (Err(error), Some(caller)) => {
            let status = error.status();
            render(state, Some(caller), user, Some(error), typed, status).await
        }
    }
}

async fn edit(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(user): Path<UserId>,
    form: Result<Form<ProfileForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => {
            let error = AppError::bad_request(rejection.body_text());
            return finish(&state, caller.as_ref(), &user, Err(error), None).await;
        }
    };
    let done = async {
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        profiles::save(&state, Some(me), &user, form.edit()?).await?;
        Ok(())
    };
    let done = done.await;
    finish(&state, caller.as_ref(), &user, done, Some(form)).await
}

async fn upload(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(user): Path<UserId>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let done = async {
        let multipart = multipart.map_err(|e| AppError::bad_request(e.body_text()))?;
        let (token, bytes) = receive(&state, multipart).await?;
        let me = nojs::gate(&headers, caller.as_ref(), &token)?;
        profiles::set_avatar(&state, Some(me), &user, bytes).await?;
        Ok(())
    };
    let done = done.await;
    finish(&state, caller.as_ref(), &user, done, None).await
}

/// The `csrf` and `avatar` fields of the picture form; the picture is
/// refused (413) as soon as it passes the limit, not read on.
async fn receive(
    state: &AppState,
    mut multipart: Multipart,
) -> Result<(String, Vec<u8>), AppError> {
    let (mut token, mut bytes) = (String::new(), Vec::new());
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "csrf" => token = small_text(field, MAX_TOKEN_FIELD).await?,
            "avatar" => {
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    profiles::check_avatar_size(state, (bytes.len() + chunk.len()) as u64)?;
                    bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok((token, bytes))
}

#[derive(Debug, Deserialize)]
struct Plain {
    #[serde(default)]
    csrf: String,
}

async fn remove(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(user): Path<UserId>,
    form: Result<Form<Plain>, FormRejection>,
) -> Response {
    let done = async {
        let form = form.map_err(|e| AppError::bad_request(e.body_text()))?;
        let me = nojs::gate(&headers, caller.as_ref(), &form.csrf)?;
        profiles::clear_avatar(&state, Some(me), &user).await?;
        Ok(())
    };
    let done = done.await;
    finish(&state, caller.as_ref(), &user, done, None).await
}

fn page(view: &PageView<'_>, now: DateTime<Utc>) -> Markup {
    let profile = &view.profile;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (profile.name) " — profile" }
                link rel="stylesheet" href="/assets/chat.css";
            }
            body.bc-chats.bc-profile {
                header.bc-chats-head {
                    nav aria-label="Site" {
                        a href="/" { "Back to the wiki" } " · " a href="/chats" { "Chats" }
                    }
                }
                @if let Some(notice) = &view.notice {
                    p #bc-notice .bc-notice role="alert" { (notice) }
                }
                main {
                    (card(view, now))
                    (contacts(view))
                    @if let (Some(me), Some(form)) = (view.viewer, &view.form) {
                        (edit_forms(view, me, form))
                    }
                }
            }
        }
    }
}

fn card(view: &PageView<'_>, now: DateTime<Utc>) -> Markup {
    let profile = &view.profile;
    let zone = profile
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok());
    html! {
        section.bc-profile-card #profile aria-labelledby="h-profile" {
            img src=(profile.avatar) alt="" width="128" height="128";
            div {
                h1 #h-profile { (profile.name) }
                @if profile.name != profile.id.as_str() {
                    p.bc-role { "User name: " (profile.id) }
                }
                @if let Some(status) = &profile.status {
                    p.bc-profile-status #bc-status {
                        (status.text)
                        @if let Some(until) = status.until {
                            span.bc-when { " · until " (shown_time(until, zone)) }
                        }
                    }
                }
                @if let Some(zone) = zone {
                    p.bc-when #bc-local-time {
                        "Local time: " (now.with_timezone(&zone).format("%H:%M")) " (" (zone.name()) ")"
                    }
                }
                @if let Some(me) = view.viewer {
                    @if me.id != profile.id {
                        div.bc-actions { (message_button(me, &profile.id, &profile.name)) }
                    }
                }
            }
        }
    }
}

/// A time in the person's zone (UTC if they chose none), machine-readable too.
fn shown_time(at: DateTime<Utc>, zone: Option<Tz>) -> Markup {
    let zone = zone.unwrap_or(Tz::UTC);
    html! {
        time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (at.with_timezone(&zone).format("%Y-%m-%d %H:%M")) " " (zone.name())
        }
    }
}

fn contacts(view: &PageView<'_>) -> Markup {
    let profile = &view.profile;
    html! {
        section #contacts aria-labelledby="h-contacts" {
            h2 #h-contacts { "Reach " (profile.name) }
            @match &profile.contacts {
                None => p.bc-none {
                    a href=(view.sign_in) { "Sign in" } " to see how to reach them outside the chat."
                },
                Some(c) if c.email.is_none() && c.phone.is_none() && c.xmpp.is_none() => {
                    p.bc-none { "No contact details shared." }
                }
                Some(c) => dl.bc-contacts {
                    @if let Some(email) = &c.email {
                        dt { "E-mail" } dd { a href=(format!("mailto:{email}")) { (email) } }
                    }
                    @if let Some(phone) = &c.phone {
                        dt { "Phone" } dd { a href=(format!("tel:{phone}")) { (phone) } }
                    }
                    @if let Some(xmpp) = &c.xmpp {
                        dt { "XMPP" } dd { a href=(format!("xmpp:{xmpp}")) { (xmpp) } }
                    }
                },
            }
        }
    }
}

fn edit_forms(view: &PageView<'_>, me: &Caller, form: &ProfileForm) -> Markup {
    let profile = &view.profile;
    let base = profiles::page_url(&profile.id);
    let max_picture = protocol::size::human_size(view.max_picture);
    html! {
        section #edit aria-labelledby="h-edit" {
            h2 #h-edit { "Edit your profile" }
            form.bc-stack #bc-profile-form method="post" action=(format!("{base}/profile")) {
                (csrf(me))
                label for="bc-name" { "Display name (empty: your wiki name)" }
                input #bc-name type="text" name="name" maxlength=(MAX_NAME_CHARS) value=(form.name);
                label for="bc-status" { "Status, e.g. in a workshop" }
                input #bc-status-text type="text" name="status" maxlength=(MAX_STATUS_CHARS)
                    value=(form.status);
                label for="bc-status-until" { "Status until (your time zone; empty: no end)" }
                input #bc-status-until type="datetime-local" name="status_until"
                    value=(form.status_until);
                label for="bc-time-zone" { "Time zone" }
                select #bc-time-zone name="time_zone" {
                    option value="" selected[form.time_zone.is_empty()] { "Not set" }
                    @if !form.time_zone.is_empty() && form.time_zone.parse::<Tz>().is_err() {
                        option value=(form.time_zone) selected { (form.time_zone) }
                    }
                    @for zone in chrono_tz::TZ_VARIANTS.iter() {
                        option selected[zone.name() == form.time_zone] { (zone.name()) }
                    }
                }
                p.bc-hint { "Shown only to people who are signed in:" }
                label for="bc-email" { "E-mail" }
                input #bc-email type="email" name="email" maxlength="254" value=(form.email);
                label for="bc-phone" { "Phone (+ and country code)" }
                input #bc-phone type="tel" name="phone" maxlength="32" value=(form.phone);
                label for="bc-xmpp" { "XMPP address" }
                input #bc-xmpp type="text" name="xmpp" maxlength="254" value=(form.xmpp);
                button.bc-primary type="submit" { "Save profile" }
            }
            form.bc-stack #bc-avatar-form method="post" action=(format!("{base}/avatar"))
                enctype="multipart/form-data" {
                (csrf(me))
                label for="bc-avatar" {
                    "New picture (PNG, JPEG, GIF or WebP, up to " (max_picture) ")"
                }
                input #bc-avatar type="file" name="avatar" required
                    accept="image/png,image/jpeg,image/gif,image/webp";
                button type="submit" { "Upload picture" }
            }
            @if profile.has_avatar {
                form.bc-inline #bc-avatar-remove method="post" action=(format!("{base}/avatar/remove")) {
                    (csrf(me))
                    button.bc-danger type="submit" { "Remove picture" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ErrorCode;

    #[test]
    fn the_form_reads_its_expiry_in_the_zone_chosen() {
        let form = ProfileForm {
            status: "out".into(),
            status_until: "2030-07-01T15:00".into(),
            time_zone: "Europe/Berlin".into(),
            ..Default::default()
        };
        let edit = form.edit().unwrap();
        assert_eq!(
            edit.status_until.unwrap().to_rfc3339(),
            "2030-07-01T13:00:00+00:00"
        );
        assert_eq!((edit.name, edit.email), (None, None), "blank clears");
        let bad = ProfileForm {
            time_zone: "Nowhere/Else".into(),
            ..Default::default()
        };
        assert_eq!(bad.edit().unwrap_err().code, ErrorCode::InvalidInput);
    }
}
