//! Issue 17, finding 4 (the page parts): page writes are rate-limited per
//! user with a clear 429, `/history/<path>` is paged for anyone who may
//! read the page, and the 1 MiB page cap binds the chat's writes too.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::serve;
use common::{add_user, csrf_of, enc, json, post_form, session_cookie, start, start_with};
use plugin::{ChildPage, Host as _};
use protocol::PageId;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn page_writes_are_rate_limited_per_user() {
    let wiki = start_with(|config| {
        config.page_write_limit = plugin::config::Rate {
            count: 3,
            window: Duration::from_secs(600),
        };
    });
    let router = &wiki.parts.router;
    add_user(&wiki, "alice", &[]).await;
    add_user(&wiki, "bob", &[]).await;
    let alice = session_cookie(&wiki, "alice").await;
    let bob = session_cookie(&wiki, "bob").await;
    for i in 0..3 {
        let put = json(
            router,
            "PUT",
            "/api/pages/Notes",
            Some(&alice),
            json!({"markdown": format!("v{i}")}),
        )
        .await;
        assert!(put.status.is_success(), "write {i}: {}", put.body);
    }
    // The fourth, through the API: 429, a code and a Retry-After.
    let refused = json(
        router,
        "PUT",
        "/api/pages/Notes",
        Some(&alice),
        json!({"markdown": "v3"}),
    )
    .await;
    assert_eq!(refused.status.as_u16(), 429, "{}", refused.body);
    assert!(
        refused.body.contains(r#""code":"rate_limited""#),
        "{}",
        refused.body
    );
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&wait), "{wait}");
    // Through the forms too: save, move and delete draw on the same budget.
    let csrf = csrf_of(router, &alice).await;
    for (uri, form) in [
        (
            "/edit/Notes",
            format!("csrf={csrf}&title=Notes&markdown=v4"),
        ),
        (
            "/move/Notes",
            format!("csrf={csrf}&to={}", enc("Elsewhere")),
        ),
        ("/delete/Notes", format!("csrf={csrf}")),
    ] {
        let refused = post_form(router, uri, Some(&alice), &form).await;
        assert_eq!(refused.status.as_u16(), 429, "{uri}: {}", refused.body);
        assert!(refused.headers.contains_key("retry-after"), "{uri}");
        assert!(
            refused.body.contains("Too many changes"),
            "{}",
            refused.body
        );
    }
    let notes = json(router, "GET", "/api/pages/Notes", Some(&alice), json!({})).await;
    assert!(
        notes.body.contains(r#""markdown":"v2""#),
        "nothing past the budget was written: {}",
        notes.body
    );
    // Someone else has their own budget.
    let put = json(
        router,
        "PUT",
        "/api/pages/Bobs",
        Some(&bob),
        json!({"markdown": "mine"}),
    )
    .await;
    assert_eq!(put.status.as_u16(), 201, "{}", put.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_paged_for_anyone_who_may_read() {
    let wiki = start();
    let http = serve(&wiki).await;
    let admin = session_cookie(&wiki, "admin").await;
    for i in 0..25 {
        wiki::pages::put(
            wiki.parts.wiki.store.as_ref(),
            &wiki::pages::PagePath::parse("Busy").unwrap(),
            None,
            &format!("version {i}"),
            "admin",
        )
        .await
        .unwrap();
    }
    // Anonymous readers of a public page, and a signed-in one, alike.
    for cookie in [None, Some(admin.as_str())] {
        let rows = |body: &str| body.matches("?rev=").count();
        let first = http.get("/history/Busy?limit=10", cookie).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(rows(&first.body), 10, "{}", first.body);
        let mut seen = rows(&first.body);
        let mut next = older_link(&first.body);
        while let Some(link) = next {
            let page = http.get(&link, cookie).await;
            assert_eq!(page.status, 200);
            assert!(rows(&page.body) <= 10);
            seen += rows(&page.body);
            next = older_link(&page.body);
        }
        assert_eq!(seen, 25, "every revision, a page at a time");
        // The limit is capped.
        let capped = http.get("/history/Busy?limit=100000", cookie).await;
        assert_eq!(capped.status, 200);
    }
}

/// The "Older revisions" link of a history page.
fn older_link(body: &str) -> Option<String> {
    let at = body.find(r#"rel="next" href=""#)? + r#"rel="next" href=""#.len();
    Some(body[at..].split('"').next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn chat_writes_obey_the_page_cap() {
    let wiki = start();
    let store = wiki.parts.wiki.store.clone();
    let host = wiki::host::WikiHost::new(store.clone());
    let welcome = store
        .page_by_path(&wiki::pages::PagePath::parse("Welcome").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(host.max_page_bytes(), wiki::pages::MAX_MARKDOWN_BYTES);
    let child = |bytes: usize| ChildPage {
        segments: vec!["Chat".into(), "Big".into(), "2026-11-22".into()],
        title: "Big".into(),
        markdown: "x".repeat(bytes),
    };
    let parent = PageId::new(welcome.id.to_string());
    let refused = host
        .put_child_page(&parent, child(wiki::pages::MAX_MARKDOWN_BYTES + 1))
        .await;
    assert!(refused.is_err(), "over the cap is refused");
    let path = wiki::pages::PagePath::parse("Welcome/Chat/Big/2026-11-22").unwrap();
    assert!(store.page_by_path(&path).await.unwrap().is_none());
    host.put_child_page(&parent, child(wiki::pages::MAX_MARKDOWN_BYTES))
        .await
        .unwrap();
}
