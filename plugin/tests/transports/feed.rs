//! The feed's algorithm (feed.rs) seen through a WebSocket: gaps refilled
//! from the store, replay joined to live with nothing lost or doubled, and
//! the reset for a cursor behind the retained history.

use super::{client, follow, post_many, seqs, team, QUIET, SOON};
use protocol::ServerFrame;

#[tokio::test]
async fn a_reader_that_missed_a_bus_event_gets_it_from_the_store() {
    let team = team().await;
    let server = team.serve().await;
    let mut bob = follow(&server, "bob", team.room()).await;

    // Seq 1 is committed but never published; seq 2 is published.
    let lost = team
        .app
        .commit_unannounced(&team.room, "alice", "lost on the bus")
        .await
        .unwrap();
    assert_eq!(lost, 1);
    client(&server, "alice")
        .say(team.room(), "published", "c-2")
        .await
        .unwrap();

    let got = bob.messages(2, SOON).await.unwrap();
    assert_eq!(seqs(&got), [1, 2], "the gap is refilled, in order: {got:?}");
    assert_eq!(got[0].body, "lost on the bus");
    assert!(
        got[0].html.contains("lost on the bus"),
        "refilled messages are rendered"
    );
    let extra = bob.next(QUIET).await.unwrap();
    assert!(extra.is_none(), "nothing twice: {extra:?}");
}

#[tokio::test]
async fn replay_joins_live_with_no_gap_and_no_duplicate() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    post_many(&alice, team.room(), 10, "before").await;

    // Alice keeps posting while bob subscribes from the start, so messages
    // commit during his replay and reach him both ways.
    let room = team.room().to_owned();
    let writer = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.say_many(&room, 30, "during").await })
    };
    let mut bob = client(&server, "bob").websocket().await.unwrap();
    bob.subscribe(team.room(), Some(0)).await.unwrap();
    let got = bob.messages(40, SOON).await.unwrap();
    tokio::time::timeout(SOON, writer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    assert_eq!(seqs(&got), (1..=40).collect::<Vec<u64>>());
    let extra = bob.next(QUIET).await.unwrap();
    assert!(extra.is_none(), "nothing twice: {extra:?}");
}

#[tokio::test]
async fn a_cursor_behind_the_retained_history_gets_a_reset_then_what_is_left() {
    let team = team().await;
    let server = team.serve().await;
    post_many(&client(&server, "alice"), team.room(), 4, "old").await;
    team.app.prune_all_but_newest().await.unwrap();

    let mut bob = client(&server, "bob").websocket().await.unwrap();
    bob.subscribe(team.room(), Some(1)).await.unwrap();
    let reset = bob.next(SOON).await.unwrap();
    assert!(
        matches!(reset, Some(ServerFrame::Reset { first_seq: 4, .. })),
        "{reset:?}"
    );
    let left = bob.messages(1, SOON).await.unwrap();
    assert_eq!(seqs(&left), [4]);
}
