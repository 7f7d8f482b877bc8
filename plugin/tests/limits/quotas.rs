//! Upload quotas: bytes of files still shared, per user across rooms and
//! per room; hitting one answers 413 `quota_exceeded`, and deleting a
//! file's message gives its bytes back.

use super::{team, Reply};
use reqwest::StatusCode;

fn assert_over_quota(reply: &Reply, whose: &str) {
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.code(), "quota_exceeded", "{}", reply.text);
    let message = reply.json["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(whose), "{message}");
}

#[tokio::test]
async fn a_user_meets_their_quota_and_deleting_frees_it() {
    let t = team(|config| {
        config.user_upload_quota = 100;
        config.room_upload_quota = 0;
    })
    .await;
    let first = t.upload("alice", "a.bin", &[1u8; 60]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_over_quota(&t.upload("alice", "b.bin", &[2u8; 60]).await, "your");
    // The quota is alice's, not the room's: bob still may.
    let bobs = t.upload("bob", "c.bin", &[3u8; 60]).await;
    assert_eq!(bobs.status, StatusCode::CREATED, "{}", bobs.text);
    // Deleting the message that shared the file frees the quota.
    let seq = first.json["message"]["seq"].as_u64().unwrap();
    assert_eq!(t.delete("alice", seq).await.status, StatusCode::OK);
    let again = t.upload("alice", "b.bin", &[2u8; 60]).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
}

#[tokio::test]
async fn a_room_meets_its_quota() {
    let t = team(|config| {
        config.user_upload_quota = 0;
        config.room_upload_quota = 100;
    })
    .await;
    let alices = t.upload("alice", "a.bin", &[1u8; 60]).await;
    assert_eq!(alices.status, StatusCode::CREATED, "{}", alices.text);
    assert_over_quota(&t.upload("bob", "b.bin", &[2u8; 60]).await, "this room's");
    // What fits still fits.
    let small = t.upload("bob", "c.bin", &[3u8; 40]).await;
    assert_eq!(small.status, StatusCode::CREATED, "{}", small.text);
}

/// An upload already over the quota is refused when its first bytes
/// arrive, not after the whole file was stored: nothing is left in staging.
#[tokio::test]
async fn a_refused_upload_leaves_nothing_behind() {
    let t = team(|config| config.user_upload_quota = 10).await;
    let reply = t.upload("alice", "big.bin", &[9u8; 64 * 1024]).await;
    assert_over_quota(&reply, "your");
    let files = &t.app.state().config.files_dir;
    let left: Vec<_> = walk(files);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every regular file under `dir`.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
