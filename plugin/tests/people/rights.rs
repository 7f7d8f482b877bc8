//! Rights (seed 000), enforced on the server: a member without the add
//! right cannot invite; a moderator removes a member, whose open streams
//! end and whose history requests answer 404; only the owner changes
//! settings; an alias another room holds answers 409; a page room's
//! invitee must be able to read the page.

use super::{app_with, call, client, get, group, post, SOON};
use plugin::Access;
use protocol::ServerFrame;
use reqwest::Method;
use serde_json::json;

/// `owner`'s invite-only room with `member` in it (accepted); the room id.
async fn room_with(owner: &super::Api, member: &super::Api, member_id: &str) -> String {
    let room = group(owner, "Inner circle", false).await;
    let invited = post(
        owner,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": member_id }),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let id = invited.body["id"].as_u64().unwrap();
    let accepted = post(member, &format!("/api/invitations/{id}/accept"), json!({})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    room
}

#[tokio::test]
async fn a_member_without_the_add_right_cannot_invite() {
    let (_app, server) = app_with(&["olga", "mel", "ivan"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let room = room_with(&olga, &mel, "mel").await;
    let refused = post(
        &mel,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "ivan" }),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "forbidden"),
        "{}",
        refused.body
    );
    // Nor may they see the room's invitations, or remove anyone.
    assert_eq!(
        get(&mel, &format!("/api/rooms/{room}/invitations"))
            .await
            .status,
        403
    );
    let removal = call(
        &mel,
        Method::DELETE,
        &format!("/api/rooms/{room}/members/olga"),
        None,
    )
    .await;
    assert_eq!(removal.status, 403, "{}", removal.body);
}

#[tokio::test]
async fn a_removed_member_loses_their_streams_and_the_room() {
    let (_app, server) = app_with(&["olga", "mona", "mel"]).await;
    let (olga, mona, mel) = (
        client(&server, "olga"),
        client(&server, "mona"),
        client(&server, "mel"),
    );
    let room = room_with(&olga, &mel, "mel").await;
    let mona_in = post(
        &olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "mona" }),
    )
    .await;
    let id = mona_in.body["id"].as_u64().unwrap();
    assert_eq!(
        post(&mona, &format!("/api/invitations/{id}/accept"), json!({}))
            .await
            .status,
        200
    );
    let promoted = call(
        &olga,
        Method::PUT,
        &format!("/api/rooms/{room}/members/mona"),
        Some(json!({ "role": "moderator" })),
    )
    .await;
    assert_eq!(promoted.status, 204, "{}", promoted.body);

    // Mel follows the room over a WebSocket.
    let mut socket = mel.websocket().await.unwrap();
    socket.subscribe(&room, None).await.unwrap();
    let subscribed = socket.next(SOON).await.unwrap();
    assert!(
        matches!(subscribed, Some(ServerFrame::Subscribed { .. })),
        "{subscribed:?}"
    );
    olga.say(&room, "before", "o-1").await.unwrap();

    // The moderator removes mel.
    let removed = call(
        &mona,
        Method::DELETE,
        &format!("/api/rooms/{room}/members/mel"),
        None,
    )
    .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    olga.say(&room, "after the removal", "o-2").await.unwrap();

    // Mel's stream ends without "after the removal".
    let mut seen = Vec::new();
    let ended = loop {
        match socket.next(SOON).await {
            Ok(Some(ServerFrame::Event { event, .. })) => seen.push(format!("{event:?}")),
            Ok(Some(ServerFrame::Error { code, .. })) => break format!("error {code:?}"),
            Ok(Some(other)) => seen.push(format!("{other:?}")),
            Ok(None) => break "closed".to_owned(),
            Err(e) => break format!("ended: {e}"),
        }
    };
    assert!(
        !seen.iter().any(|event| event.contains("after the removal")),
        "a removed member got a message posted after: {seen:?} ({ended})"
    );
    assert!(
        ended.contains("NotFound") || ended == "closed" || ended.starts_with("ended"),
        "{ended}"
    );

    // And the room answers 404 to every read and write.
    for path in [
        format!("/api/rooms/{room}"),
        format!("/api/rooms/{room}/messages"),
        format!("/api/rooms/{room}/members"),
        format!("/api/rooms/{room}/events?after=0"),
    ] {
        assert_eq!(get(&mel, &path).await.status, 404, "{path}");
    }
    let said = post(
        &mel,
        &format!("/api/rooms/{room}/messages"),
        json!({ "body": "hi", "client_msg_id": "m-1" }),
    )
    .await;
    assert_eq!(said.status, 404, "{}", said.body);
    // A moderator may not remove the owner.
    let coup = call(
        &mona,
        Method::DELETE,
        &format!("/api/rooms/{room}/members/olga"),
        None,
    )
    .await;
    assert_eq!(coup.status, 403, "{}", coup.body);
}

