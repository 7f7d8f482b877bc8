//! Extreme numbers in query strings and frames (`u64::MAX`, zero, too big
//! for the type) get an answer, never a panic: these tests build with
//! overflow checks, so an overflowing `+ 1` would kill the request.

use super::{team, SOON};
use backchannel_tests::api::Api;
use protocol::ServerFrame;
use reqwest::StatusCode;

const MAX: u64 = u64::MAX;

#[tokio::test]
async fn extreme_cursors_and_limits_are_answered() {
    let t = team(|_| {}).await;
    t.say("alice", "one").await;
    let room = t.room().to_owned();
    let too_big = "99999999999999999999999";
    for (path, ok) in [
        (format!("/api/rooms/{room}/messages?after={MAX}"), true),
        (format!("/api/rooms/{room}/messages?before={MAX}"), true),
        (format!("/api/rooms/{room}/messages?before=0"), true),
        (format!("/api/rooms/{room}/messages?limit={MAX}"), true),
        (
            format!("/api/rooms/{room}/messages?before={MAX}&range=day"),
            true,
        ),
        (format!("/api/rooms/{room}/messages?after={too_big}"), false),
        (format!("/api/rooms/{room}/messages?limit={too_big}"), false),
        (
            format!("/api/rooms/{room}/messages/{MAX}?context={MAX}"),
            false,
        ),
        (format!("/api/rooms/{room}/messages/{MAX}/thread"), false),
        (format!("/api/rooms/{room}/messages/{MAX}/revisions"), false),
        (format!("/api/rooms/{room}/events?after={MAX}"), true),
        (
            format!("/api/rooms/{room}/events?after={MAX}&limit={MAX}"),
            true,
        ),
    ] {
        let reply = t.get(&path, Some("alice")).await;
        if ok {
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        } else {
            assert!(
                reply.status.is_client_error(),
                "{path}: {} {}",
                reply.status,
                reply.text
            );
        }
    }
}

/// A long-poll waiting after `u64::MAX` sees the next message arrive (the
/// comparison with `after + 1` is where a debug build would panic).
#[tokio::test]
async fn a_waiting_poll_after_the_last_possible_seq_survives_a_message() {
    let t = team(|_| {}).await;
    let path = format!("/api/rooms/{}/events?after={MAX}&wait=2", t.room());
    let poll = t.get(&path, Some("alice"));
    let post = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        t.say("bob", "wakes the poller").await
    };
    let (reply, _) = tokio::join!(poll, post);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json["events"],
        serde_json::json!([]),
        "{}",
        reply.text
    );
}

/// Streams resumed after `u64::MAX` start (their feed does not die
/// before `subscribed`, where it compares the cursor with the first
/// retained seq).
#[tokio::test]
async fn streams_resumed_after_the_last_possible_seq_start() {
    let t = team(|_| {}).await;
    t.say("alice", "before").await;
    let mut socket = Api::with_token(&t.server.base_url(), "alice")
        .unwrap()
        .websocket()
        .await
        .unwrap();
    socket.subscribe(t.room(), Some(MAX)).await.unwrap();
    let subscribed = socket.next(SOON).await.unwrap();
    assert!(
        matches!(subscribed, Some(ServerFrame::Subscribed { .. })),
        "{subscribed:?}"
    );

    let mut sse = t
        .http
        .get(t.url(&format!("/api/rooms/{}/stream?after={MAX}", t.room())))
        .bearer_auth("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    let first = tokio::time::timeout(SOON, sse.chunk())
        .await
        .expect("the stream says something")
        .unwrap()
        .expect("the stream is still open");
    let first = String::from_utf8_lossy(&first);
    assert!(first.contains("subscribed"), "{first}");
}
