//! `backchannel migrate` against the real binary: a single-node SQLite
//! install with accounts, a child page, a room history with an edit, an
//! uploaded file and a transcript is stopped, migrated into a fresh
//! PostgreSQL database and served from there on the same data directory;
//! everything a user saw before is there afterwards, and a second migrate
//! into the now non-empty database is refused without changing anything.
//!
//! Needs PostgreSQL (`BACKCHANNEL_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, used to create a database
//! for the run); without it the test says it was skipped, except under CI
//! where it fails.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use backchannel_tests::api::Api;
use backchannel_tests::backend::Database;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use infra::services::postgres_admin_url;
use protocol::Message;
use serde_json::{json, Value};
use sqlx::Connection as _;
use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "correct horse battery staple";

/// Row counts of a few tables of each part, to show a refused migrate
/// changed nothing.
async fn counts(database: &str) -> Vec<i64> {
    let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
    let mut all = Vec::new();
    for table in [
        "wiki.users",
        "wiki.sessions",
        "wiki.pages",
        "wiki.page_revisions",
        "rooms",
        "messages",
        "files",
        "transcripts",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        all.push(n);
    }
    all
}

/// `backchannel ARGS`, to completion.
fn backchannel(binary: &Path, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Uploads `bytes` as `name` to `room` (multipart, as the popup does); the
/// file's download URL.
async fn upload(api: &Api, room: &str, name: &str, bytes: &[u8]) -> String {
    let boundary = "backchannel-migrate-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"client_msg_id\"\r\n\r\n\
             upload-1\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    let response = api
        .request(reqwest::Method::POST, &format!("/api/rooms/{room}/files"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::CREATED, "upload: {answer}");
    answer["url"].as_str().unwrap().to_owned()
}

async fn download(api: &Api, url: &str) -> Vec<u8> {
    let response = api.request(reqwest::Method::GET, url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

/// The paths `/api/search` finds for `query`.
async fn found(api: &Api, query: &str) -> Vec<String> {
    let answer = api
        .get_json(&format!("/api/search?q={query}"))
        .await
        .unwrap();
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["path"].as_str().unwrap().to_owned())
        .collect()
}

/// What a user sees of the install: the room's history and the edit's
/// revisions, the room's transcripts and files, the pages' JSON, search.
#[derive(Debug, PartialEq)]
struct Seen {
    history: Vec<Message>,
    revisions: Value,
    transcripts: Value,
    files: Value,
    pages: Vec<Value>,
    search: Vec<String>,
}

async fn look(api: &Api, room: &str, edited_seq: u64, transcript: &str) -> Seen {
    let info = api.get_json(&format!("/api/rooms/{room}")).await.unwrap();
    let mut pages = Vec::new();
    for path in ["Welcome", "Welcome/Runbook", transcript] {
        let mut page = api.get_json(&format!("/api/pages/{path}")).await.unwrap();
        // The id is internal; everything a reader sees must match.
        page.as_object_mut().unwrap().remove("id");
        pages.push(page);
    }
    Seen {
        history: api.history_after(room, 0).await.unwrap(),
        revisions: api
            .get_json(&format!(
                "/api/rooms/{room}/messages/{edited_seq}/revisions"
            ))
            .await
            .unwrap(),
        transcripts: info["transcripts"].clone(),
        files: info["files"].clone(),
        pages,
        search: found(api, "zeppelin").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_install_moves_to_postgres_whole() {
    let test = "a_sqlite_install_moves_to_postgres_whole";
    let Some(binary) = skip::require(test, server::binary()) else {
        return;
    };
    let Some(created) = skip::require(test, Database::create("migrate").await) else {
        return;
    };
    let (database_name, database) = (created.name, created.url);

    // A single-node install in use.
    let mut server = TestServer::start("migrate", &binary).expect("server starts");
    server.add_user("alice", PASSWORD).unwrap();
    server.add_user("bob", PASSWORD).unwrap();
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let bob = Api::sign_in(server.port(), "bob", PASSWORD).await.unwrap();
    let room = alice.lobby().await.unwrap();
    alice.say(&room, "Morning all", "a-1").await.unwrap();
    let typo = alice
        .say(&room, "The deploy is at 10", "a-2")
        .await
        .unwrap();
    bob.say(&room, "**Noted**, thanks", "b-1").await.unwrap();
    let edited = alice
        .request(
            reqwest::Method::PATCH,
            &format!("/api/rooms/{room}/messages/{}", typo.seq),
        )
        .json(&json!({ "body": "The deploy is at 11" }))
        .send()
        .await
        .unwrap();
    assert!(edited.status().is_success(), "edit: {}", edited.status());
    // Every byte value, so any re-encoding of the file would show.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let file_url = upload(&bob, &room, "capture.bin", &bytes).await;
    let runbook = alice
        .request(reqwest::Method::PUT, "/api/pages/Welcome/Runbook")
        .json(&json!({ "title": "Runbook", "markdown": "Failover for the zeppelin cluster." }))
        .send()
        .await
        .unwrap();
    assert!(
        runbook.status().is_success(),
        "PUT page: {}",
        runbook.status()
    );

    let data = server.data_dir().display().to_string();
    let rebuilt = backchannel(&binary, &["transcripts", "rebuild", "--data", &data]);
    assert!(
        rebuilt.status.success(),
        "transcripts rebuild: {}",
        text(&rebuilt)
    );
    let info = alice.get_json(&format!("/api/rooms/{room}")).await.unwrap();
    let transcript = info["transcripts"][0]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("no transcript listed: {info}"))
        .to_owned();
    let before = look(&alice, &room, typo.seq, &transcript).await;
    assert_eq!(before.history.len(), 4, "three messages and the upload");
    assert_eq!(before.search, vec!["Welcome/Runbook".to_owned()]);
    assert_eq!(download(&alice, &file_url).await, bytes);

    // Stop it, migrate, serve the same data directory from PostgreSQL.
    server.stop();
    let from = format!("sqlite:{data}");
    let migrated = backchannel(&binary, &["migrate", "--from", &from, "--to", &database]);
    let said = text(&migrated);
    assert!(migrated.status.success(), "migrate: {said}");
    assert!(said.contains("verified"), "{said}");
    for line in [
        "wiki  users",
        "wiki  pages",
        "chat  messages",
        "chat  files",
    ] {
        assert!(said.contains(line), "the report lists {line:?}: {said}");
    }
    assert!(
        said.contains(&format!("{data}/files")) && said.contains("--data"),
        "the report says where the uploads stay: {said}"
    );
    server.set_env("BACKCHANNEL_DATABASE_URL", &database);
    server
        .restart()
        .expect("serve --database-url starts on the migrated data");

    // The same people sign in with the same passwords and see the same.
    let alice_again = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let after = look(&alice_again, &room, typo.seq, &transcript).await;
    assert_eq!(after, before);
    let fixed = after.history.iter().find(|m| m.seq == typo.seq).unwrap();
    assert_eq!(fixed.body, "The deploy is at 11", "the edit came along");
    assert!(fixed.edited_at.is_some());
    assert_eq!(
        download(&alice_again, &file_url).await,
        bytes,
        "the file, byte for byte"
    );
    // A session from before the move still works: sessions were copied too.
    bob.get_json(&format!("/api/rooms/{room}")).await.unwrap();
    // And the room goes on where it stopped.
    let next = bob
        .say(&room, "Hello from PostgreSQL", "b-2")
        .await
        .unwrap();
    assert_eq!(next.seq, before.history.last().unwrap().seq + 1);

    // A second migrate into the now non-empty database is refused and
    // changes nothing.
    let held = counts(&database).await;
    let again = backchannel(&binary, &["migrate", "--from", &from, "--to", &database]);
    let said = text(&again);
    assert!(
        !again.status.success(),
        "a second migrate must fail: {said}"
    );
    assert!(said.contains("empty database"), "{said}");
    assert_eq!(
        counts(&database).await,
        held,
        "the refused migrate changed nothing"
    );
    assert_eq!(
        alice_again.history_after(&room, 0).await.unwrap().len(),
        before.history.len() + 1
    );

    server.stop();
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {database_name} WITH (FORCE)"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
}
