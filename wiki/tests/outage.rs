//! A wiki database that fails under the running app: the chat answers 500
//! with the JSON error, never a 404 or an empty page that would hide the
//! outage, and answers again once the database is back.
//!
//! The failure is real, in the real SQLite file the app uses: another
//! connection renames the `pages` table away while the app runs, so every
//! page lookup of the wiki's (already open, pooled) connections fails.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{first_room, get, session_cookie, start};
use wiki::install::Install;

/// Runs `sql` on the wiki's database from a connection of its own.
fn tamper(wiki: &common::TestWiki, sql: &str) {
    let path = Install::at(wiki.dir.path()).unwrap().wiki_db_path();
    let db = rusqlite::Connection::open(path).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn a_failing_wiki_database_is_a_500_not_a_404() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    // The admin's view creates the Lobby (an anonymous one would not).
    let home = get(router, "/", Some(&admin)).await;
    let room = first_room(&home.body);
    let info = format!("/api/rooms/{room}");
    // Anonymous readers have been answered (their access is remembered);
    // the admin has not asked yet.
    assert_eq!(get(router, &info, None).await.status, 200);

    tamper(&wiki, "ALTER TABLE pages RENAME TO pages_away");
    for (who, cookie) in [("anonymous", None), ("admin", Some(admin.as_str()))] {
        let reply = get(router, &info, cookie).await;
        assert_eq!(reply.status, 500, "{who}: {}", reply.body);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"]["code"], "internal", "{who}: {}", reply.body);
    }

    tamper(&wiki, "ALTER TABLE pages_away RENAME TO pages");
    let back = get(router, &info, Some(&admin)).await;
    assert_eq!(back.status, 200, "{}", back.body);
}