#[tokio::test]
async fn only_the_owner_changes_settings_and_aliases_are_unique() {
    let (_app, server) = app_with(&["olga", "mel"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let room = room_with(&olga, &mel, "mel").await;
    let settings = format!("/api/rooms/{room}/settings");

    let refused = call(
        &mel,
        Method::PUT,
        &settings,
        Some(json!({ "topic": "mine now" })),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let changed = call(
        &olga,
        Method::PUT,
        &settings,
        Some(json!({ "topic": "Q3 plans", "alias": "q3" })),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            changed.body["topic"].as_str(),
            changed.body["alias"].as_str()
        ),
        (Some("Q3 plans"), Some("q3"))
    );

    // Another room may not take the alias, at creation or later.
    let taken = post(
        &mel,
        "/api/rooms",
        json!({ "name": "Other", "alias": "q3" }),
    )
    .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "conflict"),
        "{}",
        taken.body
    );
    let other = group(&mel, "Other", false).await;
    let renamed = call(
        &mel,
        Method::PUT,
        &format!("/api/rooms/{other}/settings"),
        Some(json!({ "alias": "Q3" })),
    )
    .await;
    assert_eq!(
        renamed.status, 409,
        "aliases compare lowercased: {}",
        renamed.body
    );
    let bad = post(
        &mel,
        "/api/rooms",
        json!({ "name": "Bad", "alias": "has space" }),
    )
    .await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_input"));
    let blank = post(&mel, "/api/rooms", json!({ "name": "  " })).await;
    assert_eq!(blank.status, 400, "{}", blank.body);

    // The last owner cannot step down or walk out on members.
    let demoted = call(
        &olga,
        Method::PUT,
        &format!("/api/rooms/{room}/members/olga"),
        Some(json!({ "role": "member" })),
    )
    .await;
    assert_eq!(demoted.status, 409, "{}", demoted.body);
    let left = post(&olga, &format!("/api/rooms/{room}/leave"), json!({})).await;
    assert_eq!(left.status, 409, "{}", left.body);
}

#[tokio::test]
async fn public_rooms_are_listed_and_joined_and_private_ones_are_not() {
    let (_app, server) = app_with(&["olga", "mel"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let open = group(&olga, "Open house", true).await;
    let closed = group(&olga, "Open secret", false).await;

    let listed = get(&mel, "/api/directory?q=open").await;
    let ids: Vec<&str> = listed.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [open.as_str()], "{}", listed.body);

    // A public room may be read, and joined to post.
    assert_eq!(get(&mel, &format!("/api/rooms/{open}")).await.status, 200);
    let early = post(
        &mel,
        &format!("/api/rooms/{open}/messages"),
        json!({ "body": "hi", "client_msg_id": "m-1" }),
    )
    .await;
    assert_eq!(early.status, 403, "{}", early.body);
    assert_eq!(
        post(&mel, &format!("/api/rooms/{open}/join"), json!({}))
            .await
            .status,
        204
    );
    mel.say(&open, "hi", "m-2").await.unwrap();
    // An invite-only one may not.
    assert_eq!(
        post(&mel, &format!("/api/rooms/{closed}/join"), json!({}))
            .await
            .status,
        404
    );
    assert_eq!(get(&mel, &format!("/api/rooms/{closed}")).await.status, 404);
    let anonymous = backchannel_tests::api::Api::with_token(&server.base_url(), "nobody").unwrap();
    assert_eq!(
        get(&anonymous, &format!("/api/rooms/{open}")).await.status,
        404
    );
    assert_eq!(get(&anonymous, "/api/directory").await.status, 401);
}

#[tokio::test]
async fn a_page_room_invitee_must_be_able_to_read_the_page() {
    let (app, server) = app_with(&["olga", "ivan"]).await;
    let page = app.host.add_page("Team");
    app.host.grant("olga", &page, Access::Write);
    let room = app.room(&page, "Lobby").await.unwrap();
    let olga = client(&server, "olga");
    let refused = post(
        &olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "ivan" }),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "forbidden"),
        "{}",
        refused.body
    );
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may not read the page"),
        "the error says why: {}",
        refused.body
    );
    app.host.grant("ivan", &page, Access::Read);
    let invited = post(
        &olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "ivan" }),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
}

