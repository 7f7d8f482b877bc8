//! Changing pages from the browser, without JavaScript: plain HTML forms for
//! creating and editing (`/edit/{path}`, also `GET /pages/{path}?edit` and
//! `POST /pages/{path}`), moving (`/move/{path}`), deleting
//! (`/delete/{path}`), adding a child page (`/new/{path}?name=`, a plain
//! GET that leads to the child's create form), the revision history (`/history/{path}`) and the
//! permissions (`/permissions/{path}`).
//!
//! Every form carries the session's CSRF token in a hidden `csrf` field and
//! every POST refuses a missing or wrong one with 403 before looking at
//! anything else. Access is checked like everywhere: a page the caller may
//! not read is a 404; reading but not editing is a 403; permissions need
//! admin rights.

// The guards below return a ready `Response` as their error so handlers can
// `return` it directly; they run once per request, so its size is irrelevant.
#![allow(clippy::result_large_err)]

use crate::acl::{self, Permissions, Principal, Target};
use crate::api::{check_content, MAX_MARKDOWN_BYTES};
use crate::pages::{self, Page, PagePath};
use crate::sessions::Session;
use crate::views::layout;
use crate::web::{csrf_ok, csrf_rejected, error_page, internal_error, Wiki};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup};
use plugin::Access;
use serde::Deserialize;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/edit/{*path}", get(edit_form).post(save))
        .route("/move/{*path}", get(move_form).post(move_page))
        .route("/new/{*path}", get(new_child))
        .route("/delete/{*path}", get(delete_form).post(delete_page))
        .route("/history/{*path}", get(history))
        .route(
            "/permissions/{*path}",
            get(permissions_form).post(save_permissions),
        )
}

/// `/{tool}/{path}` for a page path, segments percent-encoded.
pub fn tool_url(tool: &str, path: &PagePath) -> String {
    let url = path.url();
    format!("/{tool}{}", url.strip_prefix("/pages").unwrap_or(&url))
}

/// A request's caller and what they may do at `path`.
struct Context {
    session: Option<Session>,
    path: PagePath,
    target: Target,
}

/// Resolves the caller and the path, or answers for them (404 for an
/// invalid path).
async fn context(wiki: &Wiki, headers: &HeaderMap, raw: &str) -> Result<Context, Response> {
    let session = wiki.session(headers).await;
    let Ok(path) = PagePath::parse(raw) else {
        return Err(not_found(session.as_ref(), "/"));
    };
    let member = session.as_ref().map(|s| s.member.clone());
    let target = acl::target(wiki.store.as_ref(), member.as_ref(), &path)
        .await
        .map_err(internal_error)?;
    Ok(Context {
        session,
        path,
        target,
    })
}

fn not_found(session: Option<&Session>, here: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        session,
        here,
        "Page not found",
        "There is no such page, or you may not see it.",
    )
}

fn forbidden(session: Option<&Session>, here: &str, what: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        session,
        here,
        "Not allowed",
        &format!("You may not {what}."),
    )
}

fn sign_in_first(here: &str) -> Response {
    let to = format!(
        "/login?return_to={}",
        percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
    );
    Redirect::to(&to).into_response()
}

/// Checks that the caller may use a tool on an existing page needing
/// `needed`; returns the page.
fn require_page(ctx: &Context, here: &str, needed: Access, what: &str) -> Result<Page, Response> {
    let session = ctx.session.as_ref();
    let Some(page) = ctx.target.page.clone() else {
        return Err(not_found(session, here));
    };
    if ctx.target.access < Access::Read {
        return Err(not_found(session, here));
    }
    if ctx.target.access < needed {
        if session.is_none() {
            return Err(sign_in_first(here));
        }
        return Err(forbidden(session, here, what));
    }
    Ok(page)
}

/// For POSTs: a signed-in session whose CSRF token matches `csrf`.
fn require_form_session<'a>(
    ctx: &'a Context,
    here: &str,
    csrf: &str,
) -> Result<&'a Session, Response> {
    match &ctx.session {
        Some(session) if csrf_ok(session, csrf) => Ok(session),
        Some(session) => Err(csrf_rejected(Some(session), here)),
        None => Err(csrf_rejected(None, here)),
    }
}

