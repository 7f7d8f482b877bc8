//! The Server-Sent Events transport over a real socket.

use super::{client, post_many, team, SOON};
use serde_json::Value;
use std::time::Duration;

/// The seqs of the `message` events among `events`, in order.
fn message_seqs(events: &[(String, Value)]) -> Vec<u64> {
    events
        .iter()
        .filter(|(name, _)| name == "message")
        .map(|(_, data)| data["message"]["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn last_event_id_replays_exactly_what_was_missed() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    post_many(&alice, team.room(), 4, "missed").await;

    let events = client(&server, "bob")
        .sse(team.room(), Some(2), 2, SOON)
        .await
        .unwrap();
    assert_eq!(events[0].0, "subscribed", "{events:?}");
    assert_eq!(events[0].1["last_seq"], 4);
    assert_eq!(message_seqs(&events), [3, 4], "{events:?}");
    assert_eq!(events[1].1["message"]["body"], "missed 2");
}

#[tokio::test]
async fn a_post_made_while_the_stream_is_open_arrives_once() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    post_many(&alice, team.room(), 2, "before").await;

    let bob = client(&server, "bob");
    let room = team.room().to_owned();
    // Resumes at 2 and waits for one more message.
    let reading = tokio::spawn(async move { bob.sse(&room, Some(2), 1, SOON).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    alice.say(team.room(), "now", "now-1").await.unwrap();

    let events = reading.await.unwrap().unwrap();
    assert_eq!(message_seqs(&events), [3], "{events:?}");
    let (_, now) = events.iter().find(|(name, _)| name == "message").unwrap();
    assert_eq!(now["message"]["body"], "now");
}

#[tokio::test]
async fn a_revoked_reader_gets_an_error_event_and_the_stream_ends() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    alice.say(team.room(), "allowed", "c-1").await.unwrap();

    let rita = client(&server, "rita");
    let room = team.room().to_owned();
    let started = tokio::time::Instant::now();
    // Asks for more messages than will come: it returns when the stream ends.
    let reading = tokio::spawn(async move { rita.sse(&room, Some(0), 3, SOON).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    team.app.host.revoke("rita", &team.page);
    alice.say(team.room(), "secret", "c-2").await.unwrap();

    let events = reading.await.unwrap().unwrap();
    assert!(
        started.elapsed() < SOON,
        "the server ended the stream; the reader did not time out: {events:?}"
    );
    assert_eq!(
        message_seqs(&events),
        [1],
        "only what came before: {events:?}"
    );
    let (name, error) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(error["error"]["code"], "not_found");
}
