//! Changing pages from the browser, without JavaScript: plain HTML forms for
//! creating and editing (`/edit/{path}`, also `GET /pages/{path}?edit` and
//! `POST /pages/{path}`), moving (`/move/{path}`), deleting
//! (`/delete/{path}`), adding a child page (`/new/{path}?name=`, a plain
//! GET that leads to the child's create form) and the permissions
//! (`/permissions/{path}`). The revision history is [`crate::history`].
//!
//! Every form carries the session's CSRF token in a hidden `csrf` field and
//! every POST refuses a missing or wrong one with 403 before looking at
//! anything else. Access is checked like everywhere: a page the caller may
//! not read is a 404; reading but not editing is a 403; permissions need
//! admin rights.

use crate::acl::{self, Permissions, Principal, Target};
use crate::api::{check_content, MAX_MARKDOWN_BYTES};
use crate::error::PageError;
use crate::key::PageKey;
use crate::layout::layout;
use crate::pages::{self, Page, PagePath};
use crate::sessions::csrf_ok;
use crate::sessions::Session;
use crate::state::Wiki;
use axum::extract::{Query, State};
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
pub(crate) struct Context {
    pub(crate) session: Option<Session>,
    pub(crate) path: PagePath,
    /// A page the caller may not read is not in here: `page` is `None` and
    /// `access` what a missing page would give ([`acl::access_if_missing`]),
    /// so every tool answers as for a missing page.
    pub(crate) target: Target,
    /// A page is there hidden from the caller, or a page above it is: it
    /// must never be written as if it (or its parent) were missing.
    pub(crate) hidden: bool,
}

/// Resolves the caller and the page, or refuses (404 for an invalid path).
pub(crate) async fn context(
    wiki: &Wiki,
    headers: &HeaderMap,
    key: &PageKey,
) -> Result<Context, PageError> {
    let session = wiki.page_session(headers).await;
    let Some(path) = key.path().cloned() else {
        return Err(PageError::not_found(session.as_ref(), "/"));
    };
    let member = session.as_ref().map(|s| s.member.clone());
    let store = wiki.store.as_ref();
    let mut target = acl::target(store, member.as_ref(), &path).await?;
    let mut hidden = target.page.is_some() && target.access < Access::Read;
    if hidden || target.page.is_none() {
        // A missing page under a page the caller may not read must look
        // like one under nothing at all, so it takes the masked access too,
        // and is marked hidden when that differs: it must not be written.
        let if_missing = acl::access_if_missing(store, member.as_ref(), &path).await?;
        hidden = hidden || if_missing != target.access;
        target = Target {
            page: None,
            access: if_missing,
        };
    }
    Ok(Context {
        session,
        path,
        target,
        hidden,
    })
}

/// Checks that the caller may use a tool on an existing page needing
/// `needed`; returns the page.
pub(crate) fn require_page(
    ctx: &Context,
    here: &str,
    needed: Access,
    what: &str,
) -> Result<Page, PageError> {
    let session = ctx.session.as_ref();
    let Some(page) = ctx.target.page.clone() else {
        return Err(PageError::not_found(session, here));
    };
    if ctx.target.access < Access::Read {
        return Err(PageError::not_found(session, here));
    }
    if ctx.target.access < needed {
        if session.is_none() {
            return Err(PageError::sign_in_first(here));
        }
        return Err(PageError::forbidden(session, here, what));
    }
    Ok(page)
}

/// For POSTs: a signed-in session whose CSRF token matches `csrf`.
fn require_form_session<'a>(
    ctx: &'a Context,
    here: &str,
    csrf: &str,
) -> Result<&'a Session, PageError> {
    match &ctx.session {
        Some(session) if csrf_ok(session, csrf) => Ok(session),
        session => Err(PageError::csrf_rejected(session.as_ref(), here)),
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
    key: PageKey,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    show_edit_form(&wiki, &headers, &key).await
}

