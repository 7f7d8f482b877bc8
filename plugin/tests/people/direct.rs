//! Direct chats (seed 004): A opens a chat with B while B is away; B finds
//! the invitation in the bell, accepts, and they talk; either side
//! reopening lands in the same room; inviting C opens a new group room
//! with all three and the inherited history while the 1:1 stays as it was.

use super::{app_with, bell, bell_with, bodies, client, get, kinds, pending, post};
use serde_json::json;

#[tokio::test]
async fn a_direct_chat_is_found_again_and_widens_into_a_new_group() {
    let (_app, server) = app_with(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (
        client(&server, "alice"),
        client(&server, "bob"),
        client(&server, "carol"),
    );

    // Alice opens the chat; bob is not connected.
    let opened = post(&alice, "/api/direct/bob", json!({})).await;
    assert_eq!(
        opened.status, 201,
        "the first open creates: {}",
        opened.body
    );
    let room = opened.body["id"].as_str().unwrap().to_owned();
    assert_eq!(opened.body["kind"], "direct");
    assert_eq!(opened.body["alias"], "private:alice:bob");
    let icon_url = opened.body["avatar_url"].as_str().unwrap();
    let icon = alice
        .request(reqwest::Method::GET, icon_url)
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200, "the stock room icon at {icon_url}");
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    alice.say(&room, "are you there?", "a-1").await.unwrap();

    // Before accepting, bob cannot read it; a stranger never can.
    assert_eq!(get(&bob, &format!("/api/rooms/{room}")).await.status, 404);
    assert_eq!(get(&carol, &format!("/api/rooms/{room}")).await.status, 404);

    // Bob signs in later: the bell shows the invitation, with the room's
    // card and alice's profile in it.
    let page = bell(&bob).await;
    assert_eq!(page["unread"], 1, "{page}");
    assert_eq!(kinds(&page), ["invitation"]);
    let invitation = &page["notifications"][0]["invitation"];
    assert_eq!(invitation["room"]["id"], room.as_str());
    assert_eq!(invitation["inviter"]["id"], "alice");
    let id = invitation["id"].as_u64().unwrap();
    assert_eq!(pending(&bob).await.len(), 1);

    let accepted = post(&bob, &format!("/api/invitations/{id}/accept"), json!({})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(pending(&bob).await.is_empty());
    assert!(
        kinds(&bell(&bob).await).is_empty(),
        "an accepted invitation leaves the bell"
    );
    assert_eq!(bodies(&bob, &room).await, ["are you there?"]);
    bob.say(&room, "here!", "b-1").await.unwrap();

    // Reopening from either side lands in the same room.
    let again = post(&bob, "/api/direct/alice", json!({})).await;
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (200, Some(room.as_str()))
    );
    let yourself = post(&alice, "/api/direct/alice", json!({})).await;
    assert_eq!(
        yourself.status, 400,
        "a chat with yourself: {}",
        yourself.body
    );
    let again = post(&alice, "/api/direct/bob", json!({})).await;
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (200, Some(room.as_str()))
    );

    // A message in the direct room notifies the other side.
    let page = bell_with(&alice, "direct").await;
    assert_eq!(page["notifications"][0]["excerpt"], "here!");

    // Both see it in "my rooms", with the other person named.
    let mine = get(&bob, "/api/me/rooms").await;
    let listed = mine.body.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", mine.body);
    assert_eq!(listed[0]["with"]["id"], "alice");

    // Alice invites carol: a new group room with all three and the history.
    let widened = post(
        &alice,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "carol", "comment": "join us" }),
    )
    .await;
    assert_eq!(widened.status, 201, "{}", widened.body);
    let group = widened.body["room"]["id"].as_str().unwrap().to_owned();
    assert_ne!(group, room, "the 1:1 is not the group");
    assert_eq!(widened.body["room"]["kind"], "group");
    let id = widened.body["id"].as_u64().unwrap();
    let joined = post(&carol, &format!("/api/invitations/{id}/accept"), json!({})).await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    let inherited = bodies(&carol, &group).await;
    assert_eq!(inherited.len(), 2, "{inherited:?}");
    assert!(inherited[0].starts_with("are you there?") && inherited[0].contains("inherited"));
    assert!(inherited[1].starts_with("here!"));
    let members = get(&carol, &format!("/api/rooms/{group}/members")).await;
    let mut ids: Vec<&str> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["alice", "bob", "carol"]);

    // The 1:1 is as it was: two people, two messages, carol outside.
    assert_eq!(bodies(&alice, &room).await, ["are you there?", "here!"]);
    assert_eq!(get(&carol, &format!("/api/rooms/{room}")).await.status, 404);
    let members = get(&alice, &format!("/api/rooms/{room}/members")).await;
    assert_eq!(
        members.body.as_array().unwrap().len(),
        2,
        "{}",
        members.body
    );
}

#[tokio::test]
async fn a_direct_chat_needs_a_real_other_person() {
    let (_app, server) = app_with(&["alice"]).await;
    let alice = client(&server, "alice");
    let nobody = post(&alice, "/api/direct/nobody", json!({})).await;
    assert_eq!((nobody.status, nobody.code()), (404, "not_found"));
    let stranger = super::Api::with_token(&server.base_url(), "not-signed-in").unwrap();
    let refused = post(&stranger, "/api/direct/alice", json!({})).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}
