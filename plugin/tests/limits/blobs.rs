//! File bytes go when nothing references them: at once when the message
//! that shared them is deleted, and by the collector after retention
//! prunes the message or when an upload never got its message.

use super::quotas::walk;
use super::team;
use plugin::collector::{collect, GRACE};
use reqwest::StatusCode;
use std::time::Duration;

/// The stored blobs (not staging) under the app's files directory.
fn blobs(t: &super::Team) -> Vec<std::path::PathBuf> {
    let dir = &t.app.state().config.files_dir;
    walk(dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("tmp")))
        .collect()
}

#[tokio::test]
async fn deleting_a_message_removes_its_files_bytes() {
    let t = team(|_| {}).await;
    let shared = t.upload("alice", "secret.txt", b"the launch code").await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    assert_eq!(blobs(&t).len(), 1);
    let url = shared.json["url"].as_str().unwrap().to_owned();
    let seq = shared.json["message"]["seq"].as_u64().unwrap();

    assert_eq!(t.delete("alice", seq).await.status, StatusCode::OK);
    assert!(blobs(&t).is_empty(), "bytes kept: {:?}", blobs(&t));
    assert_eq!(
        t.get(&url, Some("alice")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bytes_another_message_shares_stay() {
    let t = team(|_| {}).await;
    let first = t.upload("alice", "a.txt", b"same bytes").await;
    let second = t.upload("bob", "b.txt", b"same bytes").await;
    assert_eq!(blobs(&t).len(), 1, "stored once");
    let seq = first.json["message"]["seq"].as_u64().unwrap();
    assert_eq!(t.delete("alice", seq).await.status, StatusCode::OK);
    assert_eq!(blobs(&t).len(), 1, "bob's file still has them");
    let url = second.json["url"].as_str().unwrap();
    let download = t.get(url, Some("bob")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.text, "same bytes");
}

#[tokio::test]
async fn pruned_files_are_collected() {
    let t = team(|_| {}).await;
    let shared = t.upload("alice", "old.txt", b"old bytes").await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    t.say("alice", "the newest message stays").await;
    assert!(t.app.prune_all_but_newest().await.unwrap() >= 1);
    let state = t.app.state();
    let collected = collect(
        &*state.store,
        &*state.blobs,
        &state.blob_gate,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(collected.blobs, 1);
    assert_eq!(collected.bytes, b"old bytes".len() as u64);
    assert!(blobs(&t).is_empty(), "bytes kept: {:?}", blobs(&t));
}

#[tokio::test]
async fn orphans_are_collected_after_the_grace_period_only() {
    let t = team(|_| {}).await;
    let kept = t.upload("alice", "kept.txt", b"referenced").await;
    assert_eq!(kept.status, StatusCode::CREATED, "{}", kept.text);
    // Bytes whose message never committed (a node stopped in between).
    let orphan = "ab".repeat(32);
    let dir = t.app.state().config.files_dir.join("ab").join("ab");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&orphan), b"orphan").unwrap();
    let state = t.app.state();

    let young = collect(&*state.store, &*state.blobs, &state.blob_gate, GRACE)
        .await
        .unwrap();
    assert_eq!(young.blobs, 0, "a fresh orphan may still get its message");
    let old = collect(
        &*state.store,
        &*state.blobs,
        &state.blob_gate,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(old.blobs, 1);
    assert!(!dir.join(&orphan).exists());
    let url = kept.json["url"].as_str().unwrap();
    assert_eq!(t.get(url, Some("alice")).await.text, "referenced");
}
