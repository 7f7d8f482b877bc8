//! Three real `backchannel` nodes on loopback sharing one PostgreSQL database
//! and one NATS server, as a scaled-out install runs behind a load balancer:
//! one order for everyone whichever node they are on, a gapless seq from
//! writers spread over the nodes, failover after SIGKILL with nothing lost or
//! doubled, and presence that is the union of all nodes and forgets a dead
//! node's users within the heartbeat expiry.
//!
//! Needs PostgreSQL (`BACKCHANNEL_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and NATS
//! (`BACKCHANNEL_TEST_NATS_URL`, default `nats://127.0.0.1:4222`); without
//! them the test says it was skipped, except under CI where it fails.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use backchannel_tests::api::{Api, Socket};
use backchannel_tests::backend::Database;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use infra::services::nats_url;
use protocol::Message;
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(15);
/// The server's presence expiry (45 s) plus its sweep interval (5 s) plus
/// slack for a loaded machine.
const PRESENCE_GONE_WITHIN: Duration = Duration::from_secs(60);
const WRITERS: usize = 10;
const PER_WRITER: usize = 10;

async fn nats_reachable() -> Result<(), String> {
    let url = nats_url();
    let address = url.trim_start_matches("nats://").to_owned();
    tokio::net::TcpStream::connect(&address)
        .await
        .map(drop)
        .map_err(|e| format!("NATS is unreachable at {url}: {e}"))
}

/// The names `viewer`'s node lists as present in `room`.
async fn present(viewer: &Api, room: &str) -> Vec<String> {
    let info = viewer
        .get_json(&format!("/api/rooms/{room}"))
        .await
        .unwrap();
    let mut names: Vec<String> = info["present"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_lowercase))
        .collect();
    names.sort();
    names
}

async fn beat(api: &Api, room: &str) {
    let response = api
        .request(
            reqwest::Method::POST,
            &format!("/api/rooms/{room}/presence"),
        )
        .json(&json!({ "status": "active" }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "presence: {}",
        response.status()
    );
}

async fn subscribed(api: &Api, room: &str, after: u64) -> Socket {
    let mut socket = api.websocket().await.unwrap();
    socket.subscribe(room, Some(after)).await.unwrap();
    socket
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_one_order_and_survive_a_sigkill() {
    let test = "three_nodes_share_one_order_and_survive_a_sigkill";
    let Some(binary) = skip::require(test, server::binary()) else {
        return;
    };
    let Some(database) = skip::require(test, Database::create("cluster").await) else {
        return;
    };
    let database = database.url;
    if skip::require(test, nats_reachable().await).is_none() {
        return;
    }

    // Three nodes, one after the other so the first runs the migrations.
    let mut nodes = Vec::new();
    for n in 1..=3 {
        let node_id = format!("node-{n}");
        let node = TestServer::start_with_env(
            &format!("cluster-{node_id}"),
            &binary,
            &[
                ("BACKCHANNEL_DATABASE_URL", database.as_str()),
                ("BACKCHANNEL_NATS_URL", nats_url().as_str()),
                ("BACKCHANNEL_NODE_ID", node_id.as_str()),
                ("BACKCHANNEL_POST_LIMIT", "100000/1"),
            ],
        )
        .expect("node starts");
        nodes.push(node);
    }
    // Accounts live in the shared database: created through one node, they
    // sign in on any.
    for user in ["alice", "bob", "carol", "dave"] {
        nodes[0].add_user(user, PASSWORD).expect("user add");
    }
    let sign_in = |node: usize, user: &'static str| {
        let port = nodes[node].port();
        async move { Api::sign_in(port, user, PASSWORD).await.unwrap() }
    };
    let alice = sign_in(0, "alice").await;
    let bob = sign_in(1, "bob").await;
    let carol = sign_in(2, "carol").await;
    let dave = sign_in(1, "dave").await;
    let room = alice.lobby().await.unwrap();
    assert_eq!(
        bob.lobby().await.unwrap(),
        room,
        "every node shows the same room"
    );

    // One reader per node.
    let mut readers = Vec::new();
    for api in [&alice, &bob, &carol] {
        readers.push(subscribed(api, &room, 0).await);
    }

    // Ten writers spread over the three nodes, all at once.
    let writers = [alice.clone(), bob.clone(), carol.clone()];
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let api = writers[w % writers.len()].clone();
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..PER_WRITER {
                api.say(&room, &format!("writer {w} line {k}"), &format!("w{w}-{k}"))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = (WRITERS * PER_WRITER) as u64;
    let mut orders = Vec::new();
    for reader in &mut readers {
        let got = reader.messages(total as usize, WAIT).await.unwrap();
        assert_eq!(
            seqs(&got),
            (1..=total).collect::<Vec<_>>(),
            "gapless, in order"
        );
        orders.push(got.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
    }
    assert!(
        orders.windows(2).all(|pair| pair[0] == pair[1]),
        "every node delivers the same order"
    );

    // Presence is the union: Dave, on node 2, shows on nodes 1 and 3.
    beat(&dave, &room).await;
    let deadline = Instant::now() + WAIT;
    while !(present(&alice, &room).await.contains(&"dave".to_owned())
        && present(&carol, &room).await.contains(&"dave".to_owned()))
    {
        assert!(
            Instant::now() < deadline,
            "dave never showed on nodes 1 and 3"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Node 2 dies.
    nodes[1].stop();
    let killed = Instant::now();
    drop(readers.remove(1));

    // Messages keep coming while Bob is away...
    for k in 0..5 {
        alice
            .say(
                &room,
                &format!("while bob was away {k}"),
                &format!("away-{k}"),
            )
            .await
            .unwrap();
    }
    // ...and Bob's client reconnects to node 3, resuming from its last seq.
    let bob_again = bob.on_port(nodes[2].port());
    let mut bob_reader = subscribed(&bob_again, &room, total).await;
    let missed = bob_reader.messages(5, WAIT).await.unwrap();
    assert_eq!(seqs(&missed), (total + 1..=total + 5).collect::<Vec<_>>());
    assert!(missed
        .iter()
        .all(|m| m.body.starts_with("while bob was away")));
    carol.say(&room, "welcome back", "back").await.unwrap();
    let live = bob_reader.messages(1, WAIT).await.unwrap();
    assert_eq!(seqs(&live), vec![total + 6], "live again on the new node");
    assert!(
        bob_reader
            .messages(1, Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty(),
        "nothing doubled"
    );
    for reader in &mut readers {
        let got = reader.messages(6, WAIT).await.unwrap();
        assert_eq!(seqs(&got), (total + 1..=total + 6).collect::<Vec<_>>());
    }

    // Dave's node is gone, and so is Dave, everywhere, within the expiry.
    while present(&alice, &room).await.contains(&"dave".to_owned())
        || present(&carol, &room).await.contains(&"dave".to_owned())
    {
        assert!(
            killed.elapsed() < PRESENCE_GONE_WITHIN,
            "dave still present {:?} after his node died",
            killed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
