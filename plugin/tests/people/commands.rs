//! Room commands (issue 21, seed 001) through `POST /api/rooms/{id}/commands`:
//! each runs the operation its button runs, with the same rights; `/help`
//! lists only what the caller may do; an unknown command is an error and
//! is never posted; `/me` posts an action line; commands sent as plain
//! messages (the messages API, a WebSocket `send`) are refused, not posted.

use super::{app_with, bodies, client, get, group, pending, post, SOON};
use protocol::{ClientFrame, ServerFrame};
use serde_json::json;

async fn command(api: &backchannel_tests::api::Api, room: &str, text: &str) -> super::Answer {
    post(
        api,
        &format!("/api/rooms/{room}/commands"),
        json!({ "text": text }),
    )
    .await
}

#[tokio::test]
async fn help_lists_only_what_the_caller_may_do() {
    let (_app, server) = app_with(&["alice", "bob"]).await;
    let alice = client(&server, "alice");
    let bob = client(&server, "bob");
    let room = group(&alice, "Plans", true).await;
    let joined = post(&bob, &format!("/api/rooms/{room}/join"), json!({})).await;
    assert_eq!(joined.status, 204, "{}", joined.body);

    let owner = command(&alice, &room, "/help").await;
    assert_eq!(owner.status, 200, "{}", owner.body);
    let said = owner.body["said"].as_str().unwrap();
    for name in [
        "/me", "/topic", "/invite", "/call", "/kick", "/leave", "/away", "/back", "/help",
    ] {
        assert!(
            said.contains(&format!("{name} ")) || said.contains(&format!("{name} —")),
            "{name} in:\n{said}"
        );
    }
    let member = command(&bob, &room, "/help").await;
    let said = member.body["said"].as_str().unwrap();
    assert!(said.contains("/me") && said.contains("/leave"), "{said}");
    assert!(
        !said.contains("/topic") && !said.contains("/kick"),
        "a member may not:\n{said}"
    );
}

#[tokio::test]
async fn each_command_acts_with_the_callers_rights() {
    let (_app, server) = app_with(&["alice", "bob", "carol", "dave"]).await;
    let alice = client(&server, "alice");
    let bob = client(&server, "bob");
    let room = group(&alice, "Plans", true).await;
    post(&bob, &format!("/api/rooms/{room}/join"), json!({})).await;

    // /topic: the owner may, a member may not.
    let refused = command(&bob, &room, "/topic mine now").await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let set = command(&alice, &room, "/topic  Friday's launch ").await;
    assert_eq!(set.status, 200, "{}", set.body);
    let info = get(&alice, &format!("/api/rooms/{room}")).await;
    assert_eq!(info.body["topic"], "Friday's launch");

    // /invite @carol with a comment: her invitation says it.
    let invited = command(&alice, &room, "/invite @carol join us").await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let hers = pending(&client(&server, "carol")).await;
    assert_eq!(hers.len(), 1);
    assert_eq!(hers[0]["comment"], "join us");
    let nobody = command(&alice, &room, "/invite @nobody").await;
    assert_eq!(nobody.status, 404, "{}", nobody.body);

    // /kick: a member may not; the owner removes bob, whose reads then 404.
    let refused = command(&bob, &room, "/kick alice").await;
    assert_eq!(refused.status, 403);
    let kicked = command(&alice, &room, "/kick @bob").await;
    assert_eq!(kicked.status, 200, "{}", kicked.body);
    let members = get(&alice, &format!("/api/rooms/{room}/members")).await;
    assert!(
        !members.body.to_string().contains("\"bob\""),
        "{}",
        members.body
    );

    // /leave, as anyone leaving would; /away and /back set presence.
    let dave = client(&server, "dave");
    post(&dave, &format!("/api/rooms/{room}/join"), json!({})).await;
    let away = command(&dave, &room, "/away").await;
    assert_eq!(away.status, 200, "{}", away.body);
    let info = get(&alice, &format!("/api/rooms/{room}")).await;
    assert!(
        info.body["present"].to_string().contains("\"away\""),
        "{}",
        info.body
    );
    let left = command(&dave, &room, "/leave").await;
    assert_eq!(left.status, 200, "{}", left.body);
    let again = command(&dave, &room, "/leave").await;
    assert_eq!(again.status, 403, "only members leave: {}", again.body);
}

#[tokio::test]
async fn unknown_commands_are_errors_me_is_an_action_and_slashes_can_be_escaped() {
    let (_app, server) = app_with(&["alice"]).await;
    let alice = client(&server, "alice");
    let room = group(&alice, "Plans", false).await;

    let unknown = command(&alice, &room, "/frobnicate now").await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert!(unknown.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/help"));
    let usage = command(&alice, &room, "/me").await;
    assert_eq!(
        (usage.status, usage.body["error"]["code"].as_str()),
        (400, Some("invalid_input"))
    );

    let acted = command(&alice, &room, "/me waves").await;
    assert_eq!(acted.status, 200, "{}", acted.body);
    assert_eq!(acted.body["message"]["body"], "/me waves");
    assert_eq!(acted.body["message"]["html"], "<p>waves</p>\n");
    let escaped = command(&alice, &room, "//etc/hosts is full").await;
    assert_eq!(escaped.body["message"]["body"], "/etc/hosts is full");
    assert_eq!(
        bodies(&alice, &room).await,
        ["/me waves", "/etc/hosts is full"]
    );

    // Not through the messages API, nor a WebSocket send: never posted.
    let sent = post(
        &alice,
        &format!("/api/rooms/{room}/messages"),
        json!({ "body": "/kick bob", "client_msg_id": "k-1" }),
    )
    .await;
    assert_eq!(sent.status, 400, "{}", sent.body);
    assert!(sent.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/commands"));
    let mut socket = alice.websocket().await.unwrap();
    socket
        .send(&ClientFrame::Send {
            room: protocol::RoomId::new(room.clone()),
            body: "/help".into(),
            client_msg_id: "h-1".into(),
            reply_to: None,
        })
        .await
        .unwrap();
    match socket.next(SOON).await.unwrap() {
        Some(ServerFrame::Error { client_msg_id, .. }) => {
            assert_eq!(client_msg_id.as_deref(), Some("h-1"))
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    assert_eq!(
        bodies(&alice, &room).await.len(),
        2,
        "nothing more was posted"
    );
}
