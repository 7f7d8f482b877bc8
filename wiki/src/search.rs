//! Full-text search over page titles and bodies: `GET /search?q=&page=`
//! (HTML, the box in every page's header) and `GET /api/search?q=&page=`
//! (`{total, page, per_page, results: [{path, title, url, snippet}]}`).
//!
//! # Backends
//! The index lives in the wiki's store, updated in the same transaction as
//! the pages: FTS5 on SQLite, a generated `tsvector` with a GIN index on
//! PostgreSQL (see [`crate::store::sqlite`] and [`crate::store::postgres`]
//! for why each). Both get the parsed [`Term`](crate::query::Term)s, never the raw input, and
//! return ranked page ids and sentinel-marked snippets; everything below
//! (parsing, permission filtering, paging, escaping) is shared, so results
//! and filtering are the same on either backend.
//!
//! # Permissions
//! Every hit is checked against the searcher's access ([`crate::acl::AccessMap`])
//! **before** counting and paging, so a page the searcher may not view never
//! shows up, not in the results and not in `total`.
//!
//! Parsing queries and cutting snippets live below the store, in
//! [`crate::query`].

use crate::error::PageError;
use crate::layout::layout;
use crate::pages::PagePath;
use crate::query::{highlight, terms};
use crate::state::Wiki;
use crate::store::Store;
use crate::users::Member;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, PreEscaped};
use plugin::extract::{Json, Query};
use plugin::{Access, AppError};
use serde::{Deserialize, Serialize};

/// Results per page.
pub const PER_PAGE: usize = 20;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/search", get(search_page))
        .route("/api/search", get(search_api))
}

/// One search result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hit {
    pub path: String,
    pub title: String,
    pub url: String,
    /// Safe HTML: escaped text with `<mark>` around the matches.
    pub snippet: String,
}

/// One page of results.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Results {
    /// How many pages the searcher may view match, over all result pages.
    pub total: usize,
    /// 1-based result page.
    pub page: usize,
    pub per_page: usize,
    pub results: Vec<Hit>,
}

/// Searches for `who`, returning result page `page` (1-based).
pub async fn search(
    store: &dyn Store,
    who: Option<&Member>,
    input: &str,
    page: usize,
) -> anyhow::Result<Results> {
    let page = page.max(1);
    let terms = terms(input);
    // Every match, best first; then keep only what `who` may view.
    let ids = if terms.is_empty() {
        Vec::new()
    } else {
        store.search(&terms).await?
    };
    if ids.is_empty() {
        return Ok(Results {
            total: 0,
            page,
            per_page: PER_PAGE,
            results: Vec::new(),
        });
    }
    let mut access = store.access_map().await?;
    let visible: Vec<i64> = ids
        .into_iter()
        .filter(|&id| access.access(who, id) >= Access::Read)
        .collect();
    let total = visible.len();
    let start = (page - 1).saturating_mul(PER_PAGE);
    let slice: Vec<i64> = visible.into_iter().skip(start).take(PER_PAGE).collect();
    let hits = if slice.is_empty() {
        Vec::new()
    } else {
        store.hits(&terms, &slice).await?
    };
    let results = hits
        .into_iter()
        .map(|hit| Hit {
            url: PagePath::parse(&hit.path)
                .map(|p| p.url())
                .unwrap_or_else(|_| "/".to_owned()),
            path: hit.path,
            title: hit.title,
            snippet: highlight(&hit.snippet),
        })
        .collect();
    Ok(Results {
        total,
        page,
        per_page: PER_PAGE,
        results,
    })
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Lenient: anything that is not a positive number means page 1.
    page: Option<String>,
}

impl SearchQuery {
    fn page(&self) -> usize {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<usize>().ok())
            .filter(|&p| p >= 1)
            .unwrap_or(1)
            .min(10_000)
    }
}

async fn run(
    wiki: &Wiki,
    member: Option<Member>,
    q: String,
    page: usize,
) -> anyhow::Result<Results> {
    search(wiki.store.as_ref(), member.as_ref(), &q, page).await
}

async fn search_api(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Results>, AppError> {
    let member = wiki.session(&headers).await.map(|s| s.member);
    let page = query.page();
    Ok(Json(run(&wiki, member, query.q, page).await?))
}

async fn search_page(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<SearchQuery>,
) -> Result<Response, PageError> {
    let session = wiki.page_session(&headers).await;
    let member = session.as_ref().map(|s| s.member.clone());
    let page = query.page();
    let q = query.q.clone();
    let results = run(&wiki, member, q.clone(), page).await?;
    let searchable = !terms(&q).is_empty();
    let pages = results.total.div_ceil(PER_PAGE);
    let link = |n: usize| {
        format!(
            "/search?q={}&page={n}",
            percent_encoding::utf8_percent_encode(&q, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    let here = link(page);
    let first = (page - 1) * PER_PAGE + 1;
    let body = html! {
        h1 { "Search" }
        form.search method="get" action="/search" role="search" {
            input type="search" name="q" value=(q) aria-label="Search the wiki" autofocus;
            " "
            button type="submit" { "Search" }
        }
        p.search-help { small { "All words must match. Use " code { "\"quotes\"" } " for a phrase and " code { "word*" } " for a prefix." } }
        @if !q.trim().is_empty() && !searchable {
            p.search-summary { "Type a word or a \"phrase\" to search for." }
        } @else if searchable {
            p.search-summary {
                @if results.total == 0 {
                    "No pages match " q { (q) } "."
                } @else if results.results.is_empty() {
                    "No more results: " (results.total) " page(s) match."
                } @else {
                    (results.total) " page(s) match; showing " (first) "–" (first + results.results.len() - 1) "."
                }
            }
            ol.search-results start=(first) {
                @for hit in &results.results {
                    li {
                        a href=(hit.url) { (hit.title) }
                        " " small.search-path { (hit.path) }
                        br;
                        span.search-snippet { (PreEscaped(&hit.snippet)) }
                    }
                }
            }
            @if pages > 1 {
                nav.pagination aria-label="Result pages" {
                    @if page > 1 { a rel="prev" href=(link(page - 1)) { "← Previous" } " " }
                    "Page " (page) " of " (pages)
                    @if page < pages { " " a rel="next" href=(link(page + 1)) { "Next →" } }
                }
            }
        }
    };
    Ok(layout("Search", session.as_ref(), &here, body).into_response())
}