/// The create/edit form for `key` (also behind `GET /pages/{path}?edit`).
pub async fn show_edit_form(
    wiki: &Wiki,
    headers: &HeaderMap,
    key: &PageKey,
) -> Result<Response, PageError> {
    let ctx = context(wiki, headers, key).await?;
    let here = tool_url("edit", &ctx.path);
    let session = ctx.session.as_ref();
    if ctx.target.access < Access::Read {
        return Err(PageError::not_found(session, &here));
    }
    if session.is_none() {
        return Err(PageError::sign_in_first(&here));
    }
    if ctx.target.access < Access::Write {
        return Err(PageError::forbidden(session, &here, "edit this page"));
    }
    let (title, markdown) = match &ctx.target.page {
        Some(page) => (page.title.clone(), page.markdown.clone()),
        None => (ctx.path.name().to_owned(), String::new()),
    };
    Ok(edit_page(
        StatusCode::OK,
        &ctx,
        &here,
        &title,
        &markdown,
        None,
    ))
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
    key: PageKey,
    headers: HeaderMap,
    Form(form): Form<EditForm>,
) -> Result<Response, PageError> {
    save_page(&wiki, &headers, &key, form).await
}

/// Saves the edit form (also behind `POST /pages/{path}`).
pub async fn save_page(
    wiki: &Wiki,
    headers: &HeaderMap,
    key: &PageKey,
    form: EditForm,
) -> Result<Response, PageError> {
    let ctx = context(wiki, headers, key).await?;
    let here = tool_url("edit", &ctx.path);
    let session = require_form_session(&ctx, &here, &form.csrf)?;
    if ctx.target.access < Access::Read {
        return Err(PageError::not_found(Some(session), &here));
    }
    // A hidden page refuses like a missing one the caller may not create:
    // the one thing a write cannot hide is that it did not happen.
    let what = if ctx.target.page.is_some() {
        "edit this page"
    } else {
        "create this page"
    };
    if ctx.target.access < Access::Write || ctx.hidden {
        return Err(PageError::forbidden(Some(session), &here, what));
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
        return Ok(edit_page(
            StatusCode::BAD_REQUEST,
            &ctx,
            &here,
            &title,
            &markdown,
            Some(&message),
        ));
    }
    let author = &session.member.user.name;
    wiki.take_page_write(author)
        .map_err(|wait| PageError::rate_limited(Some(session), &here, wait))?;
    let title_arg = (!title.is_empty()).then_some(title.as_str());
    pages::put(wiki.store.as_ref(), &ctx.path, title_arg, &markdown, author).await?;
    Ok(Redirect::to(&ctx.path.url()).into_response())
}

// ---- new child ----------------------------------------------------------

#[derive(Debug, Deserialize)]
struct NewChild {
    name: Option<String>,
}

