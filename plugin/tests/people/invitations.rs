//! An invitation's life (seed 004): accepted; expired after its TTL;
//! invisible before its scheduled start (with an iCalendar file for it);
//! cancelled by the inviter and by a room admin; declined silently (the
//! inviter hears nothing) or with a message (the inviter is told).

use super::{app_with, bell, bell_with, client, get, group, kinds, pending, post, Api};
use serde_json::{json, Value};
use std::time::Duration;

/// `inviter` invites `user` into `room`; the invitation.
async fn invite(inviter: &Api, room: &str, user: &str, extra: Value) -> Value {
    let mut body = json!({ "user": user });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let made = post(inviter, &format!("/api/rooms/{room}/invitations"), body).await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body
}

fn id(invitation: &Value) -> u64 {
    invitation["id"].as_u64().unwrap()
}

#[tokio::test]
async fn accepting_makes_a_member_and_a_second_answer_is_a_conflict() {
    let (_app, server) = app_with(&["olga", "ivan"]).await;
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    let room = group(&olga, "Plans", false).await;
    let invitation = invite(&olga, &room, "ivan", json!({ "comment": "come plan" })).await;
    assert_eq!(invitation["comment"], "come plan");
    assert_eq!(invitation["room"]["name"], "Plans");
    assert_eq!(invitation["inviter"]["id"], "olga");
    assert_eq!(get(&ivan, &format!("/api/rooms/{room}")).await.status, 404);

    let path = format!("/api/invitations/{}/accept", id(&invitation));
    assert_eq!(post(&ivan, &path, json!({})).await.status, 200);
    assert_eq!(get(&ivan, &format!("/api/rooms/{room}")).await.status, 200);
    let again = post(&ivan, &path, json!({})).await;
    assert_eq!(
        (again.status, again.code()),
        (409, "conflict"),
        "{}",
        again.body
    );
    // Someone else cannot answer it, nor even see it.
    let olga_accepts = post(&olga, &path, json!({})).await;
    assert_eq!(olga_accepts.status, 403, "{}", olga_accepts.body);
    let invited_twice = post(
        &olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "ivan" }),
    )
    .await;
    assert_eq!(
        invited_twice.status, 409,
        "already a member: {}",
        invited_twice.body
    );
}

