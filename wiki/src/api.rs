//! The wiki's JSON API for scripts and the browser UI:
//! `GET|PUT|DELETE /api/pages/{path}` and
//! `GET|PUT /api/pages/{path}/permissions`.
//!
//! Errors use the plugin's shape (`{"error":{"code","message"}}`). A page the
//! caller may not read is a 404, exactly like a missing one. Writes need a
//! signed-in caller (401) with edit rights (403); permissions need edit
//! rights to read and admin rights to change. Cookie-authenticated writes
//! must come from this site's own origin (a JSON `PUT` cannot be sent
//! cross-site without a CORS preflight we never grant, but the layer
//! `plugin::origin::refuse_cross_site_writes` over every wiki route checks
//! anyway).
//!
//! Because the page path is a wildcard, a last segment `permissions` always
//! means the permissions of the page above it.

use crate::acl::{self, Permissions};
use crate::key::PageKey;
use crate::pages::{self, Page, PagePath};
use crate::sessions::Session;
use crate::state::Wiki;
use crate::store::Store;
use crate::users::Member;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use plugin::extract::Json;
use plugin::{Access, AppError};
use protocol::ErrorCode;
use serde::{Deserialize, Serialize};

pub use crate::pages::MAX_MARKDOWN_BYTES;
/// Longest page title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most principals in one permission list.
const MAX_PRINCIPALS: usize = 200;

pub fn routes() -> Router<Wiki> {
    Router::new().route(
        "/api/pages/{*path}",
        get(get_any).put(put_any).delete(delete_page),
    )
}

/// `GET /api/pages/{path}` answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageJson {
    pub id: String,
    pub path: String,
    pub title: String,
    pub markdown: String,
    /// The parent's path, `null` for a top-level page.
    pub parent: Option<String>,
    /// Paths of the direct children the caller may read.
    pub children: Vec<String>,
    pub url: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// `PUT /api/pages/{path}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutPage {
    title: Option<String>,
    markdown: String,
}

/// Splits `Team/Plan/permissions` into (`Team/Plan`, true).
fn split(path: &str) -> (&str, bool) {
    match path.trim_end_matches('/').strip_suffix("/permissions") {
        Some(page) => (page, true),
        None => (path, false),
    }
}

fn no_page() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such page")
}

fn parse(path: &str) -> Result<PagePath, AppError> {
    // An invalid path cannot name a page: same answer as a missing one.
    PagePath::parse(path).map_err(|_| no_page())
}

/// Validates what a page write carries.
pub fn check_content(title: Option<&str>, markdown: &str) -> Result<(), AppError> {
    if markdown.len() > MAX_MARKDOWN_BYTES {
        return Err(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("page text is limited to {MAX_MARKDOWN_BYTES} bytes"),
        ));
    }
    if let Some(title) = title {
        if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "a title is at most {MAX_TITLE_CHARS} characters, without control characters"
                ),
            ));
        }
    }
    Ok(())
}

async fn get_any(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let session = wiki.session(&headers).await;
    let member = session.map(|s| s.member);
    let (path, permissions) = split(&path);
    let path = parse(path)?;
    if permissions {
        get_permissions(&wiki, member, path).await
    } else {
        get_page(&wiki, member, path).await
    }
}

async fn put_any(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    // `Json` insists on `Content-Type: application/json`: a cross-site form
    // can send `text/plain` without a preflight, never JSON.
    Json(value): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let session = wiki.session(&headers).await;
    let (path, permissions) = split(&path);
    let path = parse(path)?;
    if permissions {
        let input: Permissions =
            serde_json::from_value(value).map_err(|e| AppError::bad_request(e.to_string()))?;
        put_permissions(&wiki, session, path, input).await
    } else {
        let input: PutPage =
            serde_json::from_value(value).map_err(|e| AppError::bad_request(e.to_string()))?;
        put_page(&wiki, session, path, input).await
    }
}

/// Reads one page for `member`, with its readable children.
async fn get_page(
    wiki: &Wiki,
    member: Option<Member>,
    path: PagePath,
) -> Result<Response, AppError> {
    let store = wiki.store.as_ref();
    let target = acl::target(store, member.as_ref(), &path).await?;
    let Some(page) = target.page.filter(|_| target.access >= Access::Read) else {
        return Err(no_page());
    };
    let children = readable_children(store, member.as_ref(), page.id).await?;
    Ok(Json(page_json(page, children)).into_response())
}

/// The paths of a page's children that `who` may read.
async fn readable_children(
    store: &dyn Store,
    who: Option<&Member>,
    page_id: i64,
) -> anyhow::Result<Vec<String>> {
    let mut children = Vec::new();
    for child in store.children(page_id).await? {
        if acl::access(store, who, child.id).await? >= Access::Read {
            children.push(child.path.to_string());
        }
    }
    Ok(children)
}

fn page_json(page: Page, children: Vec<String>) -> PageJson {
    PageJson {
        id: page.id.to_string(),
        url: page.path.url(),
        parent: page.path.parent().map(|p| p.to_string()),
        path: page.path.to_string(),
        title: page.title,
        markdown: page.markdown,
        children,
        updated_at: page.updated_at,
        updated_by: page.updated_by,
    }
}