/// Asks for a child page's name, then sends the browser to its create form.
async fn new_child(
    State(wiki): State<Wiki>,
    key: PageKey,
    Query(query): Query<NewChild>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("new", &ctx.path);
    let page = require_page(&ctx, &here, Access::Write, "add pages here")?;
    if let Some(name) = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if let Ok(child) = page.path.child(&pages::segment_from(name)) {
            return Ok(Redirect::to(&tool_url("edit", &child)).into_response());
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
    Ok(layout(&heading, ctx.session.as_ref(), &here, body).into_response())
}

// ---- move ---------------------------------------------------------------

async fn move_form(
    State(wiki): State<Wiki>,
    key: PageKey,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("move", &ctx.path);
    let page = require_page(&ctx, &here, Access::Write, "move this page")?;
    Ok(move_page_form(
        StatusCode::OK,
        &ctx,
        &here,
        &page,
        page.path.as_str(),
        None,
    ))
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
    key: PageKey,
    headers: HeaderMap,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("move", &ctx.path);
    let session = require_form_session(&ctx, &here, &form.csrf)?.clone();
    let page = require_page(&ctx, &here, Access::Write, "move this page")?;
    let to = match PagePath::parse(&form.to) {
        Ok(to) => to,
        Err(err) => {
            let message = format!("Not a page path: {err}");
            return Ok(move_page_form(
                StatusCode::BAD_REQUEST,
                &ctx,
                &here,
                &page,
                &form.to,
                Some(&message),
            ));
        }
    };
    let member = &session.member;
    wiki.take_page_write(&member.user.name)
        .map_err(|wait| PageError::rate_limited(Some(&session), &here, wait))?;
    let destination = &to;
    let store = wiki.store.as_ref();
    let outcome = async {
        let there = acl::target(store, Some(member), destination).await?;
        // A destination the caller may not read answers like a missing one
        // they may not create, so a conflict does not reveal it.
        let hidden = there.page.is_some() && there.access < Access::Read;
        if hidden || (there.page.is_none() && there.access < Access::Write) {
            return Ok(Err(format!("You may not create pages at {destination}.")));
        }
        if there.page.is_some() {
            return Ok(Err(format!("A page already exists at {destination}.")));
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
    .await?;
    match outcome {
        Ok(()) => {
            wiki.epoch.refresh(store).await;
            Ok(Redirect::to(&to.url()).into_response())
        }
        Err(message) => match ctx.target.page.clone() {
            Some(page) => Ok(move_page_form(
                StatusCode::CONFLICT,
                &ctx,
                &here,
                &page,
                to.as_str(),
                Some(&message),
            )),
            None => Err(PageError::not_found(Some(&session), &here)),
        },
    }
}

// ---- delete -------------------------------------------------------------

async fn delete_form(
    State(wiki): State<Wiki>,
    key: PageKey,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("delete", &ctx.path);
    let page = require_page(&ctx, &here, Access::Write, "delete this page")?;
    Ok(delete_page_form(StatusCode::OK, &ctx, &here, &page, None))
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
    key: PageKey,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("delete", &ctx.path);
    let session = require_form_session(&ctx, &here, &form.csrf)?;
    let page = require_page(&ctx, &here, Access::Write, "delete this page")?;
    wiki.take_page_write(&session.member.user.name)
        .map_err(|wait| PageError::rate_limited(Some(session), &here, wait))?;
    let store = wiki.store.as_ref();
    let outcome = async {
        if !store.children(page.id).await?.is_empty() {
            return Ok(false);
        }
        pages::delete(store, &wiki.chat, page.id).await?;
        anyhow::Ok(true)
    }
    .await?;
    if !outcome {
        return Ok(delete_page_form(
            StatusCode::CONFLICT,
            &ctx,
            &here,
            &page,
            Some("This page has child pages: move or delete them first."),
        ));
    }
    wiki.epoch.refresh(store).await;
    let back = page.path.parent().map(|p| p.url()).unwrap_or("/".into());
    Ok(Redirect::to(&back).into_response())
}

// ---- permissions --------------------------------------------------------

async fn permissions_form(
    State(wiki): State<Wiki>,
    key: PageKey,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("permissions", &ctx.path);
    let page = require_page(&ctx, &here, Access::Write, "see this page's permissions")?;
    let perms = wiki.store.permissions(page.id).await?;
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
) -> Result<Response, PageError> {
    let store = wiki.store.as_ref();
    // Where the rules in force come from, to explain inheritance.
    let current = store.page_by_id(page.id).await?;
    let mut chain = match &current {
        Some(current) => pages::ancestors(store, current).await?,
        None => Vec::new(),
    };
    chain.extend(current);
    let source = chain.into_iter().rev().find(|p| !p.inherit);
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
    Ok((status, layout(&heading, ctx.session.as_ref(), here, body)).into_response())
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
    key: PageKey,
    headers: HeaderMap,
    Form(form): Form<PermissionsForm>,
) -> Result<Response, PageError> {
    let ctx = context(&wiki, &headers, &key).await?;
    let here = tool_url("permissions", &ctx.path);
    require_form_session(&ctx, &here, &form.csrf)?;
    let page = require_page(&ctx, &here, Access::Admin, "change this page's permissions")?;
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
    wiki.store.set_permissions(page.id, &perms).await?;
    wiki.epoch.refresh(wiki.store.as_ref()).await;
    Ok(Redirect::to(&here).into_response())
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
