//! Page views: `GET /` (the Welcome page) and `GET /pages/{path}`.
//!
//! A page is shown only to callers with at least read access; everyone else
//! gets the same 404 a missing page gives, "Create this page" link included,
//! so its existence does not leak.
//! `GET /pages/{path}?edit` and `POST /pages/{path}` are the edit form and
//! its submission ([`crate::edit`]).

use crate::acl;
use crate::error::PageError;
use crate::key::PageKey;
use crate::layout::layout;
use crate::macros;
use crate::markdown;
use crate::pages::{self, Page};
use crate::sessions::Session;
use crate::state::Wiki;
use crate::users;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, PreEscaped};
use plugin::Access;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/", get(home))
        .route("/pages/{*path}", get(page).post(save))
}

async fn home(State(wiki): State<Wiki>, headers: HeaderMap) -> Result<Response, PageError> {
    show(&wiki, &headers, &PageKey::parse(pages::WELCOME), "/").await
}

async fn page(
    State(wiki): State<Wiki>,
    key: PageKey,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let editing = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("edit"))
    });
    if editing {
        return crate::edit::show_edit_form(&wiki, &headers, &key).await;
    }
    show(&wiki, &headers, &key, &key.url()).await
}

async fn save(
    State(wiki): State<Wiki>,
    key: PageKey,
    headers: HeaderMap,
    Form(form): Form<crate::edit::EditForm>,
) -> Result<Response, PageError> {
    crate::edit::save_page(&wiki, &headers, &key, form).await
}

/// What a reader sees of one page.
struct Visible {
    page: Page,
    access: Access,
    ancestors: Vec<Page>,
    children: Vec<Page>,
}

/// Renders the page `key` names for the request's caller; `here` is the URL
/// to come back to after signing in.
async fn show(
    wiki: &Wiki,
    headers: &HeaderMap,
    key: &PageKey,
    here: &str,
) -> Result<Response, PageError> {
    let session = wiki.page_session(headers).await;
    let Some(path) = key.path() else {
        return Ok(not_found(session.as_ref(), here, None));
    };
    let store = wiki.store.as_ref();
    let visible = async {
        let member = match &session {
            Some(session) => users::member(store, &session.member.user.name).await?,
            None => None,
        };
        let member = member.as_ref();
        let Some(page) = store.page_by_path(path).await? else {
            // What is shown must not tell a hidden parent from none.
            let creatable = acl::access_if_missing(store, member, path).await? >= Access::Write;
            return Ok(Err(creatable));
        };
        let access = acl::access(store, member, page.id).await?;
        if access < Access::Read {
            // As if missing: the same "Create this page" a missing page at
            // this path would offer (the edit form then refuses the write).
            let creatable = acl::access_if_missing(store, member, path).await? >= Access::Write;
            return Ok(Err(creatable));
        }
        let mut ancestors = Vec::new();
        for ancestor in pages::ancestors(store, &page).await? {
            if acl::access(store, member, ancestor.id).await? >= Access::Read {
                ancestors.push(ancestor);
            }
        }
        let mut children = Vec::new();
        for child in store.children(page.id).await? {
            if acl::access(store, member, child.id).await? >= Access::Read {
                children.push(child);
            }
        }
        anyhow::Ok(Ok(Visible {
            page,
            access,
            ancestors,
            children,
        }))
    }
    .await?;
    let visible = match visible {
        Ok(visible) => visible,
        Err(_) if session.is_none() && !acl::site_open_to_anonymous(store).await? => {
            // A private site: a stranger is sent to sign in, whether the
            // page is missing or hidden (the same answer for both), instead
            // of meeting "Page not found" on the front page.
            return Err(PageError::sign_in_first(here));
        }
        Err(creatable) => {
            let create = creatable.then(|| crate::edit::tool_url("edit", path));
            return Ok(not_found(session.as_ref(), here, create.as_deref()));
        }
    };
    let signed_in = session.is_some();
    let tools = |page: &Page| {
        html! {
            nav.page-tools aria-label="Page tools" {
                @if signed_in && visible.access >= Access::Write {
                    a href=(crate::edit::tool_url("edit", &page.path)) { "Edit" } " · "
                }
                a href=(crate::edit::tool_url("history", &page.path)) { "History" }
                @if signed_in && visible.access >= Access::Write {
                    " · " a href=(crate::edit::tool_url("new", &page.path)) { "Add child page" }
                    " · " a href=(crate::edit::tool_url("move", &page.path)) { "Move" }
                    " · " a href=(crate::edit::tool_url("delete", &page.path)) { "Delete" }
                    " · " a href=(crate::edit::tool_url("permissions", &page.path)) { "Permissions" }
                }
            }
        }
    };
    let content = render_page(wiki, &visible.page, headers).await;
    let body = html! {
        @if !visible.ancestors.is_empty() {
            nav.breadcrumbs aria-label="Breadcrumbs" {
                @for ancestor in &visible.ancestors {
                    a href=(ancestor.path.url()) { (ancestor.title) }
                    " / "
                }
            }
        }
        h1 { (visible.page.title) }
        (tools(&visible.page))
        article.page-content { (PreEscaped(content)) }
        @if !visible.children.is_empty() {
            section.children {
                h2 { "Child pages" }
                ul {
                    @for child in &visible.children {
                        li { a href=(child.path.url()) { (child.title) } }
                    }
                }
            }
        }
        footer {
            small { "Last changed " (visible.page.updated_at) " by " (visible.page.updated_by) }
        }
    };
    Ok(layout(&visible.page.title, session.as_ref(), here, body).into_response())
}

/// The page's markdown as HTML with its macros expanded for this request.
pub async fn render_page(wiki: &Wiki, page: &Page, headers: &HeaderMap) -> String {
    let code = markdown::code_ranges(&page.markdown);
    let calls = macros::scan(&page.markdown, &wiki.expander.registry, &code);
    let page_id = page.id.to_string();
    let expansions = wiki.expander.expand_page(calls, &page_id, headers).await;
    markdown::render(&page.markdown, &expansions)
}

fn not_found(session: Option<&Session>, here: &str, create: Option<&str>) -> Response {
    let body = html! {
        h1 { "Page not found" }
        p {
            "There is no such page, or you may not see it."
            @if session.is_none() { " Signing in may help." }
        }
        @if let Some(create) = create {
            p { a.create-page href=(create) { "Create this page" } }
        }
        p { a href="/" { "Back to the Welcome page" } }
    };
    (
        StatusCode::NOT_FOUND,
        layout("Page not found", session, here, body),
    )
        .into_response()
}
