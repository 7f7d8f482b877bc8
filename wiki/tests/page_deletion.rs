//! Issue 17, finding 3: a deleted page takes its chat with it, over HTTP.
//!
//! A restricted page holding `{chat:Vault}` and one message (with a file)
//! is deleted with its children; another user's new page holding
//! `{chat:Vault}` must show an empty room, not the old one's message, and
//! the old room, its file and the file's bytes are gone.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::http::{serve, Served};
use common::{add_user, first_room, session_cookie, start};
use serde_json::json;
use std::time::Duration;

/// The transcript publisher writes a new day within a tick (2 s); allow
/// for a loaded machine.
const PUBLISH_WITHIN: Duration = Duration::from_secs(30);
const BOUNDARY: &str = "bcDeletionBoundary5Xq";

/// Deletes `path` and every page below it, deepest first, through the API.
async fn delete_tree(http: &Served, path: &str, cookie: &str) {
    let page = http
        .json(
            "GET",
            &format!("/api/pages/{path}"),
            Some(cookie),
            json!({}),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for child in page.json()["children"].as_array().unwrap() {
        let child = child.as_str().unwrap().to_owned();
        Box::pin(delete_tree(http, &child, cookie)).await;
    }
    let deleted = http
        .json(
            "DELETE",
            &format!("/api/pages/{path}"),
            Some(cookie),
            json!({}),
        )
        .await;
    assert_eq!(deleted.status, 204, "deleting {path}: {}", deleted.body);
}

fn multipart(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_pages_room_never_reattaches_to_a_new_page() {
    let wiki = start();
    let http = serve(&wiki).await;
    add_user(&wiki, "alice", &[]).await;
    add_user(&wiki, "bob", &[]).await;
    let alice = session_cookie(&wiki, "alice").await;
    let bob = session_cookie(&wiki, "bob").await;
    let admin = session_cookie(&wiki, "admin").await;

    // Alice's restricted page, its room, one message and one file.
    let put = http
        .json(
            "PUT",
            "/api/pages/Vault",
            Some(&alice),
            json!({"markdown": "Private.\n\n{chat:Vault}\n"}),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.body);
    let perms = http
        .json(
            "PUT",
            "/api/pages/Vault/permissions",
            Some(&admin),
            json!({"inherit": false, "view": ["user:alice"], "edit": ["user:alice"]}),
        )
        .await;
    assert!(perms.status == 200 || perms.status == 204, "{}", perms.body);
    let page = http.get("/pages/Vault", Some(&alice)).await;
    let old_room = first_room(&page.body);
    let posted = http
        .json(
            "POST",
            &format!("/api/rooms/{old_room}/messages"),
            Some(&alice),
            json!({"body": "the launch code is 0000", "client_msg_id": "m1"}),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.body);
    let uploaded = http
        .post_bytes(
            &format!("/api/rooms/{old_room}/files"),
            Some(&alice),
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart("codes.txt", b"launch codes, all of them"),
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let file_url = uploaded.json()["url"].as_str().unwrap().to_owned();
    let blobs_dir = wiki.dir.path().join("files");
    let stored = |bytes: &[u8]| {
        files_under(&blobs_dir)
            .iter()
            .any(|f| std::fs::read(f).is_ok_and(|b| b == bytes))
    };
    assert!(stored(b"launch codes, all of them"));

    // The day's transcript is a child page: wait for it, so the whole tree
    // is there to delete (as a person would find it).
    let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
    loop {
        let info = http
            .get(&format!("/api/rooms/{old_room}"), Some(&alice))
            .await;
        if info.json()["transcripts"].get(0).is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no transcript: {}",
            info.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    delete_tree(&http, "Vault", &alice).await;

    // Bob's new page with a room of the same name is a new, empty room.
    let put = http
        .json(
            "PUT",
            "/api/pages/Notes",
            Some(&bob),
            json!({"markdown": "Mine.\n\n{chat:Vault}\n"}),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.body);
    let page = http.get("/pages/Notes", Some(&bob)).await;
    assert_eq!(page.status, 200);
    let new_room = first_room(&page.body);
    assert_ne!(new_room, old_room, "a new page gets a new room");
    let history = http
        .get(&format!("/api/rooms/{new_room}/messages"), Some(&bob))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert!(!history.body.contains("launch code"), "{}", history.body);
    assert!(!page.body.contains("launch code"), "{}", page.body);

    // The old room, its messages and its file are gone for everyone.
    for cookie in [&alice, &bob] {
        for path in [
            format!("/api/rooms/{old_room}"),
            format!("/api/rooms/{old_room}/messages"),
            file_url.clone(),
        ] {
            let gone = http.get(&path, Some(cookie)).await;
            assert_eq!(gone.status, 404, "{path}: {}", gone.body);
        }
    }
    assert!(
        !stored(b"launch codes, all of them"),
        "the file's bytes are deleted"
    );
    let search = http.get("/api/search?q=launch", Some(&alice)).await;
    assert_eq!(search.json()["total"], 0, "{}", search.body);
}

/// Rooms left behind by pages deleted before deletions reached the chat
/// (an older version) are removed at start, so none can reattach to a new
/// page that an upgraded database's id counter gives the same id.
#[tokio::test(flavor = "multi_thread")]
async fn rooms_of_pages_deleted_earlier_are_removed_at_start() {
    use plugin::store::Store as _;
    use plugin::StoreMaintenance as _;
    let wiki = start();
    let chat = plugin::SqliteStore::open(&wiki.dir.path().join("chat.db")).unwrap();
    let welcome = wiki
        .parts
        .wiki
        .store
        .page_by_path(&wiki::pages::PagePath::parse("Welcome").unwrap())
        .await
        .unwrap()
        .unwrap();
    let user = protocol::UserId::new("alice");
    let kept = chat
        .ensure_room(
            &protocol::PageId::new(welcome.id.to_string()),
            "Lobby",
            &user,
        )
        .await
        .unwrap();
    let orphan = chat
        .ensure_room(&protocol::PageId::new("4242"), "Vault", &user)
        .await
        .unwrap();
    let foreign = chat
        .ensure_room(&protocol::PageId::new("not-ours"), "Elsewhere", &user)
        .await
        .unwrap();
    let removed = wiki::pages::remove_orphaned_rooms(
        wiki.parts.wiki.store.as_ref(),
        &chat,
        &wiki.parts.plugin,
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);
    let left: Vec<_> = chat
        .rooms()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(
        left.contains(&kept.id) && left.contains(&foreign.id),
        "{left:?}"
    );
    assert!(!left.contains(&orphan.id), "{left:?}");
}