#[tokio::test]
async fn an_invitation_expires_after_its_ttl() {
    let (_app, server) = app_with(&["olga", "ivan"]).await;
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    let room = group(&olga, "Brief", false).await;
    let invitation = invite(&olga, &room, "ivan", json!({ "ttl_secs": 1 })).await;
    assert!(invitation["expires_at"].is_string());
    assert_eq!(pending(&ivan).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        pending(&ivan).await.is_empty(),
        "expired invitations are not pending"
    );
    let late = post(
        &ivan,
        &format!("/api/invitations/{}/accept", id(&invitation)),
        json!({}),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(get(&ivan, &format!("/api/rooms/{room}")).await.status, 404);

    let too_long = post(
        &olga,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": "ivan", "ttl_secs": 365 * 86_400 }),
    )
    .await;
    assert_eq!((too_long.status, too_long.code()), (400, "invalid_input"));
}

#[tokio::test]
async fn a_scheduled_invitation_is_invisible_before_its_start() {
    let (_app, server) = app_with(&["olga", "ivan"]).await;
    let (olga, ivan) = (client(&server, "olga"), client(&server, "ivan"));
    let room = group(&olga, "Standup", false).await;
    let start = chrono::Utc::now() + chrono::Duration::seconds(2);
    let invitation = invite(&olga, &room, "ivan", json!({ "starts_at": start })).await;
    let path = format!("/api/invitations/{}", id(&invitation));

    assert!(pending(&ivan).await.is_empty());
    assert!(
        kinds(&bell(&ivan).await).is_empty(),
        "not in the bell before it starts"
    );
    assert_eq!(get(&ivan, &path).await.status, 404, "nor readable");
    let early = post(&ivan, &format!("{path}/accept"), json!({})).await;
    assert_eq!(early.status, 404, "{}", early.body);

    // The inviter gets the calendar file at once.
    let ics = olga
        .request(reqwest::Method::GET, &format!("{path}/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(ics.status(), 200);
    assert!(ics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let text = ics.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(
        text.contains(&format!("DTSTART:{}", start.format("%Y%m%dT%H%M%SZ"))),
        "{text}"
    );
    assert!(text.contains("SUMMARY:Chat: Standup"), "{text}");

    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(pending(&ivan).await.len(), 1, "visible once started");
    assert_eq!(kinds(&bell(&ivan).await), ["invitation"]);
    assert_eq!(
        post(&ivan, &format!("{path}/accept"), json!({}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_inviter_or_a_room_admin_cancels() {
    let (_app, server) = app_with(&["olga", "mona", "ivan", "kim"]).await;
    let (olga, mona, ivan, kim) = (
        client(&server, "olga"),
        client(&server, "mona"),
        client(&server, "ivan"),
        client(&server, "kim"),
    );
    let room = group(&olga, "Ops", false).await;
    // Mona becomes a moderator: she may invite, and cancel others' invitations.
    let mona_in = invite(&olga, &room, "mona", json!({})).await;
    assert_eq!(
        post(
            &mona,
            &format!("/api/invitations/{}/accept", id(&mona_in)),
            json!({})
        )
        .await
        .status,
        200
    );
    let promoted = super::call(
        &olga,
        reqwest::Method::PUT,
        &format!("/api/rooms/{room}/members/mona"),
        Some(json!({ "role": "moderator" })),
    )
    .await;
    assert_eq!(promoted.status, 204, "{}", promoted.body);

    // The inviter cancels their own.
    let first = invite(&mona, &room, "ivan", json!({})).await;
    let cancel = |inv: &Value| format!("/api/invitations/{}/cancel", id(inv));
    // The invitee cannot cancel (they decline); a stranger cannot see it.
    assert_eq!(post(&ivan, &cancel(&first), json!({})).await.status, 403);
    assert_eq!(post(&kim, &cancel(&first), json!({})).await.status, 404);
    assert_eq!(post(&mona, &cancel(&first), json!({})).await.status, 204);
    assert!(
        pending(&ivan).await.is_empty(),
        "a cancelled invitation is gone"
    );
    assert!(
        kinds(&bell(&ivan).await).is_empty(),
        "and so is its notification"
    );

    // A room admin (the owner) cancels the moderator's invitation.
    let second = invite(&mona, &room, "ivan", json!({})).await;
    assert_eq!(post(&olga, &cancel(&second), json!({})).await.status, 204);
    let accept = post(
        &ivan,
        &format!("/api/invitations/{}/accept", id(&second)),
        json!({}),
    )
    .await;
    assert_eq!(accept.status, 409, "{}", accept.body);
}

#[tokio::test]
async fn a_silent_decline_tells_nobody_and_a_decline_with_a_message_tells_the_inviter() {
    let (_app, server) = app_with(&["olga", "ivan", "kim"]).await;
    let (olga, ivan, kim) = (
        client(&server, "olga"),
        client(&server, "ivan"),
        client(&server, "kim"),
    );
    let room = group(&olga, "Party", false).await;

    let silent = invite(&olga, &room, "ivan", json!({})).await;
    let declined = super::call(
        &ivan,
        reqwest::Method::POST,
        &format!("/api/invitations/{}/decline", id(&silent)),
        None,
    )
    .await;
    assert_eq!(declined.status, 204, "{}", declined.body);

    let spoken = invite(&olga, &room, "kim", json!({})).await;
    let declined = post(
        &kim,
        &format!("/api/invitations/{}/decline", id(&spoken)),
        json!({ "message": "busy that day, sorry" }),
    )
    .await;
    assert_eq!(declined.status, 204, "{}", declined.body);

    let page = bell_with(&olga, "declined").await;
    assert_eq!(
        kinds(&page),
        ["declined"],
        "only kim's decline is told: {page}"
    );
    let told = &page["notifications"][0];
    assert_eq!(told["by"]["id"], "kim");
    assert_eq!(told["message"], "busy that day, sorry");
    assert_eq!(told["room"]["id"], room.as_str());
    assert!(pending(&ivan).await.is_empty() && pending(&kim).await.is_empty());
    assert_eq!(get(&kim, &format!("/api/rooms/{room}")).await.status, 404);
}
