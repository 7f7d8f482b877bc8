//! Site administration in the browser, for admins only: `GET /admin` lists
//! users (with their groups) and groups (with their members);
//! `POST /admin/groups` creates a group and `POST /admin/members` adds or
//! removes a member. Every form carries the session's CSRF token and every
//! POST refuses a missing or wrong one with 403. Membership changes bump the
//! ACL epoch, so open chat streams recheck access at once.
//!
//! Accounts themselves are created on the command line
//! (`backchannel user add`), where the generated password can be shown once.

use crate::error::PageError;
use crate::layout::layout;
use crate::sessions::csrf_ok;
use crate::sessions::Session;
use crate::state::Wiki;
use crate::users;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/groups", post(create_group))
        .route("/admin/members", post(change_member))
}

/// The caller if they are an admin, or the response for everyone else.
async fn admin(wiki: &Wiki, headers: &HeaderMap) -> Result<Session, PageError> {
    match wiki.page_session(headers).await {
        Some(session) if session.member.user.is_admin => Ok(session),
        Some(session) => Err(PageError::page(
            StatusCode::FORBIDDEN,
            Some(&session),
            "/admin",
            "Not allowed",
            "Only administrators may manage users and groups.",
        )),
        None => Err(PageError::Redirect("/login?return_to=%2Fadmin".to_owned())),
    }
}

#[derive(Debug, Deserialize)]
struct Notice {
    error: Option<String>,
    done: Option<String>,
}

async fn overview(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let session = admin(&wiki, &headers).await?;
    let store = wiki.store.as_ref();
    let people = store.users().await?;
    let mut groups = Vec::new();
    for name in store.groups().await? {
        let members = store.members_of(&name).await?.unwrap_or_default();
        groups.push((name, members));
    }
    let csrf = session.csrf_token.clone().unwrap_or_default();
    let body = html! {
        h1 { "Users and groups" }
        @if let Some(error) = &notice.error { p.error role="alert" { (error) } }
        @if let Some(done) = &notice.done { p.notice role="status" { (done) } }
        h2 { "Users" }
        p { small { "New accounts: " code { "backchannel user add NAME" } "; API tokens: " code { "backchannel user token NAME" } "." } }
        table.admin-users {
            thead { tr { th { "Name" } th { "Admin" } th { "Groups" } } }
            tbody {
                @for person in &people {
                    tr {
                        td { (person.user.name) }
                        td { @if person.user.is_admin { "yes" } }
                        td { (person.groups.join(", ")) }
                    }
                }
            }
        }
        h2 { "Groups" }
        table.admin-groups {
            thead { tr { th { "Group" } th { "Members" } } }
            tbody {
                @for (name, members) in &groups {
                    tr {
                        td { (name) }
                        td {
                            @for member in members {
                                form.admin-remove method="post" action="/admin/members" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="group" value=(name);
                                    input type="hidden" name="user" value=(member);
                                    input type="hidden" name="action" value="remove";
                                    (member) " "
                                    button type="submit" aria-label=(format!("Remove {member} from {name}")) { "remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add a member" }
        form.admin-add method="post" action="/admin/members" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="add";
            label { "User " input type="text" name="user" required; }
            " "
            label { "Group " input type="text" name="group" required; }
            " "
            button type="submit" { "Add" }
        }
        h2 { "Create a group" }
        form.admin-group method="post" action="/admin/groups" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Name " input type="text" name="name" required; }
            " "
            button type="submit" { "Create" }
        }
    };
    Ok(layout("Users and groups", Some(&session), "/admin", body).into_response())
}

/// Back to the overview with a message in the query.
fn back(key: &str, message: &str) -> Response {
    let encoded =
        percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC);
    Redirect::to(&format!("/admin?{key}={encoded}")).into_response()
}

#[derive(Debug, Deserialize)]
struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn create_group(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, PageError> {
    let session = match wiki.session(&headers).await {
        Some(session) if csrf_ok(&session, &form.csrf) => session,
        other => return Err(PageError::csrf_rejected(other.as_ref(), "/admin")),
    };
    admin(&wiki, &headers).await?;
    let name = form.name.trim().to_owned();
    match users::create_group(wiki.store.as_ref(), &name).await {
        Ok(()) => {
            wiki.epoch.refresh(wiki.store.as_ref()).await;
            tracing::info!(admin = %session.member.user.name, group = %name, "created a group");
            Ok(back("done", &format!("Created group {name}.")))
        }
        Err(err) => Ok(back("error", &err.to_string())),
    }
}

#[derive(Debug, Deserialize)]
struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
}

async fn change_member(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Form(form): Form<MemberForm>,
) -> Result<Response, PageError> {
    let session = match wiki.session(&headers).await {
        Some(session) if csrf_ok(&session, &form.csrf) => session,
        other => return Err(PageError::csrf_rejected(other.as_ref(), "/admin")),
    };
    admin(&wiki, &headers).await?;
    let (user, group) = (form.user.trim().to_owned(), form.group.trim().to_owned());
    let adding = match form.action.as_str() {
        "add" => true,
        "remove" => false,
        _ => return Ok(back("error", "Unknown action.")),
    };
    let result = if adding {
        users::add_member(wiki.store.as_ref(), &user, &group).await
    } else {
        wiki.store.remove_from_group(&user, &group).await
    };
    match result {
        Ok(()) => {
            wiki.epoch.refresh(wiki.store.as_ref()).await;
            tracing::info!(admin = %session.member.user.name, %user, %group, adding, "changed a group");
            let message = if adding {
                format!("Added {user} to {group}.")
            } else {
                format!("Removed {user} from {group}.")
            };
            Ok(back("done", &message))
        }
        Err(err) => Ok(back("error", &err.to_string())),
    }
}
