//! The JSON API through `oneshot`: no socket, the router as the wiki mounts it.

use super::team;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Sends one request as `user` (`None`: not signed in); the status and the
/// JSON answer (`Null` when there is none).
async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    user: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(user) = user {
        request = request.header(header::AUTHORIZATION, format!("Bearer {user}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let response = tokio::time::timeout(super::SOON, router.clone().oneshot(request))
        .await
        .expect("the API answers")
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn post(router: &Router, room: &str, user: Option<&str>, body: &str) -> (StatusCode, Value) {
    let uri = format!("/api/rooms/{room}/messages");
    call(router, Method::POST, &uri, user, Some(body)).await
}

/// Posts `body` as `user`, who may post; the stored message.
async fn say(router: &Router, room: &str, user: &str, body: &str) -> Value {
    let draft = json!({"body": body, "client_msg_id": body}).to_string();
    let (status, message) = post(router, room, Some(user), &draft).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

async fn history(router: &Router, room: &str, user: &str) -> (StatusCode, Value) {
    let uri = format!("/api/rooms/{room}/messages");
    call(router, Method::GET, &uri, Some(user), None).await
}

fn bodies(history: &Value) -> Vec<&str> {
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect()
}

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "an error says what went wrong: {}",
        answer.1
    );
}

#[tokio::test]
async fn a_post_is_stored_rendered_and_read_back_by_readers() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();

    let (status, posted) = post(
        &router,
        room,
        Some("alice"),
        r#"{"body": "hello **team**", "client_msg_id": "c-1"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    assert_eq!(posted["seq"], 1);
    assert_eq!(posted["author"], "alice");
    assert!(
        posted["html"]
            .as_str()
            .unwrap()
            .contains("<strong>team</strong>"),
        "{posted}"
    );

    // A reader who may not post still reads it, with the same id.
    let (status, read) = history(&router, room, "rita").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(bodies(&read), ["hello **team**"]);
    assert_eq!(read["messages"][0]["id"], posted["id"]);
    assert_eq!(read["last_seq"], 1);
}

#[tokio::test]
async fn a_room_the_caller_may_not_read_answers_like_an_unknown_room() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();
    say(&router, room, "alice", "private").await;

    let unknown = call(
        &router,
        Method::GET,
        "/api/rooms/nosuchroom",
        Some("mallory"),
        None,
    )
    .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
    for uri in [
        format!("/api/rooms/{room}"),
        format!("/api/rooms/{room}/messages"),
        format!("/api/rooms/{room}/messages/1"),
    ] {
        for user in [Some("mallory"), None] {
            let hidden = call(&router, Method::GET, &uri, user, None).await;
            assert_eq!(
                hidden, unknown,
                "{uri} as {user:?} must not reveal the room"
            );
        }
    }
}

#[tokio::test]
async fn posting_needs_a_signed_in_caller_with_edit_rights() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();
    let draft = r#"{"body": "let me in", "client_msg_id": "c-1"}"#;

    assert_error(
        &post(&router, room, None, draft).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &post(&router, room, Some("rita"), draft).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &post(&router, room, Some("mallory"), draft).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (_, read) = history(&router, room, "alice").await;
    assert!(
        bodies(&read).is_empty(),
        "a refused post stores nothing: {read}"
    );
}

#[tokio::test]
async fn a_malformed_body_gets_the_json_error_shape() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();

    let truncated = post(
        &router,
        room,
        Some("alice"),
        r#"{"body": "hi", "client_msg_id""#,
    )
    .await;
    assert_error(&truncated, StatusCode::BAD_REQUEST, "bad_request");
    let unknown_field = post(
        &router,
        room,
        Some("alice"),
        r#"{"body": "hi", "client_msg_id": "c-1", "sticky": true}"#,
    )
    .await;
    assert_error(&unknown_field, StatusCode::BAD_REQUEST, "bad_request");
    let empty = post(
        &router,
        room,
        Some("alice"),
        r#"{"body": "  ", "client_msg_id": "c-2"}"#,
    )
    .await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "invalid_input");

    let (_, read) = history(&router, room, "alice").await;
    assert!(bodies(&read).is_empty(), "nothing was stored: {read}");
}

#[tokio::test]
async fn a_retry_with_the_same_client_msg_id_returns_the_first_message() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();
    let draft = json!({"body": "only once", "client_msg_id": "retry-me"}).to_string();

    let (first_status, first) = post(&router, room, Some("alice"), &draft).await;
    let (again_status, again) = post(&router, room, Some("alice"), &draft).await;
    assert_eq!(
        (first_status, again_status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!((&again["id"], &again["seq"]), (&first["id"], &first["seq"]));

    // The key is per author: bob's message with the same key is his own.
    let (_, bobs) = post(&router, room, Some("bob"), &draft).await;
    assert_eq!(bobs["seq"], 2, "{bobs}");

    let (_, read) = history(&router, room, "alice").await;
    assert_eq!(
        bodies(&read),
        ["only once", "only once"],
        "one each: {read}"
    );
}

#[tokio::test]
async fn revoking_read_access_hides_the_history_on_the_next_request() {
    let team = team().await;
    let router = team.app.router();
    let room = team.room();
    say(&router, room, "alice", "before").await;
    assert_eq!(history(&router, room, "rita").await.0, StatusCode::OK);

    team.app.host.revoke("rita", &team.page);
    let hidden = history(&router, room, "rita").await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "not_found");
}
