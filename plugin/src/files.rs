//! Files in rooms: upload, storage, listing and safe serving.
//!
//! An upload streams to a staging file while its SHA-256 is computed and
//! its size is counted; past the limit it is abandoned (and deleted) with a
//! 413. A finished upload is kept under its hash (content-addressed: the same
//! bytes are stored once) by a [`Blobs`] store — on disk under the data
//! directory by default; an object store can implement the same trait for
//! several nodes. The file is then shared as a message in the room.
//!
//! Limits, checked when a file's first bytes arrive: the per-user upload
//! rate, and the quotas: bytes of files still shared (message not deleted)
//! per user across rooms and per room (`Config::user_upload_quota`,
//! `Config::room_upload_quota`; `quota_exceeded`, 413), checked again with
//! the real size once the file is in. Deleting the message frees the quota
//! and, once nothing else shares the bytes, the disk ([`crate::collector`]).
//!
//! Serving checks read access to the room on every request (a file URL is
//! useless to someone who may not read the page: 404). Every response carries
//! `nosniff` and a sandboxing CSP; only PNG, JPEG, GIF and WebP whose bytes
//! really are that format are shown inline, everything else is a download.
//! The type comes from the bytes, never from the uploader's claim or name.

use crate::chat::{self, Draft};
use crate::error::AppError;
use crate::extract::{Json, MaybeCaller, SameOrigin};
use crate::state::AppState;
use crate::store::StoredFile;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use protocol::{ErrorCode, Message, RoomId, Uploaded};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

pub use crate::blobs::{Blobs, DiskBlobs, Staged};
pub use crate::config::DEFAULT_MAX_UPLOAD_BYTES;
pub use crate::sniff::sniff_image;

/// Longest stored file name, in characters.
const MAX_NAME_CHARS: usize = 150;
/// Headers and form fields around the file in a multipart body.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// Longest `csrf` or `client_msg_id` form field.
const MAX_TOKEN_FIELD: usize = 1024;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route(
            "/api/rooms/{room}/files",
            post(upload).layer(upload_body_limit(max_upload_bytes)),
        )
        .route("/files/{room}/{id}/{name}", get(download))
}

/// The request body limit for routes that take uploads: the file cap plus
/// room for the other form fields (the file itself is counted exactly while
/// it streams).
pub fn upload_body_limit(max_upload_bytes: u64) -> DefaultBodyLimit {
    let limit = usize::try_from(max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(MULTIPART_OVERHEAD);
    DefaultBodyLimit::max(limit)
}

/// Removes a staging file when dropped, unless it was kept.
struct StagingGuard(Option<PathBuf>);

impl Drop for StagingGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `POST /api/rooms/{room}/files`: multipart with a `file` field and
/// optional `body` (a comment) and `client_msg_id`.
async fn upload(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(room): Path<RoomId>,
    _: SameOrigin,
    multipart: Multipart,
) -> Result<(StatusCode, Json<Uploaded>), AppError> {
    let form = receive(&state, caller.as_ref(), &room, multipart).await?;
    let Some(file) = form.file else {
        return Err(AppError::bad_request(
            "send the file in a multipart field named `file`",
        ));
    };
    let message = share(
        &state,
        caller.as_ref(),
        &room,
        file,
        form.body,
        form.client_msg_id,
        form.reply_to,
    )
    .await?;
    let attachment = message
        .attachments
        .first()
        .cloned()
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "the file was not attached"))?;
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            file: attachment,
            message,
        }),
    ))
}

/// What a multipart upload form held.
pub struct UploadForm {
    pub file: Option<(StoredFile, Staged)>,
    pub body: String,
    pub client_msg_id: String,
    pub csrf: String,
    /// The message this one replies to (the no-JavaScript reply form).
    pub reply_to: Option<u64>,
    /// Where the form was posted from (see `popup_forms`).
    pub back: String,
}

