//! The read paths that stay open: WebSocket subscriptions (messages, typing,
//! presence) and sends on an open socket, SSE, and a held long-poll. One
//! [`StreamRow`] per path and what it watches for.
//!
//! Each phase opens every row for every role *before* the phase's
//! revocation ([`open_all`]), then revokes, then the actor posts, types and
//! changes presence, and [`observe_all`] judges every stream at once: a
//! caller who may still read must get the event (within [`DELIVER_WITHIN`]);
//! one who may not must not get it and the stream must close (an `error`
//! frame or event, or the end of the stream) within [`QUIET`]. A held
//! long-poll that stays silent is fine: it delivered nothing.

use backchannel_tests::matrix::{judge, Answer, Expect, Failures, Need, Phase, Role, Twin};
use backchannel_tests::vault::{answer, read_answer, Credential, Target, Vault, CHAT_WORD};
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a caller who may read waits for an event.
const DELIVER_WITHIN: Duration = Duration::from_secs(10);
/// How long a revoked stream has to close (and must not deliver).
const QUIET: Duration = Duration::from_secs(3);
/// How long opening a stream may take.
const OPEN_WITHIN: Duration = Duration::from_secs(10);
/// A held long-poll that has not answered by then is waiting, so open.
const POLL_SETTLES: Duration = Duration::from_millis(700);

/// How the stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Ws,
    Sse,
    Poll,
}

/// What the row waits for after the revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The actor's message of this phase.
    Message,
    /// The actor's typing notice.
    Typing,
    /// The actor's presence change.
    Presence,
    /// Not an event: the caller sends a message on its open socket and
    /// waits for the `ack`.
    Send,
}

/// One streaming read path.
pub struct StreamRow {
    pub name: &'static str,
    pub need: Need,
    pub transport: Transport,
    pub watch: Watch,
}

const fn row(name: &'static str, need: Need, transport: Transport, watch: Watch) -> StreamRow {
    StreamRow {
        name,
        need,
        transport,
        watch,
    }
}

/// Every streaming read path.
pub const STREAMS: &[StreamRow] = &[
    row(
        "ws subscribe: messages",
        Need::View,
        Transport::Ws,
        Watch::Message,
    ),
    row(
        "ws subscribe: typing",
        Need::View,
        Transport::Ws,
        Watch::Typing,
    ),
    row(
        "ws subscribe: presence",
        Need::View,
        Transport::Ws,
        Watch::Presence,
    ),
    row(
        "ws send on an open socket",
        Need::Edit,
        Transport::Ws,
        Watch::Send,
    ),
    row("sse: messages", Need::View, Transport::Sse, Watch::Message),
    row("sse: typing", Need::View, Transport::Sse, Watch::Typing),
    row("sse: presence", Need::View, Transport::Sse, Watch::Presence),
    row(
        "long-poll held: messages",
        Need::View,
        Transport::Poll,
        Watch::Message,
    ),
];

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An open stream.
enum Live {
    Ws(Box<Socket>),
    Sse {
        response: reqwest::Response,
        buffer: String,
    },
    Poll(JoinHandle<anyhow::Result<Answer>>),
}

/// One row for one role, opened before the revocation.
pub struct Slot {
    row: &'static StreamRow,
    role: Role,
    credential: Option<Credential>,
    opened: Result<Live, Answer>,
}

/// The phase's marker: the actor's message of this phase holds it.
pub fn marker(phase: Phase) -> String {
    format!("live-{phase}")
}

/// The actor's message for `phase`.
pub fn message_for(phase: Phase) -> String {
    format!("{CHAT_WORD} {}", marker(phase))
}

/// Opens every row for every role, as the phase starts (all at once: a
/// held long-poll takes [`POLL_SETTLES`] to count as open).
pub async fn open_all(vault: &Vault, callers: &[(Role, Option<Credential>)]) -> Vec<Slot> {
    let after = vault
        .actor
        .last_seq(&vault.room)
        .await
        .expect("the room's last seq");
    let opening = STREAMS.iter().flat_map(|row| {
        callers.iter().map(move |(role, credential)| async move {
            let opened = match open(vault, row, credential.as_ref(), Target::Real, after).await {
                Ok(opened) => opened,
                Err(error) => Err(Answer {
                    body: format!("could not open: {error:#}"),
                    ..Answer::default()
                }),
            };
            Slot {
                row,
                role: *role,
                credential: credential.clone(),
                opened,
            }
        })
    });
    join_all(opening).await
}

