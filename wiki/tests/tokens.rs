//! Session and API tokens at rest: stored only as SHA-256 hashes (old
//! plaintext rows converted on upgrade), and revoked with a password change.

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

mod common;

use sha2::Digest as _;
use wiki::sessions::{self, Kind};

fn sha256_hex(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn stored_tokens(wiki: &common::TestWiki) -> Vec<String> {
    let db = rusqlite::Connection::open(wiki.dir.path().join("wiki.db")).unwrap();
    let mut stmt = db.prepare("SELECT token FROM sessions").unwrap();
    let tokens = stmt
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    tokens
}

/// Finding 12: the database holds hashes, never a usable token.
#[tokio::test]
async fn tokens_are_stored_as_hashes() {
    let wiki = common::start();
    let store = wiki.parts.wiki.store.as_ref();
    let admin = store.user("admin").await.unwrap().unwrap();
    let browser = sessions::create(store, admin.id, Kind::Browser, "")
        .await
        .unwrap();
    let api = sessions::create(store, admin.id, Kind::Api, "ci")
        .await
        .unwrap();
    let stored = stored_tokens(&wiki);
    for token in [&browser, &api] {
        assert!(!stored.contains(token), "{token} stored as is: {stored:?}");
        assert!(stored.contains(&sha256_hex(token)), "{stored:?}");
        let session = sessions::lookup(store, token, false).await.unwrap();
        assert_eq!(session.unwrap().member.user.name, "admin");
    }
}

/// Finding 12: a wiki.db from before the change keeps its sessions: the
/// upgrade replaces each stored token by its hash (converts, not
/// invalidates), so browsers stay signed in and API tokens keep working.
#[tokio::test]
async fn an_old_database_has_its_tokens_hashed_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wiki.db");
    let store = wiki::store::SqliteStore::open(&path).unwrap();
    let alice = wiki::users::create(&store, "alice", "correct horse", false, &[])
        .await
        .unwrap();
    drop(store);
    {
        // As the previous release left it: schema version 3, plain tokens.
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute(
            "INSERT INTO sessions(token, user_id, csrf_token, kind, label, created_at)
             VALUES ('plain-old-token', ?1, 'c', 'api', 'ci', '2026-01-01T00:00:00Z')",
            [alice.id],
        )
        .unwrap();
        db.pragma_update(None, "user_version", 3).unwrap();
    }
    let store = wiki::store::SqliteStore::open(&path).unwrap();
    let session = sessions::lookup(&store, "plain-old-token", false)
        .await
        .unwrap();
    assert_eq!(session.unwrap().member.user.name, "alice");
    let db = rusqlite::Connection::open(&path).unwrap();
    let tokens: Vec<String> = db
        .prepare("SELECT token FROM sessions")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tokens, [sha256_hex("plain-old-token")]);
}

/// Finding 12: changing or resetting a password ends every session of the
/// account, API tokens included (whoever knew the old password may have
/// minted one).
#[tokio::test]
async fn a_password_change_revokes_api_tokens() {
    let wiki = common::start();
    common::add_user(&wiki, "alice", &[]).await;
    let store = wiki.parts.wiki.store.as_ref();
    let alice = store.user("alice").await.unwrap().unwrap();
    let api = sessions::create(store, alice.id, Kind::Api, "ci")
        .await
        .unwrap();
    let browser = sessions::create(store, alice.id, Kind::Browser, "")
        .await
        .unwrap();
    wiki::users::set_password(store, "alice", "battery staple")
        .await
        .unwrap();
    for token in [api, browser] {
        assert!(sessions::lookup(store, &token, false)
            .await
            .unwrap()
            .is_none());
    }
}

/// Finding 12: user names with control characters (a newline would forge
/// a log line) or other odd characters are refused when accounts are made.
#[tokio::test]
async fn user_names_with_control_characters_are_refused() {
    let wiki = common::start();
    let store = wiki.parts.wiki.store.as_ref();
    for name in [
        "eve\nINFO signed in user=admin",
        "eve\r",
        "eve\u{1b}[31m",
        "eve\u{202e}",
        "e ve",
    ] {
        let made = wiki::users::create(store, name, "correct horse", false, &[]).await;
        assert!(made.is_err(), "{name:?} was accepted");
        assert!(!wiki::users::valid_name(name));
    }
}
