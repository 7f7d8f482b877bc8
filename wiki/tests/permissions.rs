//! The permission matrix: users in and out of groups against pages with
//! their own and inherited rules. For every cell the page view, the JSON
//! page, search results and counts, the chat macro's room, its history and
//! its stream, and a child page give exactly the expected answer; changing a
//! parent's rule or a group membership flips them at once and moves the ACL
//! epoch that open chat streams watch.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{add_user, get, json, session_cookie, start, status_of, TestWiki};
use serde_json::json;
use std::collections::BTreeMap;
use wiki::acl::{Permissions, Principal};
use wiki::pages::{self, PagePath};

/// Page path, its unique search word, and its chat room (if any).
const PAGES: &[(&str, &str, Option<&str>)] = &[
    ("Open", "zebraopen", Some("Open Room")),
    ("Open/Kid", "zebrakidopen", None),
    ("Team", "zebrateam", Some("Team Room")),
    ("Team/Kid", "zebrakidteam", Some("Kid Room")),
    ("Team/Public", "zebrapublic", None),
    ("Private", "zebraprivate", Some("Bob Room")),
];

const WHO: &[&str] = &["anonymous", "alice", "bob", "carol", "admin"];

fn own(view: &[&str], edit: &[&str]) -> Permissions {
    let list = |l: &[&str]| l.iter().map(|p| p.parse::<Principal>().unwrap()).collect();
    Permissions {
        inherit: false,
        view: list(view),
        edit: list(edit),
    }
}

struct Matrix {
    cookies: BTreeMap<&'static str, Option<String>>,
    /// page path -> (page id, room id)
    rooms: BTreeMap<&'static str, (String, Option<String>)>,
}

