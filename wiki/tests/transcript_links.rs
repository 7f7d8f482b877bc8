//! Transcript links follow their host page: after `Team` (holding
//! `{chat:Standup}` and a day of chat) moves to `Moved/Team`, the room info
//! and the macro table link the day where it is now, and the link answers.
//!
//! The chat stores only the room and the day; where the day's page lives is
//! asked of the wiki whenever a link is shown.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{csrf_of, enc, first_room, get, json, post_form, session_cookie, start};
use std::time::Duration;

/// The transcript publisher writes a new day within a tick (2 s); allow
/// for a loaded machine.
const PUBLISH_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_page_takes_its_transcript_links_along() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let csrf = csrf_of(router, &admin).await;

    let body = format!(
        "csrf={csrf}&title=Team&markdown={}",
        enc("Our standup:\n\n{chat:Standup}\n")
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
        serde_json::json!({"body": "standup: all green", "client_msg_id": "m1"}),
    )
    .await;
    assert_eq!(posted.status.as_u16(), 201, "{}", posted.body);

    let info = format!("/api/rooms/{room}");
    let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
    let written = loop {
        let reply = get(router, &info, Some(&admin)).await;
        let listed: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        if let Some(day) = listed["transcripts"].get(0) {
            break day.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no transcript after {PUBLISH_WITHIN:?}: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let date = written["date"].as_str().unwrap().to_owned();
    assert_eq!(written["path"], format!("Team/Chat/Standup/{date}"));

    let moved = post_form(
        router,
        "/move/Team",
        Some(&admin),
        &format!("csrf={csrf}&to=Moved/Team"),
    )
    .await;
    assert_eq!(
        (moved.status.as_u16(), moved.location()),
        (303, Some("/pages/Moved/Team")),
        "{}",
        moved.body
    );

    let reply = get(router, &info, Some(&admin)).await;
    let listed: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let day = &listed["transcripts"][0];
    assert_eq!(day["path"], format!("Moved/Team/Chat/Standup/{date}"));
    let url = day["url"].as_str().unwrap();
    let page = get(router, url, Some(&admin)).await;
    assert_eq!(page.status.as_u16(), 200, "room info links {url}");
    assert!(page.body.contains("all green"), "{}", page.body);

    let table = get(router, "/pages/Moved/Team", Some(&admin)).await;
    let href = format!(r#"href="{url}""#);
    assert!(
        table.body.contains(&href),
        "the macro table links {url}: {}",
        table.body
    );
}
