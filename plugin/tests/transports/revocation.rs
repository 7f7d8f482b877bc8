//! Ending a session closes what it opened: an SSE stream, a WebSocket (its
//! subscriptions and its posting) and a held long-poll stop at the next
//! check of the permission epoch, and nothing posted after the sign-out
//! reaches them (issue 17, finding 5).

use super::{client, team, QUIET, SOON};
use futures_util::{SinkExt, StreamExt};
use plugin::feed::RECHECK_EVERY;
use plugin::testing::TestServer;
use plugin::ws::SIGNED_OUT_CLOSE_CODE;
use protocol::{ClientFrame, ErrorCode, Event, ServerFrame};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The bodies of the `message` events among SSE `events`.
fn bodies(events: &[(String, Value)]) -> Vec<String> {
    events
        .iter()
        .filter(|(name, _)| name == "message")
        .map(|(_, data)| data["message"]["body"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_sse_stream_opened_with_a_token_ends_when_the_session_ends() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    alice.say(team.room(), "before", "c-1").await.unwrap();

    let bob = client(&server, "bob");
    let room = team.room().to_owned();
    let started = tokio::time::Instant::now();
    // Asks for more than will come: it returns when the stream ends.
    let reading = tokio::spawn(async move { bob.sse(&room, Some(0), 3, SOON).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    team.app.host.sign_out("bob");
    alice
        .say(team.room(), "after sign-out", "c-2")
        .await
        .unwrap();

    let events = reading.await.unwrap().unwrap();
    assert!(
        started.elapsed() < SOON,
        "the server ended the stream; the reader did not time out: {events:?}"
    );
    assert_eq!(bodies(&events), ["before"], "{events:?}");
    let (name, error) = events.last().unwrap();
    assert_eq!(name, "error", "{events:?}");
    assert_eq!(error["error"]["code"], "unauthenticated", "{events:?}");
}

#[tokio::test]
async fn an_idle_sse_stream_ends_when_the_session_ends() {
    let team = team().await;
    let server = team.serve().await;
    let bob = client(&server, "bob");
    let room = team.room().to_owned();
    let within = RECHECK_EVERY + SOON;
    let reading = tokio::spawn(async move { bob.sse(&room, None, 1, within).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signed_out = tokio::time::Instant::now();
    team.app.host.sign_out("bob");

    // Nothing is posted: the stream's own recheck notices.
    let events = reading.await.unwrap().unwrap();
    assert!(
        signed_out.elapsed() < within,
        "the idle stream was ended by the server: {events:?}"
    );
    let (name, error) = events.last().unwrap();
    assert_eq!(
        (name.as_str(), &error["error"]["code"]),
        ("error", &Value::from("unauthenticated")),
        "{events:?}"
    );
}

/// A raw WebSocket of `user`'s (the shared client hides close frames).
async fn raw_socket(
    server: &TestServer,
    user: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://{}/api/ws", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {user}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Every frame until the server closes the connection: the JSON frames and
/// the close code (`None` if the connection just dropped or `within` ran out).
async fn until_closed(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    within: Duration,
) -> (Vec<ServerFrame>, Option<u16>) {
    let deadline = tokio::time::Instant::now() + within;
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                frames.push(serde_json::from_str(text.as_str()).unwrap());
            }
            Ok(Some(Ok(WsMessage::Close(close)))) => {
                return (frames, close.map(|c| u16::from(c.code)));
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => return (frames, None),
        }
    }
}

fn text(frame: &ClientFrame) -> WsMessage {
    WsMessage::text(serde_json::to_string(frame).unwrap())
}

fn is_message(frame: &ServerFrame) -> bool {
    matches!(
        frame,
        ServerFrame::Event {
            event: Event::Message { .. },
            ..
        }
    )
}

#[tokio::test]
async fn a_websocket_is_closed_when_its_session_ends_and_gets_nothing_after() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    let mut bob = raw_socket(&server, "bob").await;
    bob.send(text(&ClientFrame::Subscribe {
        room: team.room.clone(),
        after: None,
    }))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    team.app.host.sign_out("bob");
    alice
        .say(team.room(), "after sign-out", "c-1")
        .await
        .unwrap();

    let (frames, code) = until_closed(&mut bob, SOON).await;
    assert_eq!(code, Some(SIGNED_OUT_CLOSE_CODE), "{frames:?}");
    assert!(
        !frames.iter().any(is_message),
        "nothing posted after the sign-out arrives: {frames:?}"
    );
}

#[tokio::test]
async fn posting_on_an_open_websocket_after_sign_out_is_refused() {
    let team = team().await;
    let server = team.serve().await;
    let mut bob = raw_socket(&server, "bob").await;
    let send = |id: &str| ClientFrame::Send {
        room: team.room.clone(),
        body: format!("from {id}"),
        client_msg_id: id.to_owned(),
        reply_to: None,
    };
    bob.send(text(&send("while-signed-in"))).await.unwrap();
    let ack = tokio::time::timeout(SOON, bob.next()).await.unwrap();
    assert!(
        matches!(&ack, Some(Ok(WsMessage::Text(t))) if t.as_str().contains("\"ack\"")),
        "posting works before the sign-out: {ack:?}"
    );

    team.app.host.sign_out("bob");
    bob.send(text(&send("after-sign-out"))).await.unwrap();

    let (frames, code) = until_closed(&mut bob, SOON).await;
    assert!(
        frames.iter().any(|f| matches!(
            f,
            ServerFrame::Error { code: ErrorCode::Unauthenticated, client_msg_id: Some(id), .. }
                if id == "after-sign-out"
        )),
        "the send is refused by name: {frames:?}"
    );
    assert_eq!(code, Some(SIGNED_OUT_CLOSE_CODE), "{frames:?}");
    let history = client(&server, "alice")
        .history_after(team.room(), 0)
        .await
        .unwrap();
    let stored: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(stored, ["from while-signed-in"], "nothing stored after");
}

#[tokio::test]
async fn an_idle_websocket_is_closed_when_its_session_ends() {
    let team = team().await;
    let server = team.serve().await;
    let mut bob = raw_socket(&server, "bob").await;
    // Not even subscribed: only the connection's own check can notice.
    bob.send(text(&ClientFrame::Ping)).await.unwrap();
    team.app.host.sign_out("bob");
    let (frames, code) = until_closed(&mut bob, RECHECK_EVERY + SOON).await;
    assert_eq!(code, Some(SIGNED_OUT_CLOSE_CODE), "{frames:?}");
}

#[tokio::test]
async fn a_held_poll_is_refused_when_the_session_ends_while_it_waits() {
    let team = team().await;
    let server = team.serve().await;
    let bob = client(&server, "bob");
    let path = format!("/api/rooms/{}/events?after=0&wait=20", team.room());
    let held = tokio::spawn(async move {
        bob.request(reqwest::Method::GET, &path)
            .send()
            .await
            .unwrap()
    });
    tokio::time::sleep(QUIET).await;
    team.app.host.sign_out("bob");
    client(&server, "alice")
        .say(team.room(), "after sign-out", "c-1")
        .await
        .unwrap();

    let answer = tokio::time::timeout(SOON, held).await.unwrap().unwrap();
    assert_eq!(answer.status(), 401);
    let body = answer.text().await.unwrap();
    assert!(!body.contains("after sign-out"), "{body}");
}
