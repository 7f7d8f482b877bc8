//! Every chat write path has a per-user rate limit that answers 429
//! `rate_limited` with `Retry-After`, over HTTP and over the WebSocket.

use super::{assert_rate_limited, team, Team};
use plugin::config::Rate;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The budget every limit gets in these tests.
const BUDGET: u32 = 3;

fn tight() -> Rate {
    Rate::per_minute(BUDGET)
}

async fn tight_team() -> Team {
    team(|config| {
        config.posts_per_window = BUDGET;
        config.rate_window = std::time::Duration::from_secs(60);
        config.edit_limit = tight();
        config.presence_limit = tight();
        config.read_limit = tight();
        config.uploads_per_minute = BUDGET;
    })
    .await
}

/// Posting, editing, deleting, presence, read marks, typing and uploads:
/// each allows its budget, then answers 429 with `Retry-After`.
#[tokio::test]
async fn every_write_path_meets_its_limit() {
    let t = tight_team().await;
    let room = t.room().to_owned();
    // Messages to edit and delete, posted by bob (alice's post budget is
    // the one under test).
    let mut mine = Vec::new();
    for i in 0..=BUDGET {
        let reply = t.post("alice", &format!("mine {i}")).await;
        if i < BUDGET {
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            mine.push(reply.json["seq"].as_u64().unwrap());
        } else {
            assert_rate_limited(&reply, "posting");
        }
    }
    // Editing her first message spends the edit budget...
    let first = format!("/api/rooms/{room}/messages/{}", mine[0]);
    for i in 0..BUDGET {
        let body = json!({"body": format!("edit {i}")});
        let reply = t
            .call(Method::PATCH, &first, Some("alice"), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "edit {i}: {}", reply.text);
    }
    let body = json!({"body": "one too many"});
    let edit = t
        .call(Method::PATCH, &first, Some("alice"), Some(body))
        .await;
    assert_rate_limited(&edit, "editing");
    // ...which deletions share.
    assert_rate_limited(&t.delete("alice", mine[1]).await, "deleting");

    for (what, path, body) in [
        (
            "presence",
            format!("/api/rooms/{room}/presence"),
            Some(json!({"status": "away"})),
        ),
        (
            "read marks",
            format!("/api/rooms/{room}/read"),
            Some(json!({"seq": 1})),
        ),
        ("typing", format!("/api/rooms/{room}/typing"), None),
    ] {
        for i in 0..BUDGET {
            let reply = t
                .call(Method::POST, &path, Some("alice"), body.clone())
                .await;
            assert!(
                reply.status.is_success(),
                "{what} {i}: {} {}",
                reply.status,
                reply.text
            );
        }
        let reply = t
            .call(Method::POST, &path, Some("alice"), body.clone())
            .await;
        assert_rate_limited(&reply, what);
        // Someone else has their own bucket.
        let reply = t.call(Method::POST, &path, Some("bob"), body).await;
        assert!(reply.status.is_success(), "bob's {what}: {}", reply.text);
    }

    // Bob, whose post budget is untouched (a shared file is a post too).
    for i in 0..BUDGET {
        let reply = t.upload("bob", &format!("f{i}.txt"), b"some bytes").await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "upload {i}: {}",
            reply.text
        );
    }
    let late = t.upload("bob", "late.txt", b"more bytes").await;
    assert_rate_limited(&late, "uploading");
    assert!(late.text.contains("uploads"), "{}", late.text);
}

/// Deleting has its own path to the limit: a fresh budget spent on
/// deletions alone.
#[tokio::test]
async fn deleting_meets_the_edit_and_delete_limit() {
    let t = team(|config| config.edit_limit = tight()).await;
    let mut seqs = Vec::new();
    for i in 0..=BUDGET {
        seqs.push(t.say("alice", &format!("doomed {i}")).await);
    }
    for seq in &seqs[..BUDGET as usize] {
        let reply = t.delete("alice", *seq).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    assert_rate_limited(&t.delete("alice", seqs[BUDGET as usize]).await, "deleting");
}

/// The WebSocket reaches the same operations and the same limits: a burst
/// of presence frames gets `rate_limited` errors back.
#[tokio::test]
async fn websocket_presence_meets_the_limit() {
    use backchannel_tests::api::Api;
    use protocol::{ClientFrame, ErrorCode, Presence, ServerFrame};
    let t = team(|config| config.presence_limit = tight()).await;
    let mut socket = Api::with_token(&t.server.base_url(), "alice")
        .unwrap()
        .websocket()
        .await
        .unwrap();
    for _ in 0..=BUDGET {
        socket
            .send(&ClientFrame::Presence {
                room: t.room.clone(),
                status: Some(Presence::Active),
            })
            .await
            .unwrap();
    }
    let mut limited = false;
    while let Some(frame) = socket
        .next(std::time::Duration::from_secs(2))
        .await
        .unwrap()
    {
        if let ServerFrame::Error { code, .. } = &frame {
            assert_eq!(*code, ErrorCode::RateLimited, "{frame:?}");
            limited = true;
            break;
        }
    }
    assert!(
        limited,
        "no rate_limited frame after {} presence frames",
        BUDGET + 1
    );
}