fn csrf_field(session: Option<&Session>) -> Markup {
    let token = session
        .and_then(|s| s.csrf_token.as_deref())
        .unwrap_or_default();
    html! { input type="hidden" name="csrf" value=(token); }
}

// ---- create and edit ----------------------------------------------------

async fn edit_form(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    show_edit_form(&wiki, &headers, &path).await
}

/// The create/edit form for `path` (also behind `GET /pages/{path}?edit`).
pub async fn show_edit_form(wiki: &Wiki, headers: &HeaderMap, path: &str) -> Response {
    let ctx = match context(wiki, headers, path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("edit", &ctx.path);
    let session = ctx.session.as_ref();
    if ctx.target.access < Access::Read {
        return not_found(session, &here);
    }
    if session.is_none() {
        return sign_in_first(&here);
    }
    if ctx.target.access < Access::Write {
        return forbidden(session, &here, "edit this page");
    }
    let (title, markdown) = match &ctx.target.page {
        Some(page) => (page.title.clone(), page.markdown.clone()),
        None => (ctx.path.name().to_owned(), String::new()),
    };
    edit_page(StatusCode::OK, &ctx, &here, &title, &markdown, None)
}

fn edit_page(
    status: StatusCode,
    ctx: &Context,
    here: &str,
    title: &str,
    markdown: &str,
    error: Option<&str>,
) -> Response {
    let creating = ctx.target.page.is_none();
    let heading = if creating {
        format!("Create {}", ctx.path)
    } else {
        format!("Edit {}", ctx.path)
    };
    let body = html! {
        h1 { (heading) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form.page-edit method="post" action=(tool_url("edit", &ctx.path)) {
            (csrf_field(ctx.session.as_ref()))
            p {
                label for="title" { "Title" } br;
                input #title type="text" name="title" value=(title) maxlength="200" required;
            }
            p {
                label for="markdown" { "Text (markdown; " code { "{chat:Room Name}" } " adds a chat room)" } br;
                textarea #markdown name="markdown" rows="20" cols="80" { (markdown) }
            }
            p {
                button type="submit" { "Save" }
                " "
                @if !creating { a href=(ctx.path.url()) { "Cancel" } }
            }
        }
    };
    (status, layout(&heading, ctx.session.as_ref(), here, body)).into_response()
}

/// The edit form's fields.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    markdown: String,
}

async fn save(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EditForm>,
) -> Response {
    save_page(&wiki, &headers, &path, form).await
}

/// Saves the edit form (also behind `POST /pages/{path}`).
pub async fn save_page(wiki: &Wiki, headers: &HeaderMap, path: &str, form: EditForm) -> Response {
    let ctx = match context(wiki, headers, path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("edit", &ctx.path);
    let session = match require_form_session(&ctx, &here, &form.csrf) {
        Ok(session) => session,
        Err(response) => return response,
    };
    if ctx.target.access < Access::Read {
        return not_found(Some(session), &here);
    }
    if ctx.target.access < Access::Write {
        return forbidden(Some(session), &here, "edit this page");
    }
    // Browsers send CRLF line ends from textareas; store what was typed.
    let markdown = form.markdown.replace("\r\n", "\n");
    let title = form.title.trim().to_owned();
    if let Err(err) = check_content(Some(&title), &markdown) {
        let message = if markdown.len() > MAX_MARKDOWN_BYTES {
            format!("The text is too long (at most {MAX_MARKDOWN_BYTES} bytes).")
        } else {
            err.message
        };
        return edit_page(
            StatusCode::BAD_REQUEST,
            &ctx,
            &here,
            &title,
            &markdown,
            Some(&message),
        );
    }
    let author = &session.member.user.name;
    let title_arg = (!title.is_empty()).then_some(title.as_str());
    let written = pages::put(wiki.store.as_ref(), &ctx.path, title_arg, &markdown, author).await;
    match written {
        Ok(_) => Redirect::to(&ctx.path.url()).into_response(),
        Err(err) => internal_error(err),
    }
}

// ---- new child ----------------------------------------------------------

#[derive(Debug, Deserialize)]
struct NewChild {
    name: Option<String>,
}

/// Asks for a child page's name, then sends the browser to its create form.
async fn new_child(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    Query(query): Query<NewChild>,
    headers: HeaderMap,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("new", &ctx.path);
    let page = match require_page(&ctx, &here, Access::Write, "add pages here") {
        Ok(page) => page,
        Err(response) => return response,
    };
    if let Some(name) = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if let Ok(child) = page.path.child(&pages::segment_from(name)) {
            return Redirect::to(&tool_url("edit", &child)).into_response();
        }
    }
    let heading = format!("New page under {}", page.title);
    let body = html! {
        h1 { (heading) }
        form.page-new method="get" action=(here) {
            p {
                label for="name" { "Name of the new page" } br;
                input #name type="text" name="name" required maxlength="200";
            }
            p { button type="submit" { "Continue" } " " a href=(page.path.url()) { "Cancel" } }
        }
    };
    layout(&heading, ctx.session.as_ref(), &here, body).into_response()
}

// ---- move ---------------------------------------------------------------

async fn move_form(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("move", &ctx.path);
    let page = match require_page(&ctx, &here, Access::Write, "move this page") {
        Ok(page) => page,
        Err(response) => return response,
    };
    move_page_form(StatusCode::OK, &ctx, &here, &page, page.path.as_str(), None)
}

fn move_page_form(
    status: StatusCode,
    ctx: &Context,
    here: &str,
    page: &Page,
    to: &str,
    error: Option<&str>,
) -> Response {
    let heading = format!("Move or rename {}", page.path);
    let body = html! {
        h1 { (heading) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        p { "The page's child pages move with it. Its permissions are inherited from its new parent unless it has its own." }
        form.page-move method="post" action=(here) {
            (csrf_field(ctx.session.as_ref()))
            p {
                label for="to" { "New path (segments separated by /)" } br;
                input #to type="text" name="to" value=(to) required size="60";
            }
            p { button type="submit" { "Move" } " " a href=(page.path.url()) { "Cancel" } }
        }
    };
    (status, layout(&heading, ctx.session.as_ref(), here, body)).into_response()
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

async fn move_page(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    Form(form): Form<MoveForm>,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("move", &ctx.path);
    let session = match require_form_session(&ctx, &here, &form.csrf) {
        Ok(session) => session.clone(),
        Err(response) => return response,
    };
    let page = match require_page(&ctx, &here, Access::Write, "move this page") {
        Ok(page) => page,
        Err(response) => return response,
    };
    let to = match PagePath::parse(&form.to) {
        Ok(to) => to,
        Err(err) => {
            let message = format!("Not a page path: {err}");
            return move_page_form(
                StatusCode::BAD_REQUEST,
                &ctx,
                &here,
                &page,
                &form.to,
                Some(&message),
            );
        }
    };
    let member = &session.member;
    let destination = &to;
    let store = wiki.store.as_ref();
    let outcome = async {
        let there = acl::target(store, Some(member), destination).await?;
        if there.page.is_some() {
            return Ok(Err(format!("A page already exists at {destination}.")));
        }
        if there.access < Access::Write {
            return Ok(Err(format!("You may not create pages at {destination}.")));
        }
        if destination
            .as_str()
            .starts_with(&format!("{}/", page.path.as_str()))
        {
            return Ok(Err("A page cannot move below itself.".to_owned()));
        }
        store
            .move_page(page.id, destination, &member.user.name)
            .await?;
        anyhow::Ok(Ok(()))
    }
    .await;
    match outcome {
        Ok(Ok(())) => {
            wiki.epoch.refresh(store).await;
            Redirect::to(&to.url()).into_response()
        }
        Ok(Err(message)) => {
            let page = ctx.target.page.clone();
            match page {
                Some(page) => move_page_form(
                    StatusCode::CONFLICT,
                    &ctx,
                    &here,
                    &page,
                    to.as_str(),
                    Some(&message),
                ),
                None => not_found(Some(&session), &here),
            }
        }
        Err(err) => internal_error(err),
    }
}

// ---- delete -------------------------------------------------------------

async fn delete_form(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("delete", &ctx.path);
    let page = match require_page(&ctx, &here, Access::Write, "delete this page") {
        Ok(page) => page,
        Err(response) => return response,
    };
    delete_page_form(StatusCode::OK, &ctx, &here, &page, None)
}

fn delete_page_form(
    status: StatusCode,
    ctx: &Context,
    here: &str,
    page: &Page,
    error: Option<&str>,
) -> Response {
    let heading = format!("Delete {}", page.path);
    let body = html! {
        h1 { (heading) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        p { "Delete the page " strong { (page.title) } " and its history? This cannot be undone. Pages with child pages cannot be deleted." }
        form.page-delete method="post" action=(here) {
            (csrf_field(ctx.session.as_ref()))
            p { button type="submit" { "Delete" } " " a href=(page.path.url()) { "Cancel" } }
        }
    };
    (status, layout(&heading, ctx.session.as_ref(), here, body)).into_response()
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn delete_page(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("delete", &ctx.path);
    if let Err(response) = require_form_session(&ctx, &here, &form.csrf) {
        return response;
    }
    let page = match require_page(&ctx, &here, Access::Write, "delete this page") {
        Ok(page) => page,
        Err(response) => return response,
    };
    let store = wiki.store.as_ref();
    let outcome = async {
        if !store.children(page.id).await?.is_empty() {
            return Ok(false);
        }
        store.delete_page(page.id).await?;
        anyhow::Ok(true)
    }
    .await;
    match outcome {
        Ok(true) => {
            wiki.epoch.refresh(store).await;
            let back = page.path.parent().map(|p| p.url()).unwrap_or("/".into());
            Redirect::to(&back).into_response()
        }
        Ok(false) => delete_page_form(
            StatusCode::CONFLICT,
            &ctx,
            &here,
            &page,
            Some("This page has child pages: move or delete them first."),
        ),
        Err(err) => internal_error(err),
    }
}

// ---- history ------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    rev: Option<i64>,
}

async fn history(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    Query(query): Query<HistoryQuery>,
    headers: HeaderMap,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("history", &ctx.path);
    let page = match require_page(&ctx, &here, Access::Read, "see this page") {
        Ok(page) => page,
        Err(response) => return response,
    };
    let id = page.id;
    let store = wiki.store.as_ref();
    let loaded = async {
        let one = match query.rev {
            Some(rev) => store.revision(id, rev).await?,
            None => None,
        };
        anyhow::Ok((store.revisions(id).await?, one))
    }
    .await;
    let (revisions, one) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return internal_error(err),
    };
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
                        td { (rev.markdown.len()) " bytes" }
                    }
                }
            }
        }
    };
    layout(&heading, ctx.session.as_ref(), &here, body).into_response()
}