/// What a write is refused for, in order: the page is invisible (404), the
/// caller is anonymous (401), the caller lacks `needed` (403).
pub fn refuse(access: Access, signed_in: bool, needed: Access, what: &str) -> Result<(), AppError> {
    if access < Access::Read {
        Err(no_page())
    } else if !signed_in {
        Err(AppError::unauthenticated())
    } else if access < needed {
        Err(AppError::forbidden(format!("you may not {what}")))
    } else {
        Ok(())
    }
}

/// The existing page at `path`, if `member` may do `what` (needing `needed`)
/// there; otherwise the refusal [`refuse`] gives, or 404 for no page.
async fn page_for(
    store: &dyn Store,
    member: Option<&Member>,
    path: &PagePath,
    needed: Access,
    what: &str,
) -> Result<Page, AppError> {
    let target = acl::target(store, member, path).await?;
    let Some(page) = target.page else {
        return Err(no_page());
    };
    refuse(target.access, member.is_some(), needed, what)?;
    Ok(page)
}

async fn put_page(
    wiki: &Wiki,
    session: Option<Session>,
    path: PagePath,
    input: PutPage,
) -> Result<Response, AppError> {
    check_content(input.title.as_deref(), &input.markdown)?;
    let member = session.map(|s| s.member);
    let store = wiki.store.as_ref();
    let target = acl::target(store, member.as_ref(), &path).await?;
    let if_missing = acl::access_if_missing(store, member.as_ref(), &path).await?;
    let hidden_parent = target.page.is_none() && if_missing != target.access;
    if (target.page.is_some() && target.access < Access::Read) || hidden_parent {
        // A hidden page (or a missing one under a hidden page) answers like
        // a missing one the caller may not create (404 or 403, as a missing
        // page at this path would).
        refuse(
            if_missing.min(Access::Read),
            member.is_some(),
            Access::Write,
            "edit this page",
        )?;
    }
    refuse(
        target.access,
        member.is_some(),
        Access::Write,
        "edit this page",
    )?;
    let Some(member) = member else {
        return Err(AppError::unauthenticated());
    };
    page_write_budget(wiki, &member)?;
    let written = pages::put(
        store,
        &path,
        input.title.as_deref(),
        &input.markdown,
        &member.user.name,
    )
    .await?;
    let page = store
        .page_by_id(written.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("page {} vanished", written.id))?;
    let children = readable_children(store, Some(&member), page.id).await?;
    let (created, page) = (written.created, page_json(page, children));
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(page)).into_response())
}

/// Takes one page write from `member`'s budget, or refuses with 429.
fn page_write_budget(wiki: &Wiki, member: &Member) -> Result<(), AppError> {
    wiki.take_page_write(&member.user.name)
        .map_err(|wait| AppError {
            message: "too many page changes; slow down".into(),
            ..AppError::rate_limited(wait)
        })
}

async fn delete_page(
    State(wiki): State<Wiki>,
    key: PageKey,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let session = wiki.session(&headers).await;
    // An invalid path cannot name a page: same answer as a missing one.
    let path = key.path().ok_or_else(no_page)?;
    let member = session.map(|s| s.member);
    let store = wiki.store.as_ref();
    let page = page_for(
        store,
        member.as_ref(),
        path,
        Access::Write,
        "delete this page",
    )
    .await?;
    if !store.children(page.id).await?.is_empty() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "move or delete this page's child pages first",
        ));
    }
    if let Some(member) = &member {
        page_write_budget(&wiki, member)?;
    }
    pages::delete(store, &wiki.chat, page.id).await?;
    wiki.epoch.refresh(store).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_permissions(
    wiki: &Wiki,
    member: Option<Member>,
    path: PagePath,
) -> Result<Response, AppError> {
    let store = wiki.store.as_ref();
    let page = page_for(
        store,
        member.as_ref(),
        &path,
        Access::Write,
        "see this page's permissions",
    )
    .await?;
    Ok(Json(store.permissions(page.id).await?).into_response())
}

/// Checks a permissions document before it is stored.
pub fn check_permissions(perms: &Permissions) -> Result<(), AppError> {
    if perms.view.len() > MAX_PRINCIPALS || perms.edit.len() > MAX_PRINCIPALS {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("at most {MAX_PRINCIPALS} principals per list"),
        ));
    }
    Ok(())
}

async fn put_permissions(
    wiki: &Wiki,
    session: Option<Session>,
    path: PagePath,
    input: Permissions,
) -> Result<Response, AppError> {
    check_permissions(&input)?;
    let member = session.map(|s| s.member);
    let store = wiki.store.as_ref();
    // Only site admins pass: their access never depends on the page's own
    // rules, so checking before the write cannot race with it.
    let page = page_for(
        store,
        member.as_ref(),
        &path,
        Access::Admin,
        "change this page's permissions",
    )
    .await?;
    store.set_permissions(page.id, &input).await?;
    let stored = store.permissions(page.id).await?;
    wiki.epoch.refresh(store).await;
    Ok(Json(stored).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_suffix_splits() {
        assert_eq!(split("Team/permissions"), ("Team", true));
        assert_eq!(split("Team/Plan"), ("Team/Plan", false));
        assert_eq!(split("permissions"), ("permissions", false));
    }
}
