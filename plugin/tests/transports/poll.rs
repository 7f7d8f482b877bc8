//! The long-poll transport: backlog at once, a held poll woken by a post,
//! the wait running out, resets and gaps.

use super::{client, post_many, team, QUIET, SOON};
use backchannel_tests::api::Api;
use serde_json::Value;
use std::time::Duration;

async fn poll(api: &Api, room: &str, after: u64, wait: u64) -> Value {
    let path = format!("/api/rooms/{room}/events?after={after}&wait={wait}");
    tokio::time::timeout(Duration::from_secs(wait) + SOON, api.get_json(&path))
        .await
        .expect("a poll answers by its wait")
        .unwrap()
}

fn event_seqs(answer: &Value) -> Vec<u64> {
    answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"]["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_poll_with_backlog_answers_at_once() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    post_many(&alice, team.room(), 3, "backlog").await;

    let started = tokio::time::Instant::now();
    let answer = poll(&client(&server, "rita"), team.room(), 1, 20).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not held: {answer}"
    );
    assert_eq!(event_seqs(&answer), [2, 3], "{answer}");
    assert_eq!(answer["last_seq"], 3);
    assert!(answer.get("reset").is_none(), "{answer}");
}

#[tokio::test]
async fn a_held_poll_returns_when_a_message_is_posted() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    alice.say(team.room(), "seen", "c-1").await.unwrap();

    let rita = client(&server, "rita");
    let room = team.room().to_owned();
    let started = tokio::time::Instant::now();
    let mut held = tokio::spawn(async move { poll(&rita, &room, 1, 20).await });
    assert!(
        tokio::time::timeout(QUIET, &mut held).await.is_err(),
        "with nothing new the poll is held"
    );
    alice.say(team.room(), "news", "c-2").await.unwrap();
    let answer = tokio::time::timeout(SOON, held).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    assert_eq!(event_seqs(&answer), [2], "{answer}");
    assert_eq!(answer["events"][0]["message"]["body"], "news");
    assert_eq!(answer["last_seq"], 2);
}

#[tokio::test]
async fn a_poll_with_nothing_new_answers_empty_when_the_wait_runs_out() {
    let team = team().await;
    let server = team.serve().await;
    client(&server, "alice")
        .say(team.room(), "old", "c-1")
        .await
        .unwrap();

    let started = tokio::time::Instant::now();
    let answer = poll(&client(&server, "rita"), team.room(), 1, 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "held for the wait"
    );
    assert_eq!(event_seqs(&answer), Vec::<u64>::new(), "{answer}");
    assert_eq!(answer["last_seq"], 1, "the cursor stays");
}

#[tokio::test]
async fn a_cursor_older_than_the_retained_history_gets_a_reset() {
    let team = team().await;
    let server = team.serve().await;
    post_many(&client(&server, "alice"), team.room(), 4, "old").await;
    team.app.prune_all_but_newest().await.unwrap();

    let answer = poll(&client(&server, "rita"), team.room(), 1, 0).await;
    assert_eq!(answer["reset"], 4, "{answer}");
    assert_eq!(event_seqs(&answer), [4]);
    assert_eq!(answer["last_seq"], 4);
}

#[tokio::test]
async fn a_message_the_bus_never_carried_is_read_from_the_store() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    alice.say(team.room(), "first", "c-1").await.unwrap();

    let rita = client(&server, "rita");
    let room = team.room().to_owned();
    let held = tokio::spawn(async move { poll(&rita, &room, 1, 20).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lost = team
        .app
        .commit_unannounced(&team.room, "bob", "lost on the bus")
        .await
        .unwrap();
    assert_eq!(lost, 2);
    alice.say(team.room(), "third", "c-3").await.unwrap();

    let answer = tokio::time::timeout(SOON, held).await.unwrap().unwrap();
    assert_eq!(event_seqs(&answer), [2, 3], "no gap: {answer}");
    assert_eq!(answer["events"][0]["message"]["body"], "lost on the bus");
}
