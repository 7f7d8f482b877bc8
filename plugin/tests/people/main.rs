//! Rooms with people (issue 19) through the plugin's HTTP API, WebSocket
//! and SSE, on `plugin::testing`'s in-memory host and the real SQLite
//! store: direct chats found again from either side, invitations through
//! their whole life, rights enforced, notifications that wait, survive a
//! restart and stay bounded.
//!
//! One test binary with a module per part, so the crate links once.
#![allow(clippy::unwrap_used)]

mod commands;
mod direct;
mod invitations;
mod notifications;
mod rights;

use backchannel_tests::api::Api;
use plugin::testing::{TestApp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// Long enough for anything that should happen.
const SOON: Duration = Duration::from_secs(5);

/// An app whose wiki knows `people`, served on a loopback port.
async fn app_with(people: &[&str]) -> (TestApp, TestServer) {
    let app = TestApp::new().unwrap();
    for person in people {
        app.host.add_user(person);
    }
    let server = app.serve().await.unwrap();
    (app, server)
}

/// `user` talking to `server` with their bearer token.
fn client(server: &TestServer, user: &str) -> Api {
    Api::with_token(&server.base_url(), user).unwrap()
}

/// An answer: its status and its JSON body (`null` when empty).
pub struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// The error code of an error answer.
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Sends `method path` with an optional JSON body as `api`'s user.
async fn call(api: &Api, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut request = api.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer { status, body }
}

async fn get(api: &Api, path: &str) -> Answer {
    call(api, Method::GET, path, None).await
}

async fn post(api: &Api, path: &str, body: Value) -> Answer {
    call(api, Method::POST, path, Some(body)).await
}

/// A group room made by `owner`; its id.
async fn group(owner: &Api, name: &str, public: bool) -> String {
    let made = post(
        owner,
        "/api/rooms",
        json!({ "name": name, "is_public": public }),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

/// `who`'s pending invitations.
async fn pending(who: &Api) -> Vec<Value> {
    let answer = get(who, "/api/invitations").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body.as_array().unwrap().clone()
}

/// `who`'s notifications page.
async fn bell(who: &Api) -> Value {
    let answer = get(who, "/api/notifications").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

/// The kinds of a notifications page, newest first.
fn kinds(page: &Value) -> Vec<String> {
    page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The bodies of a room's newest messages as `who` reads them, oldest first.
async fn bodies(who: &Api, room: &str) -> Vec<String> {
    let answer = get(who, &format!("/api/rooms/{room}/messages?limit=100")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut bodies: Vec<String> = answer.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    bodies.reverse();
    bodies
}

/// `who`'s bell once it holds a notification of `kind` (they are made
/// right after the message commits, off the posting path); fails after
/// [`SOON`].
async fn bell_with(who: &Api, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let page = bell(who).await;
        if kinds(&page).iter().any(|k| k == kind) {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {kind} notification came: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
