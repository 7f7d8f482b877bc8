//! A script's view of a running server: the JSON API, the WebSocket, SSE and
//! long-poll, through real clients (reqwest, tokio-tungstenite), signed in
//! with a bearer token from `POST /api/session`.

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientFrame, Message, RoomId, ServerFrame};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A signed-in API user.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    /// Signs `username` in on the server at `port`.
    pub async fn sign_in(port: u16, username: &str, password: &str) -> Result<Self> {
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let answer: Value = http
            .post(format!("{base}/api/session"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await?
            .error_for_status()
            .context("POST /api/session")?
            .json()
            .await?;
        let token = answer["token"]
            .as_str()
            .ok_or_else(|| anyhow!("POST /api/session gave no token: {answer}"))?
            .to_owned();
        Ok(Self { base, token, http })
    }

    /// A user whose bearer token was issued some other way (the plugin's
    /// test host takes the user's name as the token), at `base`.
    pub fn with_token(base: &str, token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            base: base.to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    /// The same signed-in user talking to another node (a client the load
    /// balancer sends elsewhere after its node died).
    pub fn on_port(&self, port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            ..self.clone()
        }
    }

    /// A request with the bearer token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let response = self.request(reqwest::Method::GET, path).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }

    /// The room the Welcome page's `{chat:Lobby}` macro shows.
    pub async fn lobby(&self) -> Result<String> {
        let home = self
            .request(reqwest::Method::GET, "/")
            .send()
            .await?
            .text()
            .await?;
        room_link(&home).ok_or_else(|| anyhow!("no /rooms/ link on the Welcome page"))
    }

    /// Another room on the same page as `room` (created through the macro).
    pub async fn room_beside(&self, room: &str, name: &str) -> Result<String> {
        let info = self.get_json(&format!("/api/rooms/{room}")).await?;
        let page = info["page"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("room info has no page id: {info}"))?;
        let table = self
            .request(reqwest::Method::GET, "/macro/chat")
            .query(&[("page", page), ("room", name)])
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        room_link(&table).ok_or_else(|| anyhow!("the macro table for {name} has no room link"))
    }

    /// Posts `body` with `client_msg_id`; the raw response.
    pub async fn post(
        &self,
        room: &str,
        body: &str,
        client_msg_id: &str,
    ) -> Result<reqwest::Response> {
        Ok(self
            .request(
                reqwest::Method::POST,
                &format!("/api/rooms/{room}/messages"),
            )
            .json(&json!({ "body": body, "client_msg_id": client_msg_id }))
            .send()
            .await?)
    }

    /// Posts and expects 201; the stored message.
    pub async fn say(&self, room: &str, body: &str, client_msg_id: &str) -> Result<Message> {
        let response = self.post(room, body, client_msg_id).await?;
        let status = response.status();
        if status != reqwest::StatusCode::CREATED {
            bail!("posting {body:?}: {status} {}", response.text().await?);
        }
        Ok(response.json().await?)
    }

    /// Posts `count` messages, bodies `{tag} 0`, `{tag} 1`, ..., each with
    /// its own client_msg_id; the stored messages, in order.
    pub async fn say_many(&self, room: &str, count: usize, tag: &str) -> Result<Vec<Message>> {
        let mut posted = Vec::with_capacity(count);
        for i in 0..count {
            posted.push(
                self.say(room, &format!("{tag} {i}"), &format!("{tag}-{i}"))
                    .await?,
            );
        }
        Ok(posted)
    }

    /// The room's newest seq.
    pub async fn last_seq(&self, room: &str) -> Result<u64> {
        let info = self.get_json(&format!("/api/rooms/{room}")).await?;
        info["last_seq"]
            .as_u64()
            .ok_or_else(|| anyhow!("room info without last_seq: {info}"))
    }

    /// Every message after `after`, paging through the history API.
    pub async fn history_after(&self, room: &str, mut after: u64) -> Result<Vec<Message>> {
        let mut all = Vec::new();
        loop {
            let page = self
                .get_json(&format!(
                    "/api/rooms/{room}/messages?after={after}&limit=200"
                ))
                .await?;
            let messages: Vec<Message> = serde_json::from_value(page["messages"].clone())?;
            let Some(last) = messages.last() else {
                return Ok(all);
            };
            after = last.seq;
            all.extend(messages);
        }
    }

    /// A WebSocket to `/api/ws` with the token.
    pub async fn websocket(&self) -> Result<Socket> {
        let url = format!("{}/api/ws", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", self.token))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Socket { ws })
    }

    /// Reads an SSE stream from `after` until `count` message events came or
    /// `within` passed; returns the event names and data, in order.
    pub async fn sse(
        &self,
        room: &str,
        last_event_id: Option<u64>,
        count: usize,
        within: Duration,
    ) -> Result<Vec<(String, Value)>> {
        let mut request = self.request(reqwest::Method::GET, &format!("/api/rooms/{room}/stream"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let mut response = request.send().await?;
        if !response.status().is_success() {
            bail!("SSE: {} {}", response.status(), response.text().await?);
        }
        let mut events = Vec::new();
        let mut buffer = String::new();
        let deadline = tokio::time::Instant::now() + within;
        while events.iter().filter(|(name, _)| name == "message").count() < count {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(chunk) => chunk?,
                Err(_) => break,
            };
            let Some(chunk) = chunk else { break };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    events.push((name, serde_json::from_str(&data)?));
                }
            }
        }
        Ok(events)
    }
}

/// An open WebSocket.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<()> {
        self.ws
            .send(WsMessage::text(serde_json::to_string(frame)?))
            .await?;
        Ok(())
    }

    /// Sends a text frame as is (for malformed-input tests).
    pub async fn send_raw(&mut self, text: &str) -> Result<()> {
        self.ws.send(WsMessage::text(text)).await?;
        Ok(())
    }

    pub async fn subscribe(&mut self, room: &str, after: Option<u64>) -> Result<()> {
        self.send(&ClientFrame::Subscribe {
            room: RoomId::new(room),
            after,
        })
        .await
    }

    /// The next server frame, or `None` if none came within `within`.
    pub async fn next(&mut self, within: Duration) -> Result<Option<ServerFrame>> {
        loop {
            let frame = match tokio::time::timeout(within, self.ws.next()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Ok(None),
                Ok(Some(frame)) => frame?,
            };
            if let WsMessage::Text(text) = frame {
                return Ok(Some(serde_json::from_str(text.as_str())?));
            }
        }
    }

    /// Message events until `count` arrived (or `within` passed with no frame).
    pub async fn messages(&mut self, count: usize, within: Duration) -> Result<Vec<Message>> {
        let mut messages = Vec::new();
        while messages.len() < count {
            match self.next(within).await? {
                Some(ServerFrame::Event {
                    event: protocol::Event::Message { message },
                    ..
                }) => messages.push(message),
                Some(_) => {}
                None => break,
            }
        }
        Ok(messages)
    }
}

/// The first `/rooms/ID` link in an HTML page.
pub fn room_link(html: &str) -> Option<String> {
    let start = html.find("/rooms/")? + "/rooms/".len();
    let id: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!id.is_empty()).then_some(id)
}
