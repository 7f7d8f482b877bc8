//! Issue 17, finding 6: text taken back from the chat (a deleted message,
//! an edited-out wording) leaves every stored revision of its transcript
//! page, read over HTTP as `/history/<day page>?rev=N` for every N.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{serve, Served};
use common::{first_room, session_cookie, start};
use serde_json::json;
use std::time::Duration;

/// A new day is published within a tick (2 s), an edit or deletion at the
/// next one; allow for a loaded machine, and for the minute a republish
/// used to wait.
const PUBLISH_WITHIN: Duration = Duration::from_secs(90);

/// Polls `path` until its body satisfies `done`.
async fn wait_for(http: &Served, path: &str, cookie: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
    loop {
        let page = http.get(path, Some(cookie)).await;
        if page.status == 200 && done(&page.body) {
            return page.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} not as expected after {PUBLISH_WITHIN:?}: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The revision ids a history page links.
fn revision_ids(history: &str) -> Vec<String> {
    history
        .split("?rev=")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn taken_back_text_leaves_every_transcript_revision() {
    let wiki = start();
    let http = serve(&wiki).await;
    let admin = session_cookie(&wiki, "admin").await;
    let page = http.get("/", Some(&admin)).await;
    let room = first_room(&page.body);
    let post = |key: &'static str, body: &'static str| {
        let http = &http;
        let admin = &admin;
        let room = &room;
        async move {
            let posted = http
                .json(
                    "POST",
                    &format!("/api/rooms/{room}/messages"),
                    Some(admin),
                    json!({"body": body, "client_msg_id": key}),
                )
                .await;
            assert_eq!(posted.status, 201, "{}", posted.body);
            posted.json()["seq"].as_u64().unwrap()
        }
    };
    post("a", "good morning").await;
    let secret = post("b", "the vault password is hunter2").await;
    let draft = post("c", "draft wording: swordfish").await;

    // The day page is published with all three.
    let info = wait_for(&http, &format!("/api/rooms/{room}"), &admin, |b| {
        b.contains("\"transcripts\":[{")
    })
    .await;
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let day_path = info["transcripts"][0]["path"].as_str().unwrap().to_owned();
    let day_url = format!("/pages/{day_path}");
    wait_for(&http, &day_url, &admin, |b| b.contains("swordfish")).await;
    // Later activity republishes the day: more revisions to hide text in.
    post("d", "more talk").await;

    // Take text back: delete one message, edit another.
    let deleted = http
        .json(
            "DELETE",
            &format!("/api/rooms/{room}/messages/{secret}"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let edited = http
        .json(
            "PATCH",
            &format!("/api/rooms/{room}/messages/{draft}"),
            Some(&admin),
            json!({"body": "final wording: marlin"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    wait_for(&http, &day_url, &admin, |b| {
        b.contains("marlin") && b.contains("more talk") && !b.contains("hunter2")
    })
    .await;

    // Every stored revision of the day page, each read in full.
    let history_url = format!("/history/{day_path}");
    let history = http
        .get(&format!("{history_url}?limit=200"), Some(&admin))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let ids = revision_ids(&history.body);
    assert!(!ids.is_empty(), "{}", history.body);
    for id in &ids {
        let revision = http
            .get(&format!("{history_url}?rev={id}"), Some(&admin))
            .await;
        assert_eq!(revision.status, 200);
        assert!(
            revision.body.contains("revision-markdown"),
            "rev {id}: {}",
            revision.body
        );
        for gone in ["hunter2", "swordfish"] {
            assert!(
                !revision.body.contains(gone),
                "revision {id} of {day_path} still holds {gone:?} ({} revisions)",
                ids.len()
            );
        }
    }
}
