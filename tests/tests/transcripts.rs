//! Daily transcripts against the real binary: a conversation across midnight
//! becomes two day pages and no page for a quiet day; a transcript is found
//! and read by exactly the people who may view its host page, and a change
//! of that page's permissions flips this at once for pages already written.
//!
//! Midnight comes from `BACKCHANNEL_CLOCK_OFFSET_SECS` (docs/OPERATING.md):
//! the server's chat clock is shifted to shortly before midnight of a fixed
//! day, so the test waits seconds, not hours, and the day names are known.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use backchannel_tests::api::{room_link, Api};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use protocol::Message;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "correct horse battery staple";
/// The transcript worker publishes a new day within a tick (2 s); allow for
/// a loaded machine.
const PUBLISH_WITHIN: Duration = Duration::from_secs(20);

/// 2026-11-23T00:00:00Z as Unix seconds: the simulated midnight. Pages are
/// in UTC unless given a zone, so this is midnight on the Welcome page too.
const MIDNIGHT: i64 = 1_795_392_000;
/// How long before midnight the server's clock starts: enough for the start,
/// two accounts (the CLI hashes their passwords) and two sign-ins on a busy
/// machine (14 s seen on two loaded cores), short enough to wait out.
const LEAD_SECS: i64 = 45;

/// The transcripts a room lists, as (date, path), waiting until there are
/// `count` of them.
async fn transcripts(api: &Api, room: &str, count: usize) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + PUBLISH_WITHIN;
    loop {
        let info = api.get_json(&format!("/api/rooms/{room}")).await.unwrap();
        let listed: Vec<(String, String)> = info["transcripts"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|t| {
                (
                    t["date"].as_str().unwrap_or_default().to_owned(),
                    t["path"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        if listed.len() >= count {
            return listed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "room {room} lists {listed:?}, not {count} transcripts, after {PUBLISH_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// GET `path` as `api` (or anonymously): status and body.
async fn get(api: Option<&Api>, base: &str, path: &str) -> (u16, String) {
    let request = match api {
        Some(api) => api.request(reqwest::Method::GET, path),
        None => reqwest::Client::new().get(format!("{base}{path}")),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The markdown of the wiki page at `path`, as `api` sees it.
async fn markdown(api: &Api, path: &str) -> String {
    let page = api.get_json(&format!("/api/pages/{path}")).await.unwrap();
    page["markdown"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_across_midnight_makes_two_day_pages() {
    let name = "transcripts-midnight";
    let Some(binary) = skip::require(name, server::binary()) else {
        return;
    };
    let real_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // The server's clock reads real time + offset.
    let offset = MIDNIGHT - LEAD_SECS - real_now;
    let server = TestServer::start_with_env(
        name,
        &binary,
        &[("BACKCHANNEL_CLOCK_OFFSET_SECS", offset.to_string().as_str())],
    )
    .expect("server starts");
    server.add_user("alice", PASSWORD).unwrap();
    server.add_user("bob", PASSWORD).unwrap();
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let bob = Api::sign_in(server.port(), "bob", PASSWORD).await.unwrap();
    let lobby = alice.lobby().await.unwrap();

    let evening: Message = alice
        .say(
            &lobby,
            "Late thought: the *evening* release looks fine",
            "eve-1",
        )
        .await
        .unwrap();
    let before = evening.created_at.timestamp_millis();
    assert!(
        before < MIDNIGHT * 1000,
        "the first message must land before the simulated midnight, but it is stamped {} \
         (setup took longer than {LEAD_SECS} s?)",
        evening.created_at
    );
    let evening_reply = bob
        .say(&lobby, "Agreed, sleep on it", "eve-2")
        .await
        .unwrap();
    assert_eq!(
        evening_reply.created_at.date_naive().to_string(),
        "2026-11-22"
    );
    // The first day's page appears while it is still that day.
    let listed = transcripts(&alice, &lobby, 1).await;
    assert_eq!(listed[0].0, "2026-11-22");

    // Wait until the server's clock is past midnight (plus a margin).
    let real_midnight = UNIX_EPOCH + Duration::from_secs((MIDNIGHT - offset) as u64 + 1);
    if let Ok(left) = real_midnight.duration_since(SystemTime::now()) {
        tokio::time::sleep(left).await;
    }
    let morning = alice
        .say(
            &lobby,
            "Good morning: shipping the release now",
            "morning-1",
        )
        .await
        .unwrap();
    assert_eq!(
        morning.created_at.date_naive().to_string(),
        "2026-11-23",
        "the second message falls on the next day ({})",
        morning.created_at
    );

    let listed = transcripts(&alice, &lobby, 2).await;
    let dates: Vec<&str> = listed.iter().map(|(date, _)| date.as_str()).collect();
    assert_eq!(
        dates,
        ["2026-11-23", "2026-11-22"],
        "newest first, one per day"
    );
    let (late_path, early_path) = (&listed[0].1, &listed[1].1);
    assert!(
        early_path.ends_with("/Chat/Lobby/2026-11-22"),
        "{early_path}"
    );
    assert!(late_path.ends_with("/Chat/Lobby/2026-11-23"), "{late_path}");

    // The evening page holds both evening messages, in order, and not the
    // morning's; the morning page the reverse. The day's last write waits
    // for nothing: it is published when the day ends.
    let early = markdown(&bob, early_path).await;
    let first = early
        .find("the *evening* release looks fine")
        .unwrap_or_else(|| panic!("the evening page lacks the first message:\n{early}"));
    let second = early
        .find("Agreed, sleep on it")
        .unwrap_or_else(|| panic!("the evening page lacks bob's reply:\n{early}"));
    assert!(first < second, "messages keep their order:\n{early}");
    assert!(early.contains("# Lobby — 2026-11-22"), "{early}");
    assert!(
        early.contains("{#m-1}") && early.contains("{#m-2}"),
        "{early}"
    );
    assert!(early.contains("23:59"), "local times are shown:\n{early}");
    assert!(!early.contains("shipping the release"), "{early}");
    let late = markdown(&bob, late_path).await;
    assert!(late.contains("# Lobby — 2026-11-23"), "{late}");
    assert!(
        late.contains("Good morning: shipping the release now"),
        "{late}"
    );
    assert!(late.contains("{#m-3}") && late.contains("00:00"), "{late}");
    assert!(!late.contains("evening"), "{late}");
    assert!(!late.contains("sleep on it"), "{late}");

    // No activity, no page: the days around have none, and the room's
    // transcript folder holds exactly the two days.
    let folder = early_path.trim_end_matches("/2026-11-22");
    for quiet in ["2026-11-21", "2026-11-24"] {
        let (status, _) = get(
            Some(&alice),
            &alice.base,
            &format!("/api/pages/{folder}/{quiet}"),
        )
        .await;
        assert_eq!(status, 404, "{folder}/{quiet} should not exist");
    }
    let mut children: Vec<String> = alice
        .get_json(&format!("/api/pages/{folder}"))
        .await
        .unwrap()["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect();
    children.sort();
    assert_eq!(
        children,
        [early_path.clone(), late_path.clone()],
        "only the two days with messages"
    );

    // The macro table lists both days.
    let info = alice
        .get_json(&format!("/api/rooms/{lobby}"))
        .await
        .unwrap();
    let page_id = info["page"]["id"].as_str().unwrap();
    let table = alice
        .request(reqwest::Method::GET, "/macro/chat")
        .query(&[("page", page_id), ("room", "Lobby")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains(">2026-11-22<") && table.contains(">2026-11-23<"),
        "{table}"
    );
    drop(server);
}

/// Search results' paths for `q`, as `api` or anonymously.
async fn search(api: Option<&Api>, base: &str, q: &str) -> (u64, Vec<String>) {
    let request = match api {
        Some(api) => api.request(reqwest::Method::GET, "/api/search"),
        None => reqwest::Client::new().get(format!("{base}/api/search")),
    };
    let answer: Value = request
        .query(&[("q", q)])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    (answer["total"].as_u64().unwrap(), paths)
}

/// What a reader gets of one transcript: search hits, the page's HTML, its
/// JSON, the macro table and room info.
struct Seen {
    found: bool,
    page: (u16, bool),
    json: u16,
    table_lists_it: bool,
    room_info: u16,
}

async fn seen_by(
    reader: Option<&Api>,
    base: &str,
    phrase: &str,
    path: &str,
    page_id: &str,
    room: &str,
) -> Seen {
    let (total, paths) = search(reader, base, phrase).await;
    assert_eq!(
        total as usize,
        paths.len(),
        "the total counts only what is shown: {paths:?}"
    );
    let (status, html) = get(reader, base, &format!("/pages/{path}")).await;
    let (json, _) = get(reader, base, &format!("/api/pages/{path}")).await;
    let macro_path = format!("/macro/chat?page={page_id}&room={}", "War%20Room");
    let (_, table) = get(reader, base, &macro_path).await;
    let (room_info, _) = get(reader, base, &format!("/api/rooms/{room}")).await;
    Seen {
        found: paths.iter().any(|p| p == path),
        page: (status, html.contains(phrase)),
        json,
        // The transcripts cell links each day as `<a href=…>DATE</a>`.
        table_lists_it: table
            .contains(&format!(">{}</a>", path.rsplit('/').next().unwrap_or(path))),
        room_info,
    }
}

fn assert_can_read(who: &str, seen: &Seen) {
    assert!(seen.found, "{who} finds the transcript by search");
    assert_eq!(seen.page, (200, true), "{who} opens the transcript page");
    assert_eq!(seen.json, 200, "{who} reads the transcript's markdown");
    assert!(seen.table_lists_it, "{who} sees it in the macro table");
    assert_eq!(seen.room_info, 200, "{who} reads the room info");
}

fn assert_cannot_read(who: &str, seen: &Seen) {
    assert!(!seen.found, "{who} must not find the transcript by search");
    assert!(
        matches!(seen.page.0, 403 | 404),
        "{who} gets no transcript page, not {}",
        seen.page.0
    );
    assert!(!seen.page.1, "{who} must not see the transcript's text");
    assert!(matches!(seen.json, 403 | 404), "{who}: {}", seen.json);
    assert!(
        !seen.table_lists_it,
        "{who} must not see it in the macro table"
    );
    assert_eq!(seen.room_info, 404, "{who} gets no room info");
}

#[tokio::test(flavor = "multi_thread")]
async fn transcripts_are_read_by_exactly_who_may_view_the_host_page() {
    let name = "transcripts-visibility";
    let Some(binary) = skip::require(name, server::binary()) else {
        return;
    };
    let server = TestServer::start(name, &binary).expect("server starts");
    server.add_admin("root", PASSWORD).unwrap();
    server.add_user("alice", PASSWORD).unwrap();
    server.add_user("bob", PASSWORD).unwrap();
    let root = Api::sign_in(server.port(), "root", PASSWORD).await.unwrap();
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let bob = Api::sign_in(server.port(), "bob", PASSWORD).await.unwrap();
    let base = alice.base.clone();

    let created = alice
        .request(reqwest::Method::PUT, "/api/pages/Ops")
        .json(&json!({ "title": "Ops", "markdown": "Operations.\n\n{chat:War Room}\n" }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let (_, html) = get(Some(&alice), &base, "/pages/Ops").await;
    let room = room_link(&html).expect("the Ops page shows its chat room");
    let phrase = "quokkas migrate at noon";
    alice
        .say(&room, &format!("Heads up: {phrase}, bring snacks"), "q-1")
        .await
        .unwrap();
    let listed = transcripts(&alice, &room, 1).await;
    let path = listed[0].1.clone();
    assert!(path.starts_with("Ops/Chat/"), "{path}");
    let info = alice.get_json(&format!("/api/rooms/{room}")).await.unwrap();
    let page_id = info["page"]["id"].as_str().unwrap().to_owned();
    let seen = |reader: Option<&'static str>| {
        let api = match reader {
            Some("alice") => Some(alice.clone()),
            Some("bob") => Some(bob.clone()),
            _ => None,
        };
        let (base, path, page_id, room) =
            (base.clone(), path.clone(), page_id.clone(), room.clone());
        async move { seen_by(api.as_ref(), &base, phrase, &path, &page_id, &room).await }
    };

    // Open wiki: the default lets everyone read.
    assert_can_read("bob", &seen(Some("bob")).await);
    assert_can_read("anonymous", &seen(None).await);

    // Close the host page to alice alone; the transcript, written before,
    // follows at once.
    let closed = root
        .request(reqwest::Method::PUT, "/api/pages/Ops/permissions")
        .json(&json!({ "inherit": false, "view": ["user:alice"], "edit": ["user:alice"] }))
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    assert_can_read("alice", &seen(Some("alice")).await);
    assert_cannot_read("bob", &seen(Some("bob")).await);
    assert_cannot_read("anonymous", &seen(None).await);

    // Let bob in by name: he reads it again, anonymous still does not.
    let widened = root
        .request(reqwest::Method::PUT, "/api/pages/Ops/permissions")
        .json(&json!({
            "inherit": false,
            "view": ["user:alice", "user:bob"],
            "edit": ["user:alice"]
        }))
        .send()
        .await
        .unwrap();
    assert!(widened.status().is_success(), "{}", widened.status());
    assert_can_read("bob", &seen(Some("bob")).await);
    assert_cannot_read("anonymous", &seen(None).await);

    // Back to inheriting: open to everyone again.
    let reopened = root
        .request(reqwest::Method::PUT, "/api/pages/Ops/permissions")
        .json(&json!({ "inherit": true, "view": [], "edit": [] }))
        .send()
        .await
        .unwrap();
    assert!(reopened.status().is_success(), "{}", reopened.status());
    assert_can_read("anonymous", &seen(None).await);
    drop(server);
}
