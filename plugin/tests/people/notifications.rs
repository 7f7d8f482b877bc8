//! Notifications (seed 004): delivered on connect and live on every
//! transport (WebSocket, SSE, long-poll), kept across a restart, bounded
//! under a flood, and made only for real users who may read the room.

use super::{app_with, bell, bell_with, call, client, get, group, kinds, post, SOON};
use backchannel_tests::api::Api;
use plugin::testing::TestApp;
use plugin::Access;
use protocol::{ClientFrame, NotificationBody, ServerFrame};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// `olga` invites `user` into a fresh room called `name`.
async fn invite(olga: &Api, name: &str, user: &str) -> Value {
    let room = group(olga, name, false).await;
    let made = post(
        olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": user }),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body
}

#[tokio::test]
async fn a_websocket_gets_the_waiting_ones_on_connect_then_each_new_one() {
    let (_app, server) = app_with(&["olga", "ivan", "kim"]).await;
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    invite(&olga, "First", "ivan").await;

    let mut socket = ivan.websocket().await.unwrap();
    socket.send(&ClientFrame::Notifications).await.unwrap();
    match socket.next(SOON).await.unwrap() {
        Some(ServerFrame::Notifications { page }) => {
            assert_eq!(page.unread, 1);
            assert!(matches!(
                &page.notifications[0].body,
                NotificationBody::Invitation { invitation } if invitation.room.name == "First"
            ));
        }
        other => panic!("expected the waiting notifications, got {other:?}"),
    }
    invite(&olga, "Second", "ivan").await;
    match socket.next(SOON).await.unwrap() {
        Some(ServerFrame::Notification { notification }) => assert!(matches!(
            &notification.body,
            NotificationBody::Invitation { invitation } if invitation.room.name == "Second"
        )),
        other => panic!("expected the new notification, got {other:?}"),
    }
    // Nobody else's reach this socket.
    invite(&olga, "For kim's eyes", "kim").await;
    let quiet = socket.next(Duration::from_millis(300)).await.unwrap();
    assert!(quiet.is_none(), "{quiet:?}");
}

/// Reads `path` as SSE until `count` events came (or [`SOON`] passed).
async fn sse_events(api: &Api, path: &str, count: usize) -> Vec<(String, Value)> {
    let mut response = api.request(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut events, mut buffer) = (Vec::new(), String::new());
    let deadline = tokio::time::Instant::now() + SOON;
    while events.len() < count {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .map(str::trim);
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(str::trim);
            if let (Some(name), Some(data)) = (name, data) {
                events.push((name.to_owned(), serde_json::from_str(data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn sse_and_long_poll_deliver_them_too() {
    let (_app, server) = app_with(&["olga", "ivan"]).await;
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    invite(&olga, "First", "ivan").await;

    let reader = client(&server, "ivan");
    let streaming =
        tokio::spawn(async move { sse_events(&reader, "/api/notifications/stream", 2).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    invite(&olga, "Second", "ivan").await;
    let events = streaming.await.unwrap();
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["notifications", "notification"], "{events:?}");
    assert_eq!(events[0].1["unread"], 1);
    assert_eq!(events[1].1["invitation"]["room"]["name"], "Second");

    // Long-poll: held until something newer than `after` exists.
    let newest = bell(&ivan).await["notifications"][0]["id"]
        .as_u64()
        .unwrap();
    let poller = client(&server, "ivan");
    let polling = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let page = get(
            &poller,
            &format!("/api/notifications?after={newest}&wait=10"),
        )
        .await;
        (page, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    invite(&olga, "Third", "ivan").await;
    let (page, took) = polling.await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        took < Duration::from_secs(9),
        "answered when the news came, not at the deadline"
    );
    assert_eq!(
        page.body["notifications"][0]["invitation"]["room"]["name"],
        "Third"
    );
    let too_long = get(&ivan, "/api/notifications?after=0&wait=3600").await;
    assert_eq!(too_long.status, 400);
    let anonymous = Api::with_token(&server.base_url(), "nobody").unwrap();
    assert_eq!(get(&anonymous, "/api/notifications").await.status, 401);
    let refused = anonymous
        .request(Method::GET, "/api/notifications/stream")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn they_survive_a_restart_until_read_or_dismissed() {
    let app = TestApp::new().unwrap();
    for who in ["olga", "ivan"] {
        app.host.add_user(who);
    }
    let server = app.serve().await.unwrap();
    let olga = client(&server, "olga");
    invite(&olga, "Before the restart", "ivan").await;
    invite(&olga, "Also before", "ivan").await;
    drop(server);

    let app = app.restart().unwrap();
    let server = app.serve().await.unwrap();
    let ivan = client(&server, "ivan");
    let page = bell(&ivan).await;
    assert_eq!(
        (page["unread"].as_u64(), kinds(&page).len()),
        (Some(2), 2),
        "{page}"
    );

    let first = page["notifications"][0]["id"].as_u64().unwrap();
    let read = post(&ivan, "/api/notifications/read", json!({ "ids": [first] })).await;
    assert_eq!(read.body["changed"], 1, "{}", read.body);
    assert_eq!(bell(&ivan).await["unread"], 1);
    // Another user's ids touch nothing of theirs.
    let olga = client(&server, "olga");
    let meddled = post(
        &olga,
        "/api/notifications/dismiss",
        json!({ "ids": [first] }),
    )
    .await;
    assert_eq!(meddled.body["changed"], 0, "{}", meddled.body);
    let dismissed = post(&ivan, "/api/notifications/dismiss", json!({ "ids": [] })).await;
    assert_eq!(
        dismissed.body["changed"], 2,
        "empty ids dismiss all: {}",
        dismissed.body
    );
    assert!(kinds(&bell(&ivan).await).is_empty());
    let too_many = post(
        &ivan,
        "/api/notifications/read",
        json!({ "ids": (0..501).collect::<Vec<u64>>() }),
    )
    .await;
    assert_eq!(too_many.status, 400);
}

#[tokio::test]
async fn the_cap_holds_under_a_flood_of_mentions() {
    const CAP: usize = 10;
    let app = TestApp::with_config(|config| config.notification_cap = CAP).unwrap();
    let page = app.host.add_page("Team");
    app.host.grant("olga", &page, Access::Write);
    app.host.grant("ivan", &page, Access::Read);
    let room = app.room(&page, "Lobby").await.unwrap();
    let server = app.serve().await.unwrap();
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    for i in 0..60 {
        olga.say(room.as_str(), &format!("@ivan look {i}"), &format!("o-{i}"))
            .await
            .unwrap();
    }
    // Wait for the last one, then count.
    let deadline = tokio::time::Instant::now() + SOON;
    let page = loop {
        let page = bell(&ivan).await;
        if page["notifications"][0]["excerpt"] == "@ivan look 59" {
            break page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the last mention never came: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(kinds(&page).len(), CAP, "{page}");
    assert_eq!(page["unread"].as_u64(), Some(CAP as u64));
    assert!(
        page.get("next").is_none(),
        "nothing beyond the cap to page to"
    );
}

#[tokio::test]
async fn mentions_reach_only_real_readers_and_replies_reach_their_author() {
    let (app, server) = app_with(&["olga", "ivan", "kim", "mallory"]).await;
    let page = app.host.add_page("Team");
    app.host.grant("olga", &page, Access::Write);
    app.host.grant("ivan", &page, Access::Write);
    app.host.grant("kim", &page, Access::Read);
    let room = app.room(&page, "Lobby").await.unwrap();
    let (olga, ivan, kim, mallory) = (
        client(&server, "olga"),
        client(&server, "ivan"),
        client(&server, "kim"),
        client(&server, "mallory"),
    );
    let asked = ivan
        .say(room.as_str(), "who has the keys?", "i-1")
        .await
        .unwrap();
    let answer = post(
        &olga,
        &format!("/api/rooms/{room}/messages"),
        json!({ "body": "@kim @mallory @ghost I do", "client_msg_id": "o-1", "reply_to": asked.seq }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);

    let told = bell_with(&kim, "mention").await;
    assert_eq!(told["notifications"][0]["by"]["id"], "olga");
    let replied = bell_with(&ivan, "reply").await;
    assert_eq!(replied["notifications"][0]["seq"], asked.seq + 1);
    // Mallory may not read the page: named, but told nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(kinds(&bell(&mallory).await).is_empty());
    assert!(
        kinds(&bell(&olga).await).is_empty(),
        "nobody is told of their own message"
    );

    // A muted room tells nothing.
    let group = group(&olga, "Quiet", false).await;
    let _ = call(
        &olga,
        Method::PUT,
        &format!("/api/rooms/{group}/mute"),
        Some(json!({ "muted": true })),
    )
    .await;
    olga.say(&group, "@olga note to self", "o-2").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(kinds(&bell(&olga).await).is_empty());
}
