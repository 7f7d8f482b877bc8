//! Hostile use against the real router on a loopback socket: every chat
//! write path meets its rate limit, uploads meet their quotas, deleted and
//! pruned files lose their bytes, anonymous macro views write nothing, the
//! no-JavaScript form refuses before reading, and extreme numbers in query
//! strings are answered, not panicked on (these tests build with overflow
//! checks).
//!
//! One test binary with a module per concern, so the crate links once.
#![allow(clippy::unwrap_used)]

mod blobs;
mod macros;
mod numbers;
mod popup;
mod quotas;
mod rates;

use plugin::testing::{TestApp, TestServer};
use plugin::{Access, Config};
use protocol::{PageId, RoomId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Long enough for anything that should happen; a request waiting this
/// long has failed.
const SOON: Duration = Duration::from_secs(5);
const BOUNDARY: &str = "limits-test-boundary";

/// One page, `Team`, with a room `Lobby`: alice and bob may post, rita may
/// only read, mallory may not see the page; the app tuned by `tune`, served on loopback.
struct Team {
    app: TestApp,
    page: PageId,
    room: RoomId,
    server: TestServer,
    http: reqwest::Client,
}

async fn team(tune: impl FnOnce(&mut Config)) -> Team {
    let app = TestApp::with_config(tune).unwrap();
    let page = app.host.add_page("Team");
    app.host.grant("alice", &page, Access::Write);
    app.host.grant("bob", &page, Access::Write);
    app.host.grant("rita", &page, Access::Read);
    app.host.add_user("mallory");
    let room = app.room(&page, "Lobby").await.unwrap();
    let server = app.serve().await.unwrap();
    let http = reqwest::Client::builder().timeout(SOON).build().unwrap();
    Team {
        app,
        page,
        room,
        server,
        http,
    }
}

/// An answer: status, `Retry-After`, and the body as JSON (`Null` if not)
/// and as text.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    json: Value,
    text: String,
}

impl Reply {
    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Team {
    fn room(&self) -> &str {
        self.room.as_str()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// A request as `user` (`None`: anonymous), with a JSON body if given.
    async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(user);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    async fn get(&self, path: &str, user: Option<&str>) -> Reply {
        self.call(Method::GET, path, user, None).await
    }

    /// Posts `body` as `user`; the reply.
    async fn post(&self, user: &str, body: &str) -> Reply {
        let path = format!("/api/rooms/{}/messages", self.room());
        let draft = json!({"body": body, "client_msg_id": uuid::Uuid::new_v4().to_string()});
        self.call(Method::POST, &path, Some(user), Some(draft))
            .await
    }

    /// Posts `body` as `user`, who may; the message's seq.
    async fn say(&self, user: &str, body: &str) -> u64 {
        let reply = self.post(user, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json["seq"].as_u64().unwrap()
    }

    /// Uploads `bytes` as `name` for `user`; the reply.
    async fn upload(&self, user: &str, name: &str, bytes: &[u8]) -> Reply {
        let response = self
            .http
            .post(self.url(&format!("/api/rooms/{}/files", self.room())))
            .bearer_auth(user)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(name, bytes))
            .send()
            .await
            .unwrap();
        reply(response).await
    }

    /// Deletes message `seq` as `user`; the reply.
    async fn delete(&self, user: &str, seq: u64) -> Reply {
        let path = format!("/api/rooms/{}/messages/{seq}", self.room());
        self.call(Method::DELETE, &path, Some(user), None).await
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    Reply {
        status,
        retry_after,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// A multipart body with one `file` field.
fn multipart(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Asserts `reply` is a 429 `rate_limited` with a sane `Retry-After`.
fn assert_rate_limited(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.code(), "rate_limited", "{what}: {}", reply.text);
    let wait: u64 = reply
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .parse()
        .unwrap();
    assert!((1..=120).contains(&wait), "{what}: Retry-After {wait}");
}