/// Reads a multipart form, streaming its `file` field to staging. Checks
/// that the caller may post in the room *before* taking the bytes.
pub async fn receive(
    state: &AppState,
    caller: Option<&crate::host::Caller>,
    room: &RoomId,
    mut multipart: Multipart,
) -> Result<UploadForm, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let authorized = chat::authorize(state, Some(caller), room).await?;
    if authorized.access < crate::host::Access::Write {
        return Err(AppError::forbidden(
            "sharing files needs edit rights on the page",
        ));
    }
    let mut form = UploadForm {
        file: None,
        body: String::new(),
        client_msg_id: String::new(),
        csrf: String::new(),
        reply_to: None,
        back: String::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = sanitize_name(&unescape_form_file_name(
                    field.file_name().unwrap_or_default(),
                ));
                let staged = stream_to_staging(state, caller, room, field).await?;
                if let Some(staged) = staged {
                    check_quota(state, caller, room, staged.size).await?;
                    let file = StoredFile {
                        id: uuid::Uuid::now_v7().simple().to_string(),
                        name,
                        size: staged.size,
                        content_type: sniff_image(&staged.head).map(str::to_owned),
                        sha256: staged.sha256.clone(),
                    };
                    form.file = Some((file, staged));
                }
            }
            // Room past the message limit, so a slightly long message gets
            // `message_too_large` and is shown back to its author.
            "body" => {
                let max = state.config.max_body_bytes.saturating_mul(2);
                form.body = small_text(field, max).await?;
            }
            "client_msg_id" => form.client_msg_id = small_text(field, MAX_TOKEN_FIELD).await?,
            "csrf" => form.csrf = small_text(field, MAX_TOKEN_FIELD).await?,
            "back" => form.back = small_text(field, MAX_TOKEN_FIELD).await?,
            "reply_to" => {
                let seq = small_text(field, MAX_TOKEN_FIELD).await?;
                form.reply_to =
                    Some(seq.trim().parse().map_err(|_| {
                        AppError::bad_request("`reply_to` must be a message number")
                    })?);
            }
            _ => {}
        }
    }
    Ok(form)
}

/// Reads a text field of at most `max` bytes; a longer one is refused
/// (413) as soon as it passes the limit, without buffering the rest.
pub(crate) async fn small_text(
    mut field: axum::extract::multipart::Field<'_>,
    max: usize,
) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max {
            return Err(AppError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the form field {:?} may hold at most {max} bytes",
                    field.name().unwrap_or_default()
                ),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| AppError::bad_request("a form field is not UTF-8"))
}

/// Keeps the staged bytes and posts the message that shares them.
pub async fn share(
    state: &AppState,
    caller: Option<&crate::host::Caller>,
    room: &RoomId,
    (file, staged): (StoredFile, Staged),
    body: String,
    client_msg_id: String,
    reply_to: Option<u64>,
) -> Result<Message, AppError> {
    // From keeping the bytes until the message naming them commits, no
    // collection may take them (see crate::collector).
    let _pinned = state.blob_gate.read().await;
    state.blobs.keep(&staged).await.map_err(|e| {
        tracing::error!(error = ?e, "keeping an upload");
        AppError::new(ErrorCode::Internal, "could not store the file")
    })?;
    let body = if body.trim().is_empty() {
        format!("shared a file: {}", file.name)
    } else {
        body
    };
    let client_msg_id = if client_msg_id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        client_msg_id
    };
    chat::post(
        state,
        caller,
        room,
        Draft {
            body,
            client_msg_id,
            reply_to,
            files: vec![file],
        },
    )
    .await
}

/// Streams one multipart field to a staging file, hashing it. `Ok(None)`
/// for an empty field (a form sent with no file chosen). The upload rate
/// limit and the quotas are checked when the first bytes arrive, before
/// anything is written: an empty field (the no-JavaScript form sending
/// only text) costs nothing.
async fn stream_to_staging(
    state: &AppState,
    caller: &crate::host::Caller,
    room: &RoomId,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Option<Staged>, AppError> {
    let limit = state.config.max_upload_bytes;
    let mut staging: Option<(tokio::fs::File, StagingGuard, PathBuf)> = None;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(16);
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if chunk.is_empty() {
            continue;
        }
        let (out, _, _) = match &mut staging {
            Some(open) => open,
            None => {
                state.upload_limiter.admit(&caller.id, "uploads")?;
                check_quota(state, caller, room, 1).await?;
                let path = state.blobs.staging_path().map_err(internal)?;
                let guard = StagingGuard(Some(path.clone()));
                let out = tokio::fs::File::create(&path).await.map_err(internal)?;
                staging.insert((out, guard, path))
            }
        };
        size += chunk.len() as u64;
        if size > limit {
            // The guard deletes the partial file: nothing is left behind.
            return Err(too_large(limit));
        }
        if head.len() < 16 {
            let take = (16 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(internal)?;
    }
    let Some((out, mut guard, path)) = staging else {
        return Ok(None);
    };
    out.sync_all().await.map_err(internal)?;
    drop(out);
    guard.0 = None;
    Ok(Some(Staged {
        path,
        sha256: hex(&hasher.finalize()),
        size,
        head,
    }))
}

/// Refuses an upload of `size` more bytes that would take the caller or
/// the room past its quota (`quota_exceeded`, 413). Concurrent uploads are
/// each checked against what is stored, so they can overshoot a quota by
/// at most their own sizes.
async fn check_quota(
    state: &AppState,
    caller: &crate::host::Caller,
    room: &RoomId,
    size: u64,
) -> Result<(), AppError> {
    let (user_quota, room_quota) = (
        state.config.user_upload_quota,
        state.config.room_upload_quota,
    );
    if user_quota == 0 && room_quota == 0 {
        return Ok(());
    }
    let usage = state.store.upload_usage(room, &caller.id).await?;
    let over = |used: u64, quota: u64| quota > 0 && used.saturating_add(size) > quota;
    let refuse = |whose: &str, used: u64, quota: u64| {
        AppError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "{whose} files take {} of the {} allowed; delete some to share more",
                protocol::size::human_size(used),
                protocol::size::human_size(quota)
            ),
        )
    };
    if over(usage.user_bytes, user_quota) {
        return Err(refuse("your", usage.user_bytes, user_quota));
    }
    if over(usage.room_bytes, room_quota) {
        return Err(refuse("this room's", usage.room_bytes, room_quota));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn too_large(limit: u64) -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "files may be at most {} MiB",
            limit as f64 / 1024.0 / 1024.0
        ),
    )
}

