//! The delivery contract, against the real binary on a free port: idempotent
//! sends, resume on every transport, explicit resets, one order under
//! concurrent writers, durability across SIGKILL, the no-JavaScript path, and
//! clear errors for bad input.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use backchannel_tests::api::{Api, Socket};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use protocol::{ClientFrame, Message, RoomId, ServerFrame};
use std::collections::HashSet;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(10);

/// A server with users alice and bob signed in, and the Lobby's id.
async fn start(name: &str) -> Option<(TestServer, Api, Api, String)> {
    let binary = skip::require(name, server::binary())?;
    // The per-user post limit is lifted here (these tests post hundreds of
    // messages); `bad_input_gets_clear_errors` checks the limit itself.
    let limit = if name == "bad-input" {
        "30/10"
    } else {
        "100000/1"
    };
    let server = TestServer::start_with_env(name, &binary, &[("BACKCHANNEL_POST_LIMIT", limit)])
        .expect("server starts");
    for user in ["alice", "bob"] {
        server.add_user(user, PASSWORD).expect("user add");
    }
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .expect("alice signs in");
    let bob = Api::sign_in(server.port(), "bob", PASSWORD)
        .await
        .expect("bob signs in");
    let lobby = alice
        .lobby()
        .await
        .expect("the Welcome page shows the Lobby");
    Some((server, alice, bob, lobby))
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_client_msg_id_stores_one_message_per_room() {
    let Some((_server, alice, _bob, lobby)) = start("idempotency").await else {
        return;
    };
    let first = alice.say(&lobby, "once", "key-1").await.unwrap();
    let again = alice.post(&lobby, "once", "key-1").await.unwrap();
    assert!(
        again.status().is_success(),
        "a retry succeeds: {}",
        again.status()
    );
    let again: Message = again.json().await.unwrap();
    assert_eq!((again.id.clone(), again.seq), (first.id.clone(), first.seq));
    let stored = alice.history_after(&lobby, 0).await.unwrap();
    assert_eq!(stored.len(), 1, "one row for two sends");

    let other = alice.room_beside(&lobby, "Other").await.unwrap();
    let elsewhere = alice.say(&other, "once", "key-1").await.unwrap();
    assert_ne!(
        elsewhere.id, first.id,
        "the same key in another room is a new message"
    );
}

/// Posts `count` numbered messages as `api`; returns them.
async fn post_many(api: &Api, room: &str, count: usize, tag: &str) -> Vec<Message> {
    api.say_many(room, count, tag).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transport_resumes_with_exactly_what_was_missed() {
    let Some((_server, alice, bob, lobby)) = start("resume").await else {
        return;
    };
    alice.say(&lobby, "before", "before").await.unwrap();

    // WebSocket: follow, note the last seq, go away, miss 50, come back.
    let mut socket = bob.websocket().await.unwrap();
    socket.subscribe(&lobby, Some(0)).await.unwrap();
    let seen = socket.messages(1, WAIT).await.unwrap();
    let last = seen.last().unwrap().seq;
    drop(socket);
    let missed = post_many(&alice, &lobby, 50, "ws").await;
    let mut socket = bob.websocket().await.unwrap();
    socket.subscribe(&lobby, Some(last)).await.unwrap();
    let got = socket.messages(50, WAIT).await.unwrap();
    assert_eq!(
        seqs(&got),
        seqs(&missed),
        "WebSocket resume: exactly the 50, in order"
    );
    assert!(
        socket
            .messages(1, Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty(),
        "and nothing more"
    );

    // SSE: Last-Event-ID.
    let last = missed.last().unwrap().seq;
    let missed = post_many(&alice, &lobby, 50, "sse").await;
    let events = bob.sse(&lobby, Some(last), 50, WAIT).await.unwrap();
    let got: Vec<u64> = events
        .iter()
        .filter(|(name, _)| name == "message")
        .map(|(_, data)| data["message"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(got, seqs(&missed), "SSE resume: exactly the 50, in order");

    // Long-poll: after=SEQ.
    let last = missed.last().unwrap().seq;
    let missed = post_many(&alice, &lobby, 50, "poll").await;
    let mut got = Vec::new();
    let mut after = last;
    while got.len() < 50 {
        let page = bob
            .get_json(&format!("/api/rooms/{lobby}/events?after={after}&wait=5"))
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        assert!(
            !events.is_empty(),
            "long-poll ran dry after {} of 50",
            got.len()
        );
        for event in events {
            got.push(event["message"]["seq"].as_u64().unwrap());
        }
        after = page["last_seq"].as_u64().unwrap();
    }
    assert_eq!(
        got,
        seqs(&missed),
        "long-poll resume: exactly the 50, in order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_is_held_until_a_message_arrives() {
    let Some((_server, alice, bob, lobby)) = start("long-poll-hold").await else {
        return;
    };
    let last = bob.last_seq(&lobby).await.unwrap();
    let poller = {
        let bob = bob.clone();
        let lobby = lobby.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let page = bob
                .get_json(&format!("/api/rooms/{lobby}/events?after={last}&wait=20"))
                .await
                .unwrap();
            (started.elapsed(), page)
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    alice.say(&lobby, "wake up", "wake").await.unwrap();
    let (took, page) = poller.await.unwrap();
    assert_eq!(page["events"][0]["message"]["body"], "wake up");
    assert_eq!(
        page["events"][0]["message"]["html"], "<p>wake up</p>\n",
        "a message that arrives while the poll waits comes rendered: {page}"
    );
    assert_eq!(page["last_seq"], last + 1);
    assert!(page.get("reset").is_none(), "no reset: {page}");
    assert!(
        took >= Duration::from_millis(500),
        "the poll was held ({took:?})"
    );
    assert!(
        took < Duration::from_secs(10),
        "and answered when the message came ({took:?})"
    );

    let bad = bob
        .request(
            reqwest::Method::GET,
            &format!("/api/rooms/{lobby}/events?after=0&wait=3600"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "wait is capped");
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_writers_give_every_reader_one_gapless_order() {
    let Some((_server, alice, bob, lobby)) = start("concurrent").await else {
        return;
    };
    let start_seq = alice.last_seq(&lobby).await.unwrap();
    let mut readers: Vec<Socket> = Vec::new();
    for api in [&alice, &bob] {
        let mut socket = api.websocket().await.unwrap();
        socket.subscribe(&lobby, Some(start_seq)).await.unwrap();
        readers.push(socket);
    }
    let per_writer = 10;
    let mut writers = Vec::new();
    for writer in 0..20 {
        let api = if writer % 2 == 0 {
            alice.clone()
        } else {
            bob.clone()
        };
        let lobby = lobby.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..per_writer {
                api.say(&lobby, &format!("w{writer} {i}"), &format!("w{writer}-{i}"))
                    .await
                    .unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let total = 20 * per_writer;
    let expected: Vec<u64> = (start_seq + 1..=start_seq + total as u64).collect();
    let mut orders = Vec::new();
    for reader in &mut readers {
        let got = reader.messages(total, WAIT).await.unwrap();
        assert_eq!(seqs(&got), expected, "gapless, in seq order");
        orders.push(got.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
    }
    assert_eq!(orders[0], orders[1], "both readers saw the same order");
}

/// A client that sends without waiting for acks (a bridge, a bot, a fast
/// typist on a slow disk) is not held to one commit per message, and its
/// messages keep the order it sent them in.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_on_one_socket_is_acked_and_stored_in_send_order() {
    let Some((_server, alice, _bob, lobby)) = start("burst").await else {
        return;
    };
    let start_seq = alice.last_seq(&lobby).await.unwrap();
    let mut socket = alice.websocket().await.unwrap();
    let burst = 300;
    for i in 0..burst {
        socket
            .send(&ClientFrame::Send {
                room: RoomId::new(&lobby),
                body: format!("burst {i}"),
                client_msg_id: format!("burst-{i}"),
                reply_to: None,
            })
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < burst {
        match socket.next(WAIT).await.unwrap() {
            Some(ServerFrame::Ack {
                client_msg_id, seq, ..
            }) => acked.push((client_msg_id, seq)),
            Some(ServerFrame::Error { message, .. }) => panic!("a send was refused: {message}"),
            Some(_) => {}
            None => panic!("only {} of {burst} acks arrived", acked.len()),
        }
    }
    let expected: Vec<(String, u64)> = (0..burst)
        .map(|i| (format!("burst-{i}"), start_seq + 1 + i as u64))
        .collect();
    assert_eq!(acked, expected, "acks in send order with consecutive seqs");

    let mut reader = alice.websocket().await.unwrap();
    reader.subscribe(&lobby, Some(start_seq)).await.unwrap();
    let stored = reader.messages(burst, WAIT).await.unwrap();
    let bodies: Vec<&str> = stored.iter().map(|m| m.body.as_str()).collect();
    let sent: Vec<String> = (0..burst).map(|i| format!("burst {i}")).collect();
    assert_eq!(
        bodies, sent,
        "history holds the burst in the order it was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_messages_survive_sigkill() {
    let Some((mut server, alice, _bob, lobby)) = start("crash").await else {
        return;
    };
    // Post continuously; kill the server mid-stream.
    let writer = {
        let alice = alice.clone();
        let lobby = lobby.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                match alice
                    .post(&lobby, &format!("crash {i}"), &format!("crash-{i}"))
                    .await
                {
                    Ok(response) if response.status() == 201 => {
                        acked.push(response.json::<Message>().await.unwrap());
                    }
                    // The server died under us: what was acked is what counts.
                    _ => break,
                }
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.stop(); // SIGKILL
    let acked = writer.await.unwrap();
    assert!(
        acked.len() > 10,
        "the writer got going before the kill ({} acks)",
        acked.len()
    );

    server.restart().unwrap();
    let alice = Api::sign_in(server.port(), "alice", PASSWORD)
        .await
        .unwrap();
    let stored = alice.history_after(&lobby, 0).await.unwrap();
    let stored_ids: HashSet<_> = stored.iter().map(|m| m.id.clone()).collect();
    for message in &acked {
        assert!(
            stored_ids.contains(&message.id),
            "acked seq {} was lost",
            message.seq
        );
    }
    let expected: Vec<u64> = (1..=stored.len() as u64).collect();
    assert_eq!(seqs(&stored), expected, "seq is gapless after the crash");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_clear_errors() {
    let Some((_server, alice, _bob, lobby)) = start("bad-input").await else {
        return;
    };
    let code = |body: serde_json::Value| {
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let path = format!("/api/rooms/{lobby}/messages");

    let big = "x".repeat(protocol::MAX_BODY_BYTES + 1);
    let response = alice.post(&lobby, &big, "big").await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(code(response.json().await.unwrap()), "message_too_large");

    for (body, what) in [
        ("{\"body\": \"hi\", ".to_owned(), "truncated JSON"),
        (
            "{\"body\": 7, \"client_msg_id\": \"t\"}".to_owned(),
            "wrong type",
        ),
        ("{\"client_msg_id\": \"t\"}".to_owned(), "missing field"),
    ] {
        let response = alice
            .request(reqwest::Method::POST, &path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{what}");
        assert_eq!(
            code(response.json().await.unwrap()),
            "bad_request",
            "{what}"
        );
    }
    let response = alice
        .request(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body(b"{\"body\": \"\xff\xfe\", \"client_msg_id\": \"u\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "invalid UTF-8");

    let response = alice
        .request(reqwest::Method::GET, "/api/rooms/0000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(code(response.json().await.unwrap()), "not_found");

    let anonymous = reqwest::Client::new()
        .post(format!("{}{path}", alice.base))
        .json(&serde_json::json!({"body": "hi", "client_msg_id": "anon"}))
        .send()
        .await
        .unwrap();
    assert!(
        anonymous.status() == 401 || anonymous.status() == 404,
        "anonymous posting is refused, got {}",
        anonymous.status()
    );

    // The per-user rate limit: 30 posts per 10 s, then 429 with Retry-After.
    let mut limited = None;
    for i in 0..40 {
        let response = alice
            .post(&lobby, &format!("flood {i}"), &format!("flood-{i}"))
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("flooding hits the rate limit");
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    assert_eq!(code(limited.json().await.unwrap()), "rate_limited");

    // WebSocket: a malformed frame gets an error frame, and the socket lives on.
    let mut socket = alice.websocket().await.unwrap();
    socket.send_raw("{not json").await.unwrap();
    match socket.next(WAIT).await.unwrap() {
        Some(ServerFrame::Error { code, .. }) => assert_eq!(code, protocol::ErrorCode::BadRequest),
        other => panic!("expected an error frame, got {other:?}"),
    }
    socket.send(&ClientFrame::Ping).await.unwrap();
    assert_eq!(socket.next(WAIT).await.unwrap(), Some(ServerFrame::Pong));
    socket
        .send(&ClientFrame::Subscribe {
            room: RoomId::new("0000000000000000"),
            after: None,
        })
        .await
        .unwrap();
    match socket.next(WAIT).await.unwrap() {
        Some(ServerFrame::Error { code, .. }) => assert_eq!(code, protocol::ErrorCode::NotFound),
        other => panic!("expected not_found, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_older_than_the_history_gets_an_explicit_reset() {
    let Some((server, alice, bob, lobby)) = start("reset").await else {
        return;
    };
    post_many(&alice, &lobby, 5, "old").await;
    // Retention removes everything but each room's newest message.
    let binary = server::binary().unwrap();
    let pruned = std::process::Command::new(&binary)
        .args(["chat", "prune", "--older-than-days", "0", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );

    let mut socket = bob.websocket().await.unwrap();
    socket.subscribe(&lobby, Some(1)).await.unwrap();
    let mut saw_reset = None;
    while let Some(frame) = socket.next(WAIT).await.unwrap() {
        match frame {
            ServerFrame::Reset { first_seq, .. } => saw_reset = Some(first_seq),
            ServerFrame::Event { .. } => break,
            _ => {}
        }
    }
    assert_eq!(
        saw_reset,
        Some(5),
        "WebSocket: reset to the oldest retained seq"
    );

    let events = bob.sse(&lobby, Some(1), 1, WAIT).await.unwrap();
    assert_eq!(events[0].0, "reset", "SSE starts with a reset: {events:?}");
    assert_eq!(events[0].1["first_seq"], 5);

    let page = bob
        .get_json(&format!("/api/rooms/{lobby}/events?after=1&wait=0"))
        .await
        .unwrap();
    assert_eq!(page["reset"], 5, "long-poll says so too: {page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_posted_without_javascript_reaches_websocket_readers() {
    let Some((server, _alice, bob, lobby)) = start("nojs-to-ws").await else {
        return;
    };
    let mut socket = bob.websocket().await.unwrap();
    socket.subscribe(&lobby, None).await.unwrap();
    assert!(matches!(
        socket.next(WAIT).await.unwrap(),
        Some(ServerFrame::Subscribed { .. })
    ));

    // Alice, with plain HTTP only: the login form, the popup, its form.
    let port = server.port();
    let room = lobby.clone();
    tokio::task::spawn_blocking(move || {
        use backchannel_tests::http::{find_form, Client};
        let mut alice = Client::new(port);
        let login = alice.get("/login").unwrap();
        let mut form = find_form(&login.body, r#"name="password""#).unwrap();
        form.set("username", "alice");
        form.set("password", PASSWORD);
        assert_eq!(alice.post_form("/login", &form.inputs).unwrap().status, 303);
        let popup = alice.get(&format!("/rooms/{room}")).unwrap();
        let form = find_form(&popup.body, r#"id="bc-form""#).unwrap();
        let mut fields = form.inputs.clone();
        fields.push(("body".into(), "sent by a plain form".into()));
        let posted = alice
            .post_form(&format!("/rooms/{room}/messages"), &fields)
            .unwrap();
        assert_eq!(posted.status, 303);
    })
    .await
    .unwrap();

    let got = socket.messages(1, WAIT).await.unwrap();
    assert_eq!(got.len(), 1, "the WebSocket reader got the form's message");
    assert_eq!(got[0].body, "sent by a plain form");
    assert_eq!(got[0].author.as_str(), "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_view_access_stops_streams_and_hides_history() {
    let Some((server, alice, bob, lobby)) = start("revoke").await else {
        return;
    };
    server
        .add_admin("carol", PASSWORD)
        .expect("an admin account");
    let carol = Api::sign_in(server.port(), "carol", PASSWORD)
        .await
        .unwrap();
    alice.say(&lobby, "before", "before").await.unwrap();

    // Bob follows the room on every transport.
    let mut socket = bob.websocket().await.unwrap();
    socket.subscribe(&lobby, None).await.unwrap();
    assert!(matches!(
        socket.next(WAIT).await.unwrap(),
        Some(ServerFrame::Subscribed { .. })
    ));
    let history = format!("/api/rooms/{lobby}/messages");
    assert!(bob.get_json(&history).await.is_ok());

    // Carol restricts the Welcome page (the Lobby's page) to alice.
    let info = carol
        .get_json(&format!("/api/rooms/{lobby}"))
        .await
        .unwrap();
    let page_url = info["page"]["url"].as_str().unwrap().to_owned();
    let page_path = page_url.trim_start_matches("/pages/").to_owned();
    let response = carol
        .request(
            reqwest::Method::PUT,
            &format!("/api/pages/{page_path}/permissions"),
        )
        .json(
            &serde_json::json!({"inherit": false, "view": ["user:alice"], "edit": ["user:alice"]}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );

    // The next event closes bob's stream instead of reaching him.
    alice.say(&lobby, "after", "after").await.unwrap();
    let mut leaked = Vec::new();
    loop {
        match socket.next(Duration::from_secs(5)).await {
            Ok(Some(ServerFrame::Event { event, .. })) => leaked.push(event),
            Ok(Some(ServerFrame::Error { code, .. })) => {
                assert_eq!(code, protocol::ErrorCode::NotFound);
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert!(
        leaked.is_empty(),
        "bob got events after losing access: {leaked:?}"
    );

    // And every read path answers 404.
    for path in [
        history.clone(),
        format!("/api/rooms/{lobby}"),
        format!("/api/rooms/{lobby}/events?after=0&wait=0"),
        format!("/api/rooms/{lobby}/stream"),
    ] {
        let response = bob
            .request(reqwest::Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    // Alice still reads it.
    assert!(alice.get_json(&history).await.is_ok());
}
