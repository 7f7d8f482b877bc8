//! Issue 17, finding 10: a page the caller may not read answers exactly as
//! a missing one on every tool that names a path: the page view's "Create
//! this page", `/edit/<path>`, `/new/..` and move conflicts. Each pair of
//! answers is compared whole, with the two paths' names swapped out.
//!
//! A write cannot hide that it did not happen: saving over a hidden page
//! (or moving onto it) is refused like creating a page the caller may not
//! create, and the hidden page is left as it was.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{add_user, csrf_of, enc, get, json, post_form, session_cookie, start, Reply};
use serde_json::json;

/// A reply's status, `Location` and body with `name` written as `NAME`.
fn shape(reply: &Reply, name: &str) -> (u16, Option<String>, String) {
    (
        reply.status.as_u16(),
        reply.location().map(|l| l.replace(name, "NAME")),
        reply.body.replace(name, "NAME"),
    )
}

#[tokio::test]
async fn a_hidden_page_answers_like_a_missing_one() {
    let wiki = start();
    let router = &wiki.parts.router;
    add_user(&wiki, "alice", &[]).await;
    let admin = session_cookie(&wiki, "admin").await;
    let alice = session_cookie(&wiki, "alice").await;
    for (path, markdown) in [
        ("Team", "team"),
        ("Team/Secret", "the hidden plan"),
        ("Team/Plan", "plan"),
        ("Locked", "locked"),
    ] {
        let put = json(
            router,
            "PUT",
            &format!("/api/pages/{path}"),
            Some(&admin),
            json!({"markdown": markdown}),
        )
        .await;
        assert_eq!(put.status.as_u16(), 201, "{}", put.body);
    }
    // Team/Secret: admins only. Locked: alice may read but not write.
    for (path, view, edit) in [
        ("Team/Secret", json!(["user:admin"]), json!(["user:admin"])),
        ("Locked", json!(["signed-in"]), json!(["user:admin"])),
    ] {
        let perms = json(
            router,
            "PUT",
            &format!("/api/pages/{path}/permissions"),
            Some(&admin),
            json!({"inherit": false, "view": view, "edit": edit}),
        )
        .await;
        assert!(perms.status.is_success(), "{}", perms.body);
    }

    // Reads: the view, the edit form, /new and the /new redirect.
    for (hidden, missing) in [
        ("/pages/Team/Secret", "/pages/Team/Missing"),
        ("/edit/Team/Secret", "/edit/Team/Missing"),
        ("/pages/Team/Secret?edit", "/pages/Team/Missing?edit"),
        ("/new/Team/Secret", "/new/Team/Missing"),
        ("/new/Team?name=Secret", "/new/Team?name=Missing"),
        ("/history/Team/Secret", "/history/Team/Missing"),
        ("/move/Team/Secret", "/move/Team/Missing"),
        ("/delete/Team/Secret", "/delete/Team/Missing"),
    ] {
        let (h, m) = (
            get(router, hidden, Some(&alice)).await,
            get(router, missing, Some(&alice)).await,
        );
        assert_eq!(
            shape(&h, "Secret"),
            shape(&m, "Missing"),
            "{hidden} vs {missing}"
        );
    }
    let view = get(router, "/pages/Team/Secret", Some(&alice)).await;
    assert!(
        view.body.contains(r#"href="/edit/Team/Secret""#),
        "Create this page: {}",
        view.body
    );

    // Move conflicts: onto the hidden page, and onto a missing page alice
    // may not create, answer alike.
    let csrf = csrf_of(router, &alice).await;
    let onto_hidden = post_form(
        router,
        "/move/Team/Plan",
        Some(&alice),
        &format!("csrf={csrf}&to={}", enc("Team/Secret")),
    )
    .await;
    let onto_locked = post_form(
        router,
        "/move/Team/Plan",
        Some(&alice),
        &format!("csrf={csrf}&to={}", enc("Locked/Secret")),
    )
    .await;
    assert_eq!(onto_hidden.status.as_u16(), 409, "{}", onto_hidden.body);
    assert_eq!(
        shape(&onto_hidden, "Team/Secret"),
        shape(&onto_locked, "Locked/Secret"),
    );
    assert!(
        !onto_hidden.body.contains("already exists"),
        "{}",
        onto_hidden.body
    );

    // Saving over the hidden page is refused like creating a page alice may
    // not create, and the page keeps its text.
    let over_hidden = post_form(
        router,
        "/edit/Team/Secret",
        Some(&alice),
        &format!("csrf={csrf}&title=x&markdown=mine"),
    )
    .await;
    let under_locked = post_form(
        router,
        "/edit/Locked/Secret",
        Some(&alice),
        &format!("csrf={csrf}&title=x&markdown=mine"),
    )
    .await;
    assert_eq!(over_hidden.status.as_u16(), 403, "{}", over_hidden.body);
    assert_eq!(
        shape(&over_hidden, "Team/Secret"),
        shape(&under_locked, "Locked/Secret")
    );
    let api_hidden = json(
        router,
        "PUT",
        "/api/pages/Team/Secret",
        Some(&alice),
        json!({"markdown": "mine"}),
    )
    .await;
    let api_locked = json(
        router,
        "PUT",
        "/api/pages/Locked/Secret",
        Some(&alice),
        json!({"markdown": "mine"}),
    )
    .await;
    assert_eq!(
        (api_hidden.status, api_hidden.body.clone()),
        (api_locked.status, api_locked.body)
    );
    let secret = json(
        router,
        "GET",
        "/api/pages/Team/Secret",
        Some(&admin),
        json!({}),
    )
    .await;
    assert!(secret.body.contains("the hidden plan"), "{}", secret.body);
}