// ---- permissions --------------------------------------------------------

async fn permissions_form(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("permissions", &ctx.path);
    let page = match require_page(&ctx, &here, Access::Write, "see this page's permissions") {
        Ok(page) => page,
        Err(response) => return response,
    };
    let perms = wiki.store.permissions(page.id).await;
    match perms {
        Ok(perms) => {
            let view = lines(&perms.view);
            let edit = lines(&perms.edit);
            permissions_page(
                &wiki,
                StatusCode::OK,
                &ctx,
                &here,
                &page,
                perms.inherit,
                &view,
                &edit,
                None,
            )
            .await
        }
        Err(err) => internal_error(err),
    }
}

fn lines(list: &[Principal]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[allow(clippy::too_many_arguments)]
async fn permissions_page(
    wiki: &Wiki,
    status: StatusCode,
    ctx: &Context,
    here: &str,
    page: &Page,
    inherit: bool,
    view: &str,
    edit: &str,
    error: Option<&str>,
) -> Response {
    let store = wiki.store.as_ref();
    // Where the rules in force come from, to explain inheritance.
    let source = async {
        let page = store.page_by_id(page.id).await?;
        let mut chain = match &page {
            Some(page) => pages::ancestors(store, page).await?,
            None => Vec::new(),
        };
        chain.extend(page);
        anyhow::Ok(chain.into_iter().rev().find(|p| !p.inherit))
    }
    .await;
    let source = match source {
        Ok(source) => source,
        Err(err) => return internal_error(err),
    };
    let admin = ctx.target.access >= Access::Admin;
    let heading = format!("Permissions of {}", page.title);
    let body = html! {
        h1 { (heading) }
        p { a href=(page.path.url()) { "Back to the page" } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        p.effective {
            @match &source {
                Some(source) if source.id == page.id => "This page has its own rules.",
                Some(source) => {
                    "Rules in force are inherited from "
                    a href=(tool_url("permissions", &source.path)) { (source.path) } "."
                }
                None => "No page above has its own rules: the site defaults apply (anyone may view, signed-in users may edit).",
            }
        }
        p { "One principal per line: " code { "user:NAME" } ", " code { "group:NAME" } ", "
            code { "signed-in" } " or " code { "anonymous" } " (everyone). Edit implies view. Admins may do everything." }
        form.page-permissions method="post" action=(here) {
            (csrf_field(ctx.session.as_ref()))
            p {
                label {
                    input type="checkbox" name="inherit" value="1" checked[inherit] disabled[!admin];
                    " Inherit from the parent page (the lists below are then ignored)"
                }
            }
            p {
                label for="view" { "May view" } br;
                textarea #view name="view" rows="6" cols="40" readonly[!admin] { (view) }
            }
            p {
                label for="edit" { "May edit" } br;
                textarea #edit name="edit" rows="6" cols="40" readonly[!admin] { (edit) }
            }
            @if admin {
                p { button type="submit" { "Save permissions" } }
            } @else {
                p { "Only administrators may change permissions." }
            }
        }
    };
    (status, layout(&heading, ctx.session.as_ref(), here, body)).into_response()
}

#[derive(Debug, Deserialize)]
struct PermissionsForm {
    #[serde(default)]
    csrf: String,
    /// Present (any value) when the box is ticked.
    inherit: Option<String>,
    #[serde(default)]
    view: String,
    #[serde(default)]
    edit: String,
}

/// Parses a textarea of principals (one per line, commas also separate).
fn parse_principals(text: &str) -> Result<Vec<Principal>, String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Principal>().map_err(|e| e.to_string()))
        .collect()
}

