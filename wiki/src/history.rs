//! A page's revision history (`/history/{path}`), a page of revisions at a
//! time, and one revision in full (`?rev=ID`).
//!
//! The listing reads `limit` revisions (default [`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]) older than the `before` cursor, newest first, and never
//! their bodies, only their sizes: a page edited thousands of times costs
//! the same to list as one edited fifty times, for anonymous readers of a
//! public page as for everyone else. Only `?rev=` loads a body, one.
//! Reading needs read access to the page, like the page itself.

use crate::edit::{context, require_page, tool_url};
use crate::error::PageError;
use crate::key::PageKey;
use crate::layout::layout;
use crate::state::Wiki;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;
use plugin::Access;
use serde::Deserialize;

/// Revisions listed per page of history unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most revisions one page of history lists.
pub const MAX_LIMIT: usize = 200;

pub fn routes() -> Router<Wiki> {
    Router::new().route("/history/{*path}", get(history))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    /// One revision to show in full.
    rev: Option<i64>,
    /// List revisions older than this id (the "Older" link's cursor).
    before: Option<i64>,
    limit: Option<usize>,
}

async fn history(
    State(wiki): State<Wiki>,
    key: PageKey,
    Query(query): Query<HistoryQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("history", &ctx.path);
    let page = require_page(&ctx, &here, Access::Read, "see this page")?;
    let store = wiki.store.as_ref();
    let one = match query.rev {
        Some(rev) => store.revision(page.id, rev).await?,
        None => None,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let revisions = store.revisions(page.id, query.before, limit).await?;
    // A full page may have more behind it; one more read would tell, but
    // an "Older" link that leads to an empty list costs less.
    let older = (revisions.len() == limit)
        .then(|| revisions.last().map(|r| r.id))
        .flatten()
        .map(|id| format!("{here}?before={id}&limit={limit}"));
    let heading = format!("History of {}", page.title);
    let body = html! {
        h1 { (heading) }
        p { a href=(page.path.url()) { "Back to the page" } }
        @if let Some(rev) = &one {
            section.revision {
                h2 { "Revision " (rev.id) ": " (rev.title) }
                p { "By " (rev.author) " at " time datetime=(rev.created_at) { (rev.created_at) } }
                pre.revision-markdown { (rev.markdown) }
            }
        }
        table.history {
            thead { tr { th { "When" } th { "Who" } th { "Title" } th { "Size" } } }
            tbody {
                @for rev in &revisions {
                    tr {
                        td { a href=(format!("{here}?rev={}", rev.id)) { time datetime=(rev.created_at) { (rev.created_at) } } }
                        td { (rev.author) }
                        td { (rev.title) }
                        td { (rev.bytes) " bytes" }
                    }
                }
            }
        }
        nav.history-pages {
            @if query.before.is_some() { a href=(here) { "Newest" } " " }
            @if let Some(older) = &older { a rel="next" href=(older) { "Older revisions" } }
        }
    };
    Ok(layout(&heading, ctx.session.as_ref(), &here, body).into_response())
}