/// Opens `row` on `target`'s room: the live stream, or the refusal.
async fn open(
    vault: &Vault,
    row: &StreamRow,
    credential: Option<&Credential>,
    target: Target,
    after: u64,
) -> anyhow::Result<Result<Live, Answer>> {
    let room = vault.expand("{room}", target);
    match row.transport {
        Transport::Ws => {
            let mut socket = match connect(vault, credential).await? {
                Ok(socket) => socket,
                Err(refused) => return Ok(Err(refused)),
            };
            if row.watch == Watch::Send {
                return Ok(Ok(Live::Ws(socket)));
            }
            let subscribe = json!({ "type": "subscribe", "room": room });
            socket.send(WsMessage::text(subscribe.to_string())).await?;
            let deadline = Instant::now() + OPEN_WITHIN;
            loop {
                match next_frame(&mut socket, deadline).await {
                    Frame::Json(frame) if frame["type"] == "subscribed" => {
                        return Ok(Ok(Live::Ws(socket)));
                    }
                    Frame::Json(frame) if frame["type"] == "error" => {
                        return Ok(Err(frame_answer(&frame)));
                    }
                    Frame::Json(_) => {}
                    Frame::Ended(why) => return Ok(Err(why)),
                    Frame::Silent => anyhow::bail!("no answer to subscribe in {OPEN_WITHIN:?}"),
                }
            }
        }
        Transport::Sse => {
            let mut request = vault
                .client()
                .get(vault.server.url(&format!("/api/rooms/{room}/stream")));
            if let Some(credential) = credential {
                request = credential.apply(request);
            }
            let response = request.send().await?;
            if response.status() != 200 {
                return Ok(Err(read_answer(response).await?));
            }
            Ok(Ok(Live::Sse {
                response,
                buffer: String::new(),
            }))
        }
        Transport::Poll => {
            let path = format!("/api/rooms/{room}/events?after={after}&wait=25");
            let mut request = vault.client().get(vault.server.url(&path));
            if let Some(credential) = credential {
                request = credential.apply(request);
            }
            let mut poll = tokio::spawn(answer(request));
            match tokio::time::timeout(POLL_SETTLES, &mut poll).await {
                Ok(done) => {
                    let answered = done??;
                    if answered.ok() {
                        // Answered before anything happened: open, and done.
                        Ok(Ok(Live::Poll(tokio::spawn(async { Ok(answered) }))))
                    } else {
                        Ok(Err(answered))
                    }
                }
                Err(_) => Ok(Ok(Live::Poll(poll))),
            }
        }
    }
}

/// A WebSocket to `/api/ws`, with the credential if any.
async fn connect(
    vault: &Vault,
    credential: Option<&Credential>,
) -> anyhow::Result<Result<Box<Socket>, Answer>> {
    let mut request = vault.ws_url().into_client_request()?;
    if let Some(credential) = credential {
        let (name, value) = credential.header();
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value)?);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(Ok(Box::new(socket))),
        Err(WsError::Http(response)) => Ok(Err(Answer {
            status: response.status().as_u16(),
            body: String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned(),
            cors: response
                .headers()
                .keys()
                .filter(|name| name.as_str().starts_with("access-control-"))
                .map(|name| name.to_string())
                .collect(),
            ..Answer::default()
        })),
        Err(error) => Err(error.into()),
    }
}

/// A server frame as the judge sees it: its JSON without volatile parts.
fn frame_answer(frame: &Value) -> Answer {
    Answer {
        body: frame.to_string(),
        ..Answer::default()
    }
}

enum Frame {
    Json(Value),
    /// The socket closed or failed.
    Ended(Answer),
    /// Nothing before the deadline.
    Silent,
}

