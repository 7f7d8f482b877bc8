//! The JSON HTTP API for profiles (docs/API.md, "Profiles"), and the
//! pictures themselves. The rules live in [`profiles`]; these handlers
//! only translate HTTP.
//!
//! - `GET /api/users/{user}/profile`: a [`UserProfile`] (contacts for
//!   signed-in callers only).
//! - `PUT /api/users/me/profile`: a [`ProfileEdit`], JSON, same origin.
//! - `PUT /api/users/me/avatar`: the picture as the raw body, sent as
//!   `image/...` or `application/octet-stream` (types a cross-site page
//!   cannot send without a preflight; others get 415); one past
//!   `avatar_max_bytes` is refused with 413 from its `Content-Length`, or
//!   as soon as that many bytes have arrived, never read whole.
//! - `DELETE /api/users/me/avatar`.
//! - `GET /users/{user}/avatar/{size}`: the picture at one of
//!   [`avatars::SIZES`] (any other size 404), or the letter image. Served
//!   with its exact type, `nosniff` and a CSP that allows nothing (a
//!   sandbox: an SVG opened on its own runs no script, loads nothing). A
//!   URL whose `?v=` is the picture's current version is cached for a
//!   year (`immutable`: a new picture gets a new URL); anything else,
//!   the letter image included, is revalidated every time by its ETag.
//!   An unknown user is a 404, like their profile page: profiles are
//!   public, so that reveals nothing the page would not.
//!
//! `me` stands for the caller in the write routes; their own id works too,
//! anyone else's is a 403.

use crate::avatars;
use crate::error::AppError;
use crate::extract::{Json, MaybeCaller, Query, SameOrigin};
use crate::profiles;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use protocol::{ErrorCode, ProfileEdit, UserId, UserProfile};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The CSP of a picture: nothing may load or run, styles inline in the
/// letter SVG aside.
pub const AVATAR_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users/{user}/profile", get(show).put(update))
        .route(
            "/api/users/{user}/avatar",
            axum::routing::put(upload).delete(remove),
        )
        .route("/users/{user}/avatar/{size}", get(picture))
}

async fn show(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
) -> Result<Json<UserProfile>, AppError> {
    Ok(Json(profiles::view(&state, caller.as_ref(), &user).await?))
}

async fn update(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
    _: SameOrigin,
    Json(edit): Json<ProfileEdit>,
) -> Result<Json<UserProfile>, AppError> {
    Ok(Json(
        profiles::save(&state, caller.as_ref(), &user, edit).await?,
    ))
}

async fn upload(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
    _: SameOrigin,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UserProfile>, AppError> {
    // Who and what first, so nobody else's bytes are read at all.
    profiles::owner(&state, caller.as_ref(), &user).await?;
    // A type a cross-site page cannot send without a preflight (so never
    // text/plain or a form): the picture's own, or octet-stream.
    let declared_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !(declared_type.starts_with("image/") || declared_type == "application/octet-stream") {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the picture as the body, with its image/... content type",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared {
        profiles::check_avatar_size(&state, declared)?;
    }
    let max = usize::try_from(state.config.avatar_max_bytes).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        // The only way to go wrong after the length check: more bytes than
        // allowed (or a broken connection, whose client sees nothing).
        AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a profile picture may be at most {}",
                protocol::size::human_size(state.config.avatar_max_bytes)
            ),
        )
    })?;
    Ok(Json(
        profiles::set_avatar(&state, caller.as_ref(), &user, bytes.to_vec()).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(user): Path<UserId>,
    _: SameOrigin,
) -> Result<Json<UserProfile>, AppError> {
    Ok(Json(
        profiles::clear_avatar(&state, caller.as_ref(), &user).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct Version {
    v: Option<String>,
}

/// `GET /users/{user}/avatar/{size}`.
async fn picture(
    State(state): State<AppState>,
    Path((user, size)): Path<(UserId, String)>,
    Query(query): Query<Version>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let size: u32 = size
        .parse()
        .ok()
        .filter(|s| avatars::SIZES.contains(s))
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no picture of that size"))?;
    // Unknown users are a 404 (see the module doc); the face also names
    // the letter image.
    if state.host.user(&user).await?.is_none() {
        return Err(AppError::new(ErrorCode::NotFound, "no such person"));
    }
    let stored = state.store.avatar(&user, size).await?;
    let (content_type, bytes, etag, current) = match stored {
        Some(image) => {
            let etag = format!("\"v{}-{size}\"", image.version);
            let current = query.v.as_deref() == Some(image.version.to_string().as_str());
            (image.content_type, image.bytes, etag, current)
        }
        None => {
            let face = profiles::face(&state, &user).await?;
            let svg = avatars::letter_svg(&user, &face.name, size).into_bytes();
            let digest = Sha256::digest(&svg);
            let etag = format!("\"l{}\"", hex(&digest[..12]));
            ("image/svg+xml".to_owned(), svg, etag, false)
        }
    };
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| sent.split(',').any(|tag| tag.trim() == etag));
    let mut response = if matched {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(AVATAR_CSP),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    Ok(response)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