#[tokio::test]
async fn group_and_direct_rooms_publish_no_transcript_pages() {
    let (app, server) = app_with(&["olga", "mel"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let room = room_with(&olga, &mel, "mel").await;
    olga.say(&room, "between us", "o-1").await.unwrap();
    let direct = post(&olga, "/api/direct/mel", json!({})).await;
    let direct = direct.body["id"].as_str().unwrap().to_owned();
    olga.say(&direct, "just us two", "o-2").await.unwrap();

    // Publishing their day, as the publisher's tick would, writes nothing.
    let today = chrono::Utc::now().date_naive();
    for id in [&room, &direct] {
        let published = app
            .state()
            .publisher
            .publish_day(&protocol::RoomId::new(id.as_str()), today)
            .await
            .unwrap();
        assert_eq!(published, None, "room {id} published a page");
    }
    assert!(app.host.children().is_empty(), "{:?}", app.host.children());
    let info = get(&olga, &format!("/api/rooms/{room}")).await;
    assert!(info.body.get("page").is_none(), "{}", info.body);
    assert_eq!(info.body["transcripts"], json!([]));
}

#[tokio::test]
async fn the_directory_lists_page_rooms_only_to_readers_of_their_page() {
    let (app, server) = app_with(&["olga", "mel"]).await;
    let seen = app.host.add_page("Harbor");
    let hidden = app.host.add_page("Board");
    app.host.grant("olga", &seen, Access::Write);
    app.host.grant("olga", &hidden, Access::Write);
    app.host.grant("mel", &seen, Access::Read);
    let harbor = app.room(&seen, "Harbor talk").await.unwrap();
    app.room(&hidden, "Harbor board").await.unwrap();
    let mel = client(&server, "mel");
    let listed = get(&mel, "/api/directory?q=harbor").await;
    let ids: Vec<&str> = listed.body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [harbor.as_str()], "{}", listed.body);
    app.host.revoke("mel", &seen);
    let listed = get(&mel, "/api/directory?q=harbor").await;
    assert_eq!(listed.body["rooms"], json!([]), "{}", listed.body);
}

#[tokio::test]
async fn an_owner_may_publish_a_group_rooms_transcripts_under_a_page_they_edit() {
    let (app, server) = app_with(&["olga", "mel"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let room = room_with(&olga, &mel, "mel").await;
    let notes = app.host.add_page("Notes");
    let settings = format!("/api/rooms/{room}/settings");
    let pick = |path: &str| Some(json!({ "transcripts_page": path }));

    // A page olga may not read is no page; one she may only read is refused;
    // mel is not an owner.
    let missing = call(&olga, Method::PUT, &settings, pick("Nowhere")).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let hidden = call(&olga, Method::PUT, &settings, pick("Notes")).await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    assert_eq!(
        hidden.body["error"]["message"], "no wiki page at Notes",
        "a page she may not read answers as a missing one"
    );
    app.host.grant("olga", &notes, Access::Read);
    let read_only = call(&olga, Method::PUT, &settings, pick("Notes")).await;
    assert_eq!(read_only.status, 403, "{}", read_only.body);
    app.host.grant("olga", &notes, Access::Write);
    let not_owner = call(&mel, Method::PUT, &settings, pick("Notes")).await;
    assert_eq!(not_owner.status, 403, "{}", not_owner.body);

    let picked = call(&olga, Method::PUT, &settings, pick("Notes")).await;
    assert_eq!(picked.status, 200, "{}", picked.body);
    olga.say(&room, "minutes of the day", "o-1").await.unwrap();
    let today = chrono::Utc::now().date_naive();
    let id = protocol::RoomId::new(room.as_str());
    let published = app.state().publisher.publish_day(&id, today).await.unwrap();
    assert!(published.is_some(), "published under Notes");
    let children = app.host.children();
    assert!(
        children.iter().all(|(parent, _)| parent == &notes) && !children.is_empty(),
        "{children:?}"
    );
    assert!(children[0].1.markdown.contains("minutes of the day"));
    // Still a members' room: the page's readers read the transcript, not the room.
    app.host.grant("mel", &notes, Access::Read);
    let info = get(&olga, &format!("/api/rooms/{room}")).await;
    assert_eq!(info.body["page"]["title"], "Notes", "{}", info.body);

    // The page goes: the room stays, with everything in it, and stops publishing.
    app.state()
        .page_event(plugin::PageEvent::Deleted(notes.clone()))
        .await
        .unwrap();
    let info = get(&olga, &format!("/api/rooms/{room}")).await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert!(info.body.get("page").is_none(), "{}", info.body);
    assert_eq!(super::bodies(&mel, &room).await, ["minutes of the day"]);

    // A page room publishes under its own page only.
    let page = app.host.add_page("Team");
    app.host.grant("olga", &page, Access::Write);
    let lobby = app.room(&page, "Lobby").await.unwrap();
    let own = call(
        &olga,
        Method::PUT,
        &format!("/api/rooms/{lobby}/settings"),
        pick("Notes"),
    )
    .await;
    assert_eq!(
        own.status, 403,
        "not an owner of the page room: {}",
        own.body
    );
}

/// Shares `bytes` as `name` (of `content_type`) in `room`, as a browser
/// uploads a file (multipart, field `file`); the file's id.
async fn share(
    who: &super::Api,
    room: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> String {
    let boundary = "peopleboundary1x2y3z";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = who
        .request(Method::POST, &format!("/api/rooms/{room}/files"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let body: serde_json::Value = answer.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_owner_picks_an_image_shared_in_the_room_as_its_avatar() {
    let (_app, server) = app_with(&["olga", "mel"]).await;
    let (olga, mel) = (client(&server, "olga"), client(&server, "mel"));
    let room = room_with(&olga, &mel, "mel").await;
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really, but typed as one";
    let image = share(&olga, &room, "logo.png", "image/png", PNG).await;
    let text = share(&olga, &room, "notes.txt", "text/plain", b"plain words").await;
    let settings = format!("/api/rooms/{room}/settings");

    let refused = call(
        &olga,
        Method::PUT,
        &settings,
        Some(json!({ "avatar": text })),
    )
    .await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "invalid_input"),
        "{}",
        refused.body
    );
    let by_member = call(
        &mel,
        Method::PUT,
        &settings,
        Some(json!({ "avatar": image })),
    )
    .await;
    assert_eq!(by_member.status, 403, "{}", by_member.body);
    let picked = call(
        &olga,
        Method::PUT,
        &settings,
        Some(json!({ "avatar": image })),
    )
    .await;
    assert_eq!(picked.status, 200, "{}", picked.body);
    let url = picked.body["avatar_url"].as_str().unwrap().to_owned();
    assert!(url.contains(&image), "{url}");
    let shown = mel.request(Method::GET, &url).send().await.unwrap();
    assert_eq!(shown.status(), 200, "members see the room's image");
    assert_eq!(shown.bytes().await.unwrap().as_ref(), PNG);
    let stranger = super::Api::with_token(&server.base_url(), "nobody").unwrap();
    let hidden = stranger.request(Method::GET, &url).send().await.unwrap();
    assert_eq!(
        hidden.status(),
        404,
        "an invite-only room's image is the room's"
    );

    let back = call(&olga, Method::PUT, &settings, Some(json!({ "avatar": "" }))).await;
    assert_eq!(back.body["avatar_url"], "/assets/room.svg", "{}", back.body);
}

#[tokio::test]
async fn a_page_admin_makes_moderators_of_a_page_room_and_they_moderate() {
    let (app, server) = app_with(&["ada", "mo", "ed"]).await;
    let page = app.host.add_page("Team");
    app.host.grant("ada", &page, Access::Admin);
    app.host.grant("mo", &page, Access::Write);
    app.host.grant("ed", &page, Access::Write);
    let room = app.room(&page, "Lobby").await.unwrap();
    let (ada, mo, ed) = (
        client(&server, "ada"),
        client(&server, "mo"),
        client(&server, "ed"),
    );
    assert_eq!(
        post(&mo, &format!("/api/rooms/{room}/join"), json!({}))
            .await
            .status,
        204
    );
    let said = ed
        .say(room.as_str(), "off-topic spam", "e-1")
        .await
        .unwrap();

    // An editor of the page is no owner of its room; its admin is.
    let role = |who| format!("/api/rooms/{room}/members/{who}");
    let refused = call(
        &ed,
        Method::PUT,
        &role("mo"),
        Some(json!({ "role": "moderator" })),
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let made = call(
        &ada,
        Method::PUT,
        &role("mo"),
        Some(json!({ "role": "moderator" })),
    )
    .await;
    assert_eq!(made.status, 204, "{}", made.body);
    let members = get(&ed, &format!("/api/rooms/{room}/members")).await;
    assert_eq!(members.body[0]["role"], "moderator", "{}", members.body);

    // The moderator deletes someone else's message.
    let gone = call(
        &mo,
        Method::DELETE,
        &format!("/api/rooms/{room}/messages/{}", said.seq),
        None,
    )
    .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    // The page admin may set the room's topic; the moderator may not.
    let topic = Some(json!({ "topic": "Team chat" }));
    let by_mod = call(
        &mo,
        Method::PUT,
        &format!("/api/rooms/{room}/settings"),
        topic.clone(),
    )
    .await;
    assert_eq!(by_mod.status, 403, "{}", by_mod.body);
    let by_admin = call(
        &ada,
        Method::PUT,
        &format!("/api/rooms/{room}/settings"),
        topic,
    )
    .await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
}
