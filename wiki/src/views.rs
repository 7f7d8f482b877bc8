//! Page views: `GET /` (the Welcome page), `GET /pages/{path}`, and the
//! layout every wiki HTML page shares (stylesheet, search box, who is
//! signed in).
//!
//! A page is shown only to callers with at least read access; everyone else
//! gets the same 404 a missing page gives, so its existence does not leak.
//! `GET /pages/{path}?edit` and `POST /pages/{path}` are the edit form and
//! its submission ([`crate::edit`]).

use crate::acl;
use crate::macros;
use crate::markdown;
use crate::pages::{self, Page, PagePath};
use crate::sessions::Session;
use crate::users;
use crate::web::{internal_error, Wiki};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use plugin::Access;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/", get(home))
        .route("/pages/{*path}", get(page).post(save))
}

async fn home(State(wiki): State<Wiki>, headers: HeaderMap) -> Response {
    show(&wiki, &headers, pages::WELCOME, "/").await
}

async fn page(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let editing = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("edit"))
    });
    if editing {
        return crate::edit::show_edit_form(&wiki, &headers, &path).await;
    }
    let here = match PagePath::parse(&path) {
        Ok(parsed) => parsed.url(),
        Err(_) => "/".to_owned(),
    };
    show(&wiki, &headers, &path, &here).await
}

async fn save(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::edit::EditForm>,
) -> Response {
    crate::edit::save_page(&wiki, &headers, &path, form).await
}

/// What a reader sees of one page.
struct Visible {
    page: Page,
    access: Access,
    ancestors: Vec<Page>,
    children: Vec<Page>,
}

/// Renders the page at `path` for the request's caller; `here` is the URL
/// to come back to after signing in.
async fn show(wiki: &Wiki, headers: &HeaderMap, path: &str, here: &str) -> Response {
    let session = wiki.session(headers).await;
    let Ok(path) = PagePath::parse(path) else {
        return not_found(session.as_ref(), here, None);
    };
    let path_text = path.to_string();
    let store = wiki.store.as_ref();
    let visible = async {
        let member = match &session {
            Some(session) => users::member(store, &session.member.user.name).await?,
            None => None,
        };
        let member = member.as_ref();
        let Some(page) = store.page_by_path(&path).await? else {
            let target = acl::target(store, member, &path).await?;
            return Ok(Err(target.access >= Access::Write));
        };
        let access = acl::access(store, member, page.id).await?;
        if access < Access::Read {
            return Ok(Err(false));
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
    .await;
    let visible = match visible {
        Ok(Ok(visible)) => visible,
        Ok(Err(creatable)) => {
            let create = creatable
                .then(|| PagePath::parse(path_text.as_str()).ok())
                .flatten()
                .map(|p| crate::edit::tool_url("edit", &p));
            return not_found(session.as_ref(), here, create.as_deref());
        }
        Err(err) => return internal_error(err),
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
    layout(&visible.page.title, session.as_ref(), here, body).into_response()
}

/// The page's markdown as HTML with its macros expanded for this request.
pub async fn render_page(wiki: &Wiki, page: &Page, headers: &HeaderMap) -> String {
    let code = markdown::code_ranges(&page.markdown);
    let calls = macros::scan(&page.markdown, &wiki.expander.registry, &code);
    let page_id = page.id.to_string();
    let mut expansions = Vec::with_capacity(calls.len());
    for call in calls {
        let expansion = wiki.expander.expand(&call, &page_id, headers).await;
        expansions.push((call.range, expansion));
    }
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

/// The frame around every wiki page: title, stylesheet, and who is signed in
/// (with a sign-out form) or a Sign in link that comes back to `here`.
pub fn layout(title: &str, session: Option<&Session>, here: &str, body: Markup) -> Markup {
    let sign_in = format!(
        "/login?return_to={}",
        percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Backchannel wiki" }
                link rel="stylesheet" href="/assets/chat.css";
                // The chat UI: keeps macro tables live (and nothing else on
                // pages without one). Pages work fully without it.
                script type="module" src="/assets/boot.js" {}
            }
            body.wiki {
                header.wiki-header {
                    a.wiki-home href="/" { "Backchannel wiki" }
                    " "
                    form.wiki-search method="get" action="/search" role="search" {
                        input type="search" name="q" placeholder="Search the wiki" aria-label="Search the wiki";
                        " "
                        button type="submit" { "Search" }
                    }
                    " "
                    @if session.is_some_and(|s| s.member.user.is_admin) {
                        a.wiki-admin href="/admin" { "Admin" }
                        " "
                    }
                    span.wiki-account {
                        @match session {
                            Some(session) => {
                                "Signed in as "
                                strong.wiki-user { (session.member.user.name) }
                                @if let Some(csrf) = &session.csrf_token {
                                    " "
                                    form.wiki-sign-out method="post" action="/logout" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { "Sign out" }
                                    }
                                }
                            }
                            None => a.wiki-sign-in href=(sign_in) { "Sign in" },
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