async fn next_frame(socket: &mut Socket, deadline: Instant) -> Frame {
    loop {
        match timeout_at(deadline, socket.next()).await {
            Err(_) => return Frame::Silent,
            Ok(None) => return Frame::Ended(ended("the socket closed")),
            Ok(Some(Err(error))) => return Frame::Ended(ended(&format!("socket error: {error}"))),
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                return Frame::Json(serde_json::from_str(text.as_str()).unwrap_or(Value::Null));
            }
            Ok(Some(Ok(WsMessage::Close(_)))) => {
                return Frame::Ended(ended("the server closed the socket"));
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

fn ended(why: &str) -> Answer {
    Answer {
        body: why.to_owned(),
        ..Answer::default()
    }
}

/// Whether an event (the JSON of a WebSocket `event` or an SSE data line) is
/// what `watch` waits for in `phase`.
fn wanted(event: &Value, watch: Watch, phase: Phase) -> bool {
    match watch {
        Watch::Message => {
            event["type"] == "message"
                && event["message"]["body"]
                    .as_str()
                    .is_some_and(|body| body.contains(&marker(phase)))
        }
        Watch::Typing => event["type"] == "typing" && event["user"] == "actor",
        Watch::Presence => event["type"] == "presence" && event["user"] == "actor",
        Watch::Send => false,
    }
}

/// What a stream showed after the revocation.
enum Seen {
    Delivered(String),
    Closed(String),
    Silent,
}

/// Waits on one open stream for `watch` until `deadline`.
async fn watch_stream(live: &mut Live, watch: Watch, phase: Phase, deadline: Instant) -> Seen {
    match live {
        Live::Ws(socket) => loop {
            match next_frame(socket, deadline).await {
                Frame::Json(frame) if frame["type"] == "event" => {
                    if wanted(&frame["event"], watch, phase) {
                        return Seen::Delivered(frame.to_string());
                    }
                }
                Frame::Json(frame) if frame["type"] == "error" => {
                    return Seen::Closed(frame.to_string());
                }
                Frame::Json(_) => {}
                Frame::Ended(why) => return Seen::Closed(why.body),
                Frame::Silent => return Seen::Silent,
            }
        },
        Live::Sse { response, buffer } => loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut name = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = if value.trim() == "error" {
                            "error"
                        } else {
                            "other"
                        };
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if name == "error" {
                    return Seen::Closed(data);
                }
                let event: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                if wanted(&event, watch, phase) {
                    return Seen::Delivered(data);
                }
            }
            match timeout_at(deadline, response.chunk()).await {
                Err(_) => return Seen::Silent,
                Ok(Ok(Some(chunk))) => buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => return Seen::Closed("the stream ended".into()),
                Ok(Err(error)) => return Seen::Closed(format!("the stream failed: {error}")),
            }
        },
        Live::Poll(handle) => match timeout_at(deadline, handle).await {
            Err(_) => Seen::Silent,
            Ok(Err(error)) => Seen::Closed(format!("the poll task failed: {error}")),
            Ok(Ok(Err(error))) => Seen::Closed(format!("the poll failed: {error:#}")),
            Ok(Ok(Ok(answered))) => {
                let events: Value = serde_json::from_str(&answered.body).unwrap_or(Value::Null);
                let delivered = events["events"]
                    .as_array()
                    .is_some_and(|events| events.iter().any(|e| wanted(e, watch, phase)));
                if delivered {
                    Seen::Delivered(answered.brief())
                } else {
                    Seen::Closed(answered.brief())
                }
            }
        },
    }
}

/// Sends a message on an open socket to `target`'s room; the answer frame
/// (an `ack` or an `error` for this send).
async fn send_on(socket: &mut Socket, vault: &Vault, target: Target, id: &str) -> Answer {
    let frame = json!({
        "type": "send",
        "room": vault.expand("{room}", target),
        "body": format!("{CHAT_WORD} sent {id}"),
        "client_msg_id": id,
    });
    if let Err(error) = socket.send(WsMessage::text(frame.to_string())).await {
        return ended(&format!("could not send: {error}"));
    }
    let deadline = Instant::now() + DELIVER_WITHIN;
    loop {
        match next_frame(socket, deadline).await {
            Frame::Json(frame) if frame["client_msg_id"] == id => {
                let mut frame = frame;
                // The ack names the new message: volatile, not a difference.
                if let Some(object) = frame.as_object_mut() {
                    object.remove("id");
                    object.remove("seq");
                }
                return frame_answer(&frame);
            }
            Frame::Json(_) => {}
            Frame::Ended(why) => return why,
            Frame::Silent => return ended("no answer to the send"),
        }
    }
}

/// Judges every slot once the phase's revocation and events happened.
pub async fn observe_all(vault: &Vault, slots: Vec<Slot>, phase: Phase, failures: &mut Failures) {
    let verdicts =
        join_all(slots.into_iter().map(|slot| async move {
            (slot.row.name, slot.role, observe(vault, slot, phase).await)
        }))
        .await;
    for (name, role, verdict) in verdicts {
        failures.record(name, role, phase, vault.backend, verdict);
    }
}

async fn observe(vault: &Vault, slot: Slot, phase: Phase) -> Result<(), String> {
    let Slot {
        row,
        role,
        credential,
        opened,
    } = slot;
    let expect = Expect::of(row.need, role, phase);
    // The rules are as set up while the phase opens its streams.
    let could_open =
        row.watch == Watch::Send || Expect::of(Need::View, role, Phase::Before) == Expect::Allowed;
    let mut live = match opened {
        Ok(live) => live,
        Err(refused) if could_open => {
            return Err(format!(
                "refused before the revocation: {}",
                refused.brief()
            ));
        }
        Err(refused) => {
            return judge_refused_open(vault, row, credential.as_ref(), expect, &refused).await
        }
    };
    if let (Watch::Send, Live::Ws(socket)) = (row.watch, &mut live) {
        let id = format!("send-{role}-{phase}");
        let real = send_on(socket, vault, Target::Real, &id).await;
        let granted = real.body.contains("\"ack\"");
        if !granted && !real.body.starts_with('{') {
            // The server closed the socket (say, because the session
            // ended): refused, and nothing to compare.
            return match expect {
                Expect::Allowed => Err(format!("the socket ended: {}", real.body)),
                _ => Ok(()),
            };
        }
        if !granted && real.body.contains("\"code\":\"unauthenticated\"") {
            // The session is gone: the server says so and closes the
            // socket. That speaks of the session, not of the room, so
            // there is no missing twin to compare (the socket is closed).
            return match expect {
                Expect::Allowed => Err(format!("refused, want allowed: {}", real.body)),
                _ => Ok(()),
            };
        }
        let missing = if expect == Expect::Hidden && !granted {
            Some(send_on(socket, vault, Target::Missing, &id).await)
        } else {
            None
        };
        let (real_names, missing_names) = (vault.names(Target::Real), vault.names(Target::Missing));
        let compare = missing.as_ref().map(|answer| Twin {
            answer,
            real_names: &real_names,
            missing_names: &missing_names,
        });
        return judge(expect, &real, granted, compare);
    }
    let allowed = expect == Expect::Allowed;
    let deadline = Instant::now() + if allowed { DELIVER_WITHIN } else { QUIET };
    let seen = watch_stream(&mut live, row.watch, phase, deadline).await;
    match (allowed, seen) {
        (true, Seen::Delivered(_)) => Ok(()),
        (true, Seen::Closed(why)) => Err(format!("closed, want delivered: {why}")),
        (true, Seen::Silent) => Err(format!("not delivered within {DELIVER_WITHIN:?}")),
        (false, Seen::Delivered(what)) => Err(format!(
            "DELIVERED after revocation: {}",
            what.chars().take(90).collect::<String>()
        )),
        (false, Seen::Closed(_)) => Ok(()),
        (false, Seen::Silent) if row.transport == Transport::Poll => Ok(()),
        (false, Seen::Silent) => Err(format!(
            "not delivered, but the stream stayed open {QUIET:?} after revocation"
        )),
    }
}

/// A stream the role could never open: its refusal must look like the one
/// for a room that does not exist.
async fn judge_refused_open(
    vault: &Vault,
    row: &StreamRow,
    credential: Option<&Credential>,
    expect: Expect,
    refused: &Answer,
) -> Result<(), String> {
    if row.watch == Watch::Send {
        // Connecting names no room: refusing an anonymous socket leaks nothing.
        return judge(expect, refused, false, None);
    }
    let missing = match open(vault, row, credential, Target::Missing, 0).await {
        Ok(Err(missing)) => missing,
        Ok(Ok(_)) => ended("a stream for a missing room opened"),
        Err(error) => ended(&format!("could not open for a missing room: {error:#}")),
    };
    let (real_names, missing_names) = (vault.names(Target::Real), vault.names(Target::Missing));
    judge(
        expect,
        refused,
        false,
        Some(Twin {
            answer: &missing,
            real_names: &real_names,
            missing_names: &missing_names,
        }),
    )
}
