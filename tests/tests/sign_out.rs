//! Signing out through the real binary closes the WebSockets the session
//! opened (issue 17, finding 5): `DELETE /api/session` with the bearer
//! token a WebSocket was opened with closes it with code 4401, nothing
//! posted afterwards reaches it, and a `send` on it is refused and never
//! stored.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use backchannel_tests::api::Api;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use futures_util::{SinkExt, StreamExt};
use protocol::{ClientFrame, ErrorCode, Event, RoomId, ServerFrame};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket with `api`'s token (the shared client hides close frames).
async fn socket(api: &Api) -> Ws {
    let url = format!("{}/api/ws", api.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", api.token).parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn send(ws: &mut Ws, frame: &ClientFrame) {
    ws.send(WsMessage::text(serde_json::to_string(frame).unwrap()))
        .await
        .unwrap();
}

/// Every JSON frame until the server closes, and the close code.
async fn until_closed(ws: &mut Ws) -> (Vec<ServerFrame>, Option<u16>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                frames.push(serde_json::from_str(text.as_str()).unwrap());
            }
            Ok(Some(Ok(WsMessage::Close(close)))) => {
                return (frames, close.map(|c| u16::from(c.code)))
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => return (frames, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_api_session_closes_the_websocket_it_opened() {
    let Some(binary) = skip::require("sign-out", server::binary()) else {
        return;
    };
    let server = TestServer::start("sign-out", &binary).expect("server starts");
    for user in ["alice", "bob"] {
        server.add_user(user, PASSWORD).expect("user add");
    }
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let bob = Api::sign_in(server.port(), "bob", PASSWORD).await.unwrap();
    let lobby = alice.lobby().await.unwrap();
    let room = RoomId::new(lobby.clone());

    let mut ws = socket(&alice).await;
    send(
        &mut ws,
        &ClientFrame::Subscribe {
            room: room.clone(),
            after: None,
        },
    )
    .await;
    let subscribed = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    assert!(
        matches!(&subscribed, Some(Ok(WsMessage::Text(t))) if t.as_str().contains("subscribed")),
        "{subscribed:?}"
    );

    let signed_out = alice
        .request(reqwest::Method::DELETE, "/api/session")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    bob.say(&lobby, "after alice signed out", "b-1")
        .await
        .unwrap();
    // Sent on the open socket after the sign-out.
    let _ = ws
        .send(WsMessage::text(
            serde_json::to_string(&ClientFrame::Send {
                room,
                body: "from a signed-out socket".into(),
                client_msg_id: "a-1".into(),
                reply_to: None,
            })
            .unwrap(),
        ))
        .await;

    let (frames, code) = until_closed(&mut ws).await;
    assert_eq!(code, Some(4401), "{frames:?}\n{}", server.log_tail(20));
    assert!(
        !frames.iter().any(|f| matches!(
            f,
            ServerFrame::Event {
                event: Event::Message { .. },
                ..
            }
        )),
        "nothing posted after the sign-out arrives: {frames:?}"
    );
    assert!(
        frames.iter().any(|f| matches!(
            f,
            ServerFrame::Error {
                code: ErrorCode::Unauthenticated,
                ..
            }
        )),
        "told why: {frames:?}"
    );
    let stored: Vec<String> = bob
        .history_after(&lobby, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        stored,
        ["after alice signed out"],
        "the send was not stored"
    );
}
