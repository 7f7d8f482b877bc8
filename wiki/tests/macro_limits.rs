//! Macro amplification: a page expands at most
//! `wiki::macros::MAX_MACROS_PER_PAGE` macros (the rest become a notice
//! and create nothing), and a chat message quoting macro syntax stays text
//! on its transcript page instead of opening that room on every view.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{csrf_of, enc, first_room, get, json, post_form, session_cookie, start};
use protocol::PageId;
use std::time::Duration;
use wiki::macros::MAX_MACROS_PER_PAGE;

/// The transcript publisher writes a new day within a tick (2 s); allow
/// for a loaded machine.
const PUBLISH_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn a_page_expands_at_most_the_cap_and_creates_no_more_rooms() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let csrf = csrf_of(router, &admin).await;
    let extra = 5;
    let markdown: String = (0..MAX_MACROS_PER_PAGE + extra)
        .map(|i| format!("{{chat:Room {i}}}\n\n"))
        .collect();
    let body = format!("csrf={csrf}&title=Many&markdown={}", enc(&markdown));
    let saved = post_form(router, "/pages/Many", Some(&admin), &body).await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);

    let page = get(router, "/pages/Many", Some(&admin)).await;
    assert_eq!(page.status.as_u16(), 200);
    let html = &page.body;
    assert_eq!(
        html.matches(r#"<table class="bc-macro""#).count(),
        MAX_MACROS_PER_PAGE,
        "{html}"
    );
    assert_eq!(
        html.matches("a page shows at most").count(),
        extra,
        "{html}"
    );
    let room = first_room(html);
    let store = &wiki.parts.plugin.store;
    let page_id: PageId = store
        .room(&protocol::RoomId::new(room))
        .await
        .unwrap()
        .unwrap()
        .page
        .unwrap();
    let last_shown = format!("Room {}", MAX_MACROS_PER_PAGE - 1);
    assert!(store
        .room_named(&page_id, &last_shown)
        .await
        .unwrap()
        .is_some());
    for i in MAX_MACROS_PER_PAGE..MAX_MACROS_PER_PAGE + extra {
        let name = format!("Room {i}");
        assert!(
            store.room_named(&page_id, &name).await.unwrap().is_none(),
            "{name} was created past the cap"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn macros_quoted_in_a_message_stay_text_on_its_transcript() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let csrf = csrf_of(router, &admin).await;
    let body = format!(
        "csrf={csrf}&title=Team&markdown={}",
        enc("Talk here:\n\n{chat:Standup}\n")
    );
    let saved = post_form(router, "/pages/Team", Some(&admin), &body).await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
    let team = get(router, "/pages/Team", Some(&admin)).await;
    let room = first_room(&team.body);
    let posted = json(
        router,
        "POST",
        &format!("/api/rooms/{room}/messages"),
        Some(&admin),
        serde_json::json!({"body": "put {chat:Vault} on a page", "client_msg_id": "m1"}),
    )
    .await;
    assert_eq!(posted.status.as_u16(), 201, "{}", posted.body);

    let info = format!("/api/rooms/{room}");
    let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
    let url = loop {
        let reply = get(router, &info, Some(&admin)).await;
        let listed: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        if let Some(url) = listed["transcripts"][0]["url"].as_str() {
            break url.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no transcript after {PUBLISH_WITHIN:?}: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let transcript = get(router, &url, Some(&admin)).await;
    assert_eq!(transcript.status.as_u16(), 200, "{url}");
    let html = &transcript.body;
    assert!(html.contains("put {chat:Vault} on a page"), "{html}");
    assert!(!html.contains("bc-macro"), "a macro expanded: {html}");
}
