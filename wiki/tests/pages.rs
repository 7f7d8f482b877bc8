//! Pages through the whole app in-process: the no-JavaScript forms (create,
//! edit, move, delete, history, permissions), the JSON API, and CSRF
//! rejection on every form.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::{add_user, csrf_in, csrf_of, enc, get, json, post_form, send, session_cookie, start};
use serde_json::json;

#[tokio::test]
async fn pages_are_created_edited_moved_and_deleted_through_forms() {
    let wiki = start();
    let router = &wiki.parts.router;
    add_user(&wiki, "alice", &[]).await;
    let alice = session_cookie(&wiki, "alice").await;

    // A missing page offers to create it; the form works without JavaScript.
    let missing = get(router, "/pages/Team/Plan", Some(&alice)).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains(r#"href="/edit/Team/Plan""#),
        "{}",
        missing.body
    );
    let form = get(router, "/pages/Team/Plan?edit", Some(&alice)).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains(r#"<form class="page-edit" method="post" action="/edit/Team/Plan">"#),
        "{}",
        form.body
    );
    let csrf = csrf_in(&form.body);

    let body = format!(
        "csrf={csrf}&title={}&markdown={}",
        enc("The <Plan>"),
        enc("First **draft**\r\n\r\n<script>x</script>")
    );
    let saved = post_form(router, "/pages/Team/Plan", Some(&alice), &body).await;
    assert_eq!(
        (saved.status.as_u16(), saved.location()),
        (303, Some("/pages/Team/Plan"))
    );
    let page = get(router, "/pages/Team/Plan", Some(&alice)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<h1>The &lt;Plan&gt;</h1>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<strong>draft</strong>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>x"), "{}", page.body);
    assert!(
        page.body.contains(r#"<a href="/pages/Team">Team</a>"#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"href="/edit/Team/Plan""#),
        "{}",
        page.body
    );
    let parent = get(router, "/pages/Team", Some(&alice)).await;
    assert!(parent.body.contains("Child pages"), "{}", parent.body);
    assert!(
        parent
            .body
            .contains(r#"<a href="/pages/Team/Plan">The &lt;Plan&gt;</a>"#),
        "{}",
        parent.body
    );

    // "Add child page" asks for a name, then leads to the create form.
    let new = get(router, "/new/Team", Some(&alice)).await;
    assert!(new.body.contains(r#"name="name""#), "{}", new.body);
    let new = get(router, "/new/Team?name=Sub%2FPage", Some(&alice)).await;
    assert_eq!(new.location(), Some("/edit/Team/Sub-Page"));

    // A second edit through /edit; the history shows who and when.
    let body = format!("csrf={csrf}&title=Plan&markdown=second");
    let saved = post_form(router, "/edit/Team/Plan", Some(&alice), &body).await;
    assert_eq!(saved.status, 303);
    let history = get(router, "/history/Team/Plan", Some(&alice)).await;
    assert_eq!(history.status, 200);
    assert_eq!(
        history.body.matches("<td>alice</td>").count(),
        2,
        "{}",
        history.body
    );
    let rev_link = history
        .body
        .split("/history/Team/Plan?rev=")
        .nth(1)
        .unwrap();
    let rev: String = rev_link.chars().take_while(char::is_ascii_digit).collect();
    let one = get(
        router,
        &format!("/history/Team/Plan?rev={rev}"),
        Some(&alice),
    )
    .await;
    assert!(one.body.contains("second"), "{}", one.body);
    // Anonymous readers may read the page and its history, but not edit.
    assert_eq!(get(router, "/history/Team/Plan", None).await.status, 200);
    let anon_edit = get(router, "/edit/Team/Plan", None).await;
    assert_eq!(anon_edit.status, 303);
    assert!(anon_edit
        .location()
        .unwrap()
        .starts_with("/login?return_to="));

    // Move (rename) the page; the old path is gone.
    let moved = post_form(
        router,
        "/move/Team/Plan",
        Some(&alice),
        &format!("csrf={csrf}&to=Team/Roadmap"),
    )
    .await;
    assert_eq!(
        (moved.status.as_u16(), moved.location()),
        (303, Some("/pages/Team/Roadmap"))
    );
    assert_eq!(
        get(router, "/pages/Team/Plan", Some(&alice)).await.status,
        404
    );
    assert_eq!(
        get(router, "/pages/Team/Roadmap", Some(&alice))
            .await
            .status,
        200
    );
    let clash = post_form(
        router,
        "/move/Team/Roadmap",
        Some(&alice),
        &format!("csrf={csrf}&to=Team"),
    )
    .await;
    assert_eq!(clash.status, 409, "{}", clash.body);
    let below = post_form(
        router,
        "/move/Team",
        Some(&alice),
        &format!("csrf={csrf}&to=Team/Roadmap/X"),
    )
    .await;
    assert_eq!(below.status, 409, "{}", below.body);

    // Delete: not while children exist.
    let refused = post_form(
        router,
        "/delete/Team",
        Some(&alice),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(refused.status, 409);
    let deleted = post_form(
        router,
        "/delete/Team/Roadmap",
        Some(&alice),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(
        (deleted.status.as_u16(), deleted.location()),
        (303, Some("/pages/Team"))
    );
    assert_eq!(
        get(router, "/pages/Team/Roadmap", Some(&alice))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn every_form_rejects_a_missing_or_wrong_csrf_token() {
    let wiki = start();
    let router = &wiki.parts.router;
    add_user(&wiki, "alice", &[]).await;
    let admin = session_cookie(&wiki, "admin").await;
    let good = csrf_of(router, &admin).await;
    let created = json(
        router,
        "PUT",
        "/api/pages/Docs/Page",
        Some(&admin),
        json!({"markdown": "original"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let forms: &[(&str, &str)] = &[
        ("/pages/Docs/Page", "title=Hacked&markdown=hacked"),
        ("/edit/Docs/Page", "title=Hacked&markdown=hacked"),
        ("/edit/Docs/New", "title=New&markdown=new"),
        ("/move/Docs/Page", "to=Elsewhere"),
        ("/delete/Docs/Page", ""),
        ("/permissions/Docs/Page", "view=user%3Aalice&edit="),
        ("/admin/groups", "name=crew"),
        ("/admin/members", "action=add&group=crew&user=alice"),
        ("/logout", ""),
    ];
    for (uri, fields) in forms {
        for csrf in [None, Some("wrong"), Some("")] {
            let body = match csrf {
                Some(token) => format!("{fields}&csrf={token}"),
                None => (*fields).to_owned(),
            };
            let reply = post_form(router, uri, Some(&admin), &body).await;
            assert_eq!(
                reply.status, 403,
                "{uri} with csrf {csrf:?}: {}",
                reply.body
            );
        }
        // Without any session a form is refused too.
        let anonymous = post_form(router, uri, None, &format!("{fields}&csrf={good}")).await;
        assert!(
            [303, 403].contains(&anonymous.status.as_u16()),
            "{uri} anonymous: {}",
            anonymous.status
        );
        assert!(anonymous.location().is_none_or(|l| l == "/"), "{uri}");
    }
    // Nothing changed.
    let page = json(
        router,
        "GET",
        "/api/pages/Docs/Page",
        Some(&admin),
        json!(null),
    )
    .await;
    let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(page["markdown"], "original");
    assert_eq!(page["title"], "Page");
    assert_eq!(
        get(router, "/pages/Docs/New", Some(&admin)).await.status,
        404
    );
    let perms = json(
        router,
        "GET",
        "/api/pages/Docs/Page/permissions",
        Some(&admin),
        json!(null),
    )
    .await;
    assert!(perms.body.contains(r#""inherit":true"#), "{}", perms.body);
    let overview = get(router, "/admin", Some(&admin)).await;
    assert!(!overview.body.contains("crew"), "{}", overview.body);
    assert!(get(router, "/", Some(&admin))
        .await
        .body
        .contains("Signed in as"));

    // The right token works on the same forms.
    let ok = post_form(
        router,
        "/admin/groups",
        Some(&admin),
        &format!("name=crew&csrf={good}"),
    )
    .await;
    assert_eq!(ok.status, 303);
    let ok = post_form(
        router,
        "/admin/members",
        Some(&admin),
        &format!("action=add&group=crew&user=alice&csrf={good}"),
    )
    .await;
    assert_eq!(ok.status, 303);
    let overview = get(router, "/admin", Some(&admin)).await;
    assert!(overview.body.contains("<td>crew</td>"), "{}", overview.body);
    assert!(
        overview.body.contains(r#"value="alice""#),
        "{}",
        overview.body
    );
    let ok = post_form(
        router,
        "/permissions/Docs/Page",
        Some(&admin),
        &format!("view={}&edit=&csrf={good}", enc("group:crew\nuser:bob")),
    )
    .await;
    assert_eq!(
        (ok.status.as_u16(), ok.location()),
        (303, Some("/permissions/Docs/Page"))
    );
    let perms = json(
        router,
        "GET",
        "/api/pages/Docs/Page/permissions",
        Some(&admin),
        json!(null),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&perms.body).unwrap(),
        json!({"inherit": false, "view": ["group:crew", "user:bob"], "edit": []})
    );
    let bad = post_form(
        router,
        "/permissions/Docs/Page",
        Some(&admin),
        &format!("view=everyone&csrf={good}"),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown principal"), "{}", bad.body);

    // Non-admins get no admin pages.
    let alice = session_cookie(&wiki, "alice").await;
    assert_eq!(get(router, "/admin", Some(&alice)).await.status, 403);
    let alice_csrf = csrf_of(router, &alice).await;
    let refused = post_form(
        router,
        "/admin/groups",
        Some(&alice),
        &format!("name=mine&csrf={alice_csrf}"),
    )
    .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn the_json_api_reads_and_writes_pages_and_permissions() {
    let wiki = start();
    let router = &wiki.parts.router;
    add_user(&wiki, "alice", &["team"]).await;
    add_user(&wiki, "bob", &[]).await;
    let admin = session_cookie(&wiki, "admin").await;
    let alice = session_cookie(&wiki, "alice").await;
    let bob = session_cookie(&wiki, "bob").await;

    let created = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        Some(&alice),
        json!({"title": "Notes", "markdown": "hello"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let updated = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        Some(&alice),
        json!({"markdown": "hello again"}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let page = json(router, "GET", "/api/pages/Team", None, json!(null)).await;
    let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(page["path"], "Team");
    assert_eq!(page["parent"], serde_json::Value::Null);
    assert_eq!(page["children"], json!(["Team/Notes"]));
    let notes = json(router, "GET", "/api/pages/Team/Notes", None, json!(null)).await;
    let notes: serde_json::Value = serde_json::from_str(&notes.body).unwrap();
    assert_eq!(
        (notes["title"].as_str(), notes["markdown"].as_str()),
        (Some("Notes"), Some("hello again"))
    );
    assert_eq!(notes["parent"], "Team");

    // Anonymous writers sign in first; malformed input is a 400.
    let anon = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        None,
        json!({"markdown": "x"}),
    )
    .await;
    assert_eq!(anon.status, 401);
    assert!(
        anon.body.contains(r#""code":"unauthenticated""#),
        "{}",
        anon.body
    );
    let malformed = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        Some(&alice),
        json!({"text": "x"}),
    )
    .await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);

    // Restrict Team: only the team views, only alice edits. Alice is no admin.
    let rules = json!({"inherit": false, "view": ["group:team"], "edit": ["user:alice"]});
    let refused = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        Some(&alice),
        rules.clone(),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let hidden = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        Some(&bob),
        rules.clone(),
    )
    .await;
    assert_eq!(
        hidden.status, 403,
        "bob can still see Team: {}",
        hidden.body
    );
    let set = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        Some(&admin),
        rules.clone(),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&set.body).unwrap(),
        rules
    );
    let bad = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        Some(&admin),
        json!({"inherit": false, "view": ["everyone"]}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Bob now sees nothing: 404 for reads, even on children. A write there
    // is refused as one at a path he may not create (403): a write cannot
    // hide that it did not happen, but it names nothing hidden.
    for uri in [
        "/api/pages/Team",
        "/api/pages/Team/Notes",
        "/api/pages/Team/permissions",
    ] {
        let reply = json(router, "GET", uri, Some(&bob), json!(null)).await;
        assert_eq!(reply.status, 404, "{uri}: {}", reply.body);
        assert!(reply.body.contains(r#""code":"not_found""#));
    }
    let write = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        Some(&bob),
        json!({"markdown": "x"}),
    )
    .await;
    assert_eq!(write.status, 403, "{}", write.body);
    assert!(!write.body.contains("Notes"), "{}", write.body);
    let create = json(
        router,
        "PUT",
        "/api/pages/Team/New",
        Some(&bob),
        json!({"markdown": "x"}),
    )
    .await;
    assert_eq!(create.status, 403, "{}", create.body);
    let top = json(router, "GET", "/api/pages", Some(&bob), json!(null)).await;
    assert_eq!(top.status, 404);

    // A team member who may only view gets 403 on writes.
    add_user(&wiki, "carol", &["team"]).await;
    let carol = session_cookie(&wiki, "carol").await;
    assert_eq!(
        json(
            router,
            "GET",
            "/api/pages/Team/Notes",
            Some(&carol),
            json!(null)
        )
        .await
        .status,
        200
    );
    let write = json(
        router,
        "PUT",
        "/api/pages/Team/Notes",
        Some(&carol),
        json!({"markdown": "x"}),
    )
    .await;
    assert_eq!(write.status, 403, "{}", write.body);
    assert_eq!(
        json(
            router,
            "GET",
            "/api/pages/Team/permissions",
            Some(&carol),
            json!(null)
        )
        .await
        .status,
        403
    );
    assert_eq!(
        json(
            router,
            "GET",
            "/api/pages/Team/permissions",
            Some(&alice),
            json!(null)
        )
        .await
        .status,
        200
    );

    // Cookie writes from another site are refused; bearer tokens work.
    let cross = Request::put("/api/pages/Team/Notes")
        .header(header::COOKIE, &alice)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::HOST, "wiki.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"markdown":"x"}"#))
        .unwrap();
    assert_eq!(send(router, cross).await.status, 403);
    let store = wiki.parts.wiki.store.as_ref();
    let user = store.user("alice").await.unwrap().unwrap();
    let token = wiki::sessions::create(store, user.id, wiki::sessions::Kind::Api, "script")
        .await
        .unwrap();
    let scripted = Request::put("/api/pages/Team/Notes")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"markdown":"from a script"}"#))
        .unwrap();
    assert_eq!(send(router, scripted).await.status, 200);

    // Delete through the API: children first.
    assert_eq!(
        json(
            router,
            "DELETE",
            "/api/pages/Team",
            Some(&alice),
            json!(null)
        )
        .await
        .status,
        409
    );
    assert_eq!(
        json(
            router,
            "DELETE",
            "/api/pages/Team/Notes",
            Some(&carol),
            json!(null)
        )
        .await
        .status,
        403
    );
    assert_eq!(
        json(
            router,
            "DELETE",
            "/api/pages/Team/Notes",
            Some(&alice),
            json!(null)
        )
        .await
        .status,
        204
    );
    assert_eq!(
        json(
            router,
            "GET",
            "/api/pages/Team/Notes",
            Some(&alice),
            json!(null)
        )
        .await
        .status,
        404
    );
}