async fn setup(wiki: &TestWiki) -> Matrix {
    add_user(wiki, "alice", &["team"]).await;
    add_user(wiki, "bob", &[]).await;
    add_user(wiki, "carol", &["team", "other"]).await;
    let store = wiki.parts.wiki.store.as_ref();
    for (path, word, room) in PAGES {
        let markdown = match room {
            Some(room) => format!("{word} page\n\n{{chat:{room}}}\n"),
            None => format!("{word} page\n"),
        };
        pages::put(
            store,
            &PagePath::parse(path).unwrap(),
            None,
            &markdown,
            "admin",
        )
        .await
        .unwrap();
    }
    for (path, perms) in [
        ("Team", own(&["group:team"], &["user:alice"])),
        ("Team/Public", own(&["anonymous"], &[])),
        ("Private", own(&["user:bob"], &["user:bob"])),
    ] {
        let page = store
            .page_by_path(&PagePath::parse(path).unwrap())
            .await
            .unwrap()
            .unwrap();
        store.set_permissions(page.id, &perms).await.unwrap();
    }
    let mut cookies = BTreeMap::new();
    for who in WHO {
        let cookie = match *who {
            "anonymous" => None,
            name => Some(session_cookie(wiki, name).await),
        };
        cookies.insert(*who, cookie);
    }
    // The admin sees every page: ask the macro for each room's id.
    let router = &wiki.parts.router;
    let admin = cookies["admin"].clone();
    let mut rooms = BTreeMap::new();
    for (path, _, room) in PAGES {
        let page = json(
            router,
            "GET",
            &format!("/api/pages/{path}"),
            admin.as_deref(),
            json!(null),
        )
        .await;
        let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        let page_id = page["id"].as_str().unwrap().to_owned();
        let room_id = match room {
            Some(room) => {
                let table = get(router, &macro_url(&page_id, room), admin.as_deref()).await;
                assert_eq!(table.status, 200, "{}", table.body);
                let id = table.body.split(r#"data-room=""#).nth(1).unwrap();
                Some(id.split('"').next().unwrap().to_owned())
            }
            None => None,
        };
        rooms.insert(*path, (page_id, room_id));
    }
    Matrix { cookies, rooms }
}

fn macro_url(page_id: &str, room: &str) -> String {
    format!("/macro/chat?page={page_id}&room={}", common::enc(room))
}

/// Checks every cell: `readable[who]` lists the pages `who` may view.
async fn check(wiki: &TestWiki, m: &Matrix, readable: &[(&str, &[&str])]) {
    let router = &wiki.parts.router;
    for (who, pages_ok) in readable {
        let cookie = m.cookies[who].as_deref();
        for (path, word, room) in PAGES {
            let ok = pages_ok.contains(path);
            let want = if ok {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            let cell = format!("{who} on {path}");

            let view = get(router, &format!("/pages/{path}"), cookie).await;
            assert_eq!(view.status, want, "page view, {cell}");
            let api = json(
                router,
                "GET",
                &format!("/api/pages/{path}"),
                cookie,
                json!(null),
            )
            .await;
            assert_eq!(api.status, want, "JSON page, {cell}");
            let found = json(
                router,
                "GET",
                &format!("/api/search?q={word}"),
                cookie,
                json!(null),
            )
            .await;
            let found: serde_json::Value = serde_json::from_str(&found.body).unwrap();
            assert_eq!(
                found["total"],
                json!(usize::from(ok)),
                "search count, {cell}"
            );
            assert_eq!(
                found["results"].as_array().unwrap().len(),
                usize::from(ok),
                "search, {cell}"
            );
            let html = get(router, &format!("/search?q={word}"), cookie).await;
            let link = format!(r#"href="/pages/{path}""#);
            assert_eq!(html.body.contains(&link), ok, "search page, {cell}");

            let (page_id, room_id) = &m.rooms[path];
            if let (Some(room), Some(room_id)) = (room, room_id) {
                let table = get(router, &macro_url(page_id, room), cookie).await;
                assert_eq!(table.status, want, "macro room, {cell}");
                let history = get(router, &format!("/api/rooms/{room_id}/messages"), cookie).await;
                assert_eq!(history.status, want, "room history, {cell}");
                let info = get(router, &format!("/api/rooms/{room_id}"), cookie).await;
                assert_eq!(info.status, want, "room info, {cell}");
                if !ok {
                    // A readable stream never ends, so only refusals are read.
                    let stream =
                        status_of(router, &format!("/api/rooms/{room_id}/stream"), cookie).await;
                    assert_eq!(stream, StatusCode::NOT_FOUND, "room stream, {cell}");
                }
            }
        }
        // Counts never include what `who` may not view.
        let all = json(router, "GET", "/api/search?q=zebra*", cookie, json!(null)).await;
        let all: serde_json::Value = serde_json::from_str(&all.body).unwrap();
        assert_eq!(all["total"], json!(pages_ok.len()), "total for {who}");
    }
}

#[tokio::test]
async fn the_permission_matrix_holds_and_flips_at_once() {
    let wiki = start();
    let m = setup(&wiki).await;
    let router = &wiki.parts.router;
    let everything: &[&str] = &[
        "Open",
        "Open/Kid",
        "Team",
        "Team/Kid",
        "Team/Public",
        "Private",
    ];
    let team: &[&str] = &["Open", "Open/Kid", "Team", "Team/Kid", "Team/Public"];
    check(
        &wiki,
        &m,
        &[
            ("anonymous", &["Open", "Open/Kid", "Team/Public"]),
            ("alice", team),
            ("bob", &["Open", "Open/Kid", "Team/Public", "Private"]),
            ("carol", team),
            ("admin", everything),
        ],
    )
    .await;

    let epoch = || wiki.parts.plugin.host.acl_epoch();
    let admin = m.cookies["admin"].as_deref();

    // Bob is added to Team's own rules: Team and its inheriting child open
    // up for him at once, rooms included.
    let before = epoch();
    let rules =
        json!({"inherit": false, "view": ["group:team", "user:bob"], "edit": ["user:alice"]});
    let set = json(router, "PUT", "/api/pages/Team/permissions", admin, rules).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_ne!(epoch(), before, "a permission change moves the epoch");
    check(
        &wiki,
        &m,
        &[
            (
                "bob",
                &[
                    "Open",
                    "Open/Kid",
                    "Team",
                    "Team/Kid",
                    "Team/Public",
                    "Private",
                ],
            ),
            ("anonymous", &["Open", "Open/Kid", "Team/Public"]),
        ],
    )
    .await;

    // Team inherits again (site defaults: everyone views).
    let before = epoch();
    let set = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        admin,
        json!({"inherit": true, "view": [], "edit": []}),
    )
    .await;
    assert_eq!(set.status, 200);
    assert_ne!(epoch(), before);
    check(
        &wiki,
        &m,
        &[(
            "anonymous",
            &["Open", "Open/Kid", "Team", "Team/Kid", "Team/Public"],
        )],
    )
    .await;

    // Restrict the top of the tree: Open's child follows its parent.
    let set = json(
        router,
        "PUT",
        "/api/pages/Open/permissions",
        admin,
        json!({"inherit": false, "view": ["signed-in"], "edit": []}),
    )
    .await;
    assert_eq!(set.status, 200);
    check(
        &wiki,
        &m,
        &[
            ("anonymous", &["Team", "Team/Kid", "Team/Public"]),
            (
                "carol",
                &["Open", "Open/Kid", "Team", "Team/Kid", "Team/Public"],
            ),
        ],
    )
    .await;

    // Group membership: restrict Team to the team again, then take carol
    // out of the group through the admin form.
    let set = json(
        router,
        "PUT",
        "/api/pages/Team/permissions",
        admin,
        json!({"inherit": false, "view": ["group:team"], "edit": []}),
    )
    .await;
    assert_eq!(set.status, 200);
    check(
        &wiki,
        &m,
        &[(
            "carol",
            &["Open", "Open/Kid", "Team", "Team/Kid", "Team/Public"],
        )],
    )
    .await;
    let before = epoch();
    let csrf = common::csrf_of(router, admin.unwrap()).await;
    let removed = common::post_form(
        router,
        "/admin/members",
        admin,
        &format!("action=remove&group=team&user=carol&csrf={csrf}"),
    )
    .await;
    assert_eq!(removed.status, 303);
    assert_ne!(epoch(), before, "a membership change moves the epoch");
    check(
        &wiki,
        &m,
        &[("carol", &["Open", "Open/Kid", "Team/Public"])],
    )
    .await;
}

#[tokio::test]
async fn changes_from_other_processes_reach_the_epoch() {
    let wiki = start();
    add_user(&wiki, "alice", &[]).await;
    let host = wiki.parts.plugin.host.clone();
    // Let the poller see the current value first.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let before = host.acl_epoch();
    // What `backchannel group member add` does: a write to the database
    // that does not go through the server's handlers.
    let other = wiki::store::SqliteStore::open(&wiki.dir.path().join("wiki.db")).unwrap();
    wiki::users::create_group(&other, "crew").await.unwrap();
    wiki::users::add_member(&other, "alice", "crew")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while host.acl_epoch() == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the epoch never moved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