pub(crate) fn multipart_error(error: axum::extract::multipart::MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(ErrorCode::PayloadTooLarge, "the upload is too large");
    }
    AppError::bad_request(format!("bad multipart body: {}", error.body_text()))
}

fn internal(error: impl std::fmt::Debug) -> AppError {
    tracing::error!(?error, "file storage failed");
    AppError::new(ErrorCode::Internal, "could not store the file")
}

/// Undoes the escaping browsers apply to file names in `multipart/form-data`
/// (the HTML standard turns `"`, CR and LF into `%22`, `%0D` and `%0A`), so
/// a file called `"a".txt` keeps its name. Nothing else is decoded: a name
/// with `%41` in it stays as it is.
pub fn unescape_form_file_name(raw: &str) -> String {
    raw.replace("%22", "\"")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
}

/// A file name safe to store and show: the last path component, no control
/// characters, no leading dots, at most 150 characters. (It is still escaped
/// wherever it is shown.)
pub fn sanitize_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// The static name of an allow-listed image type.
fn sniffed_type(stored: &str) -> Option<&'static str> {
    ["image/png", "image/jpeg", "image/gif", "image/webp"]
        .into_iter()
        .find(|t| *t == stored)
}

/// `GET /files/{room}/{id}/{name}`.
async fn download(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path((room, id, _name)): Path<(RoomId, String, String)>,
) -> Result<Response, AppError> {
    let room = chat::authorize(&state, caller.as_ref(), &room).await?.room;
    let file = state
        .store
        .file(&room.id, &id)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such file"))?;
    let (body, size) = state
        .blobs
        .open(&file.sha256)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "the file's bytes are missing"))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    // Only the allow-listed raster types sniffed at upload are shown inline.
    let (content_type, disposition) = match file.content_type.as_deref().and_then(sniffed_type) {
        Some(image) => (image, "inline"),
        None => ("application/octet-stream", "attachment"),
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(disposition, &file.name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `inline|attachment; filename="ascii"; filename*=UTF-8''percent-encoded`.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_name(".htaccess"), "htaccess");
        assert_eq!(sanitize_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(sanitize_name(""), "file");
        assert_eq!(sanitize_name("/"), "file");
        let long = "x".repeat(500);
        assert_eq!(sanitize_name(&long).chars().count(), MAX_NAME_CHARS);
        // Markup survives as text; every view escapes it.
        assert_eq!(
            sanitize_name("\"><img src=x onerror=alert(1)>.txt"),
            "\"><img src=x onerror=alert(1)>.txt"
        );
    }

    #[test]
    fn browser_escapes_in_file_names_are_undone() {
        assert_eq!(
            unescape_form_file_name("%22><img src=x onerror=alert(1)>.txt"),
            "\"><img src=x onerror=alert(1)>.txt"
        );
        // CR and LF come back, and sanitising then drops them.
        assert_eq!(
            sanitize_name(&unescape_form_file_name("a%0D%0Ab.txt")),
            "ab.txt"
        );
        assert_eq!(unescape_form_file_name("100%41.txt"), "100%41.txt");
    }

    #[test]
    fn content_disposition_is_safe_for_any_name() {
        let header = content_disposition("attachment", "\"><b>.txt");
        assert!(header.starts_with("attachment; filename=\"__"));
        assert!(header.contains("filename*=UTF-8''%22%3E%3Cb%3E%2Etxt"));
        assert!(HeaderValue::from_str(&header).is_ok());
    }
}