async fn save_permissions(
    State(wiki): State<Wiki>,
    Path(path): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PermissionsForm>,
) -> Response {
    let ctx = match context(&wiki, &headers, &path).await {
        Ok(ctx) => ctx,
        Err(response) => return response,
    };
    let here = tool_url("permissions", &ctx.path);
    if let Err(response) = require_form_session(&ctx, &here, &form.csrf) {
        return response;
    }
    let page = match require_page(&ctx, &here, Access::Admin, "change this page's permissions") {
        Ok(page) => page,
        Err(response) => return response,
    };
    let inherit = form.inherit.is_some();
    let parsed = parse_principals(&form.view)
        .and_then(|view| Ok((view, parse_principals(&form.edit)?)))
        .and_then(|(view, edit)| {
            let perms = Permissions {
                inherit,
                view,
                edit,
            };
            crate::api::check_permissions(&perms).map_err(|e| e.message)?;
            Ok(perms)
        });
    let perms = match parsed {
        Ok(perms) => perms,
        Err(message) => {
            return permissions_page(
                &wiki,
                StatusCode::BAD_REQUEST,
                &ctx,
                &here,
                &page,
                inherit,
                &form.view,
                &form.edit,
                Some(&message),
            )
            .await
        }
    };
    let saved = wiki.store.set_permissions(page.id, &perms).await;
    match saved {
        Ok(()) => {
            wiki.epoch.refresh(wiki.store.as_ref()).await;
            Redirect::to(&here).into_response()
        }
        Err(err) => internal_error(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_urls_keep_the_encoding() {
        let path = PagePath::parse("My Team/a&b").unwrap();
        assert_eq!(tool_url("edit", &path), "/edit/My%20Team/a%26b");
    }

    #[test]
    fn principal_lists_parse() {
        let list = parse_principals("user:alice\r\ngroup:team, signed-in\n\n").unwrap();
        assert_eq!(list.len(), 3);
        assert!(parse_principals("everyone").is_err());
    }
}
