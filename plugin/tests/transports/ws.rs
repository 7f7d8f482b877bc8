//! The WebSocket transport over a real socket: resume, live delivery,
//! revocation.

use super::{client, follow, post_many, seqs, team, QUIET, SOON};
use protocol::{ClientFrame, ErrorCode, Event, ServerFrame};

#[tokio::test]
async fn subscribing_after_a_seq_replays_the_rest_in_order_once() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    post_many(&alice, team.room(), 5, "earlier").await;

    let mut bob = client(&server, "bob").websocket().await.unwrap();
    bob.subscribe(team.room(), Some(2)).await.unwrap();
    let subscribed = bob.next(SOON).await.unwrap();
    assert!(
        matches!(
            subscribed,
            Some(ServerFrame::Subscribed { last_seq: 5, .. })
        ),
        "{subscribed:?}"
    );
    let replayed = bob.messages(3, SOON).await.unwrap();
    assert_eq!(seqs(&replayed), [3, 4, 5]);
    assert_eq!(replayed[0].body, "earlier 2");
    let extra = bob.next(QUIET).await.unwrap();
    assert!(extra.is_none(), "nothing after the replay: {extra:?}");
}

#[tokio::test]
async fn a_new_post_reaches_subscribers_live_and_the_sender_gets_an_ack() {
    let team = team().await;
    let server = team.serve().await;
    let mut bob = follow(&server, "bob", team.room()).await;

    let mut alice = client(&server, "alice").websocket().await.unwrap();
    alice
        .send(&ClientFrame::Send {
            room: team.room.clone(),
            body: "live!".into(),
            client_msg_id: "ws-1".into(),
            reply_to: None,
        })
        .await
        .unwrap();
    let ack = alice.next(SOON).await.unwrap();
    assert!(
        matches!(&ack, Some(ServerFrame::Ack { client_msg_id, seq: 1, .. }) if client_msg_id == "ws-1"),
        "{ack:?}"
    );

    let live = bob.messages(1, SOON).await.unwrap();
    assert_eq!(live.len(), 1, "bob hears alice's message");
    assert_eq!((live[0].seq, live[0].body.as_str()), (1, "live!"));
    assert!(
        live[0].html.contains("live!"),
        "live messages carry their html"
    );
}

#[tokio::test]
async fn revoking_read_access_stops_the_subscription_before_the_next_message() {
    let team = team().await;
    let server = team.serve().await;
    let alice = client(&server, "alice");
    let mut rita = follow(&server, "rita", team.room()).await;
    alice
        .say(team.room(), "while allowed", "c-1")
        .await
        .unwrap();
    let allowed = rita.messages(1, SOON).await.unwrap();
    assert_eq!(seqs(&allowed), [1], "delivery works before the revocation");

    team.app.host.revoke("rita", &team.page);
    alice
        .say(team.room(), "after revocation", "c-2")
        .await
        .unwrap();

    let told = rita.next(SOON).await.unwrap();
    assert!(
        matches!(
            told,
            Some(ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            })
        ),
        "the revoked reader is told the room is gone, not sent the message: {told:?}"
    );
    alice.say(team.room(), "still after", "c-3").await.unwrap();
    while let Some(frame) = rita.next(QUIET).await.unwrap() {
        assert!(
            !matches!(
                frame,
                ServerFrame::Event {
                    event: Event::Message { .. },
                    ..
                }
            ),
            "a revoked connection got a message: {frame:?}"
        );
    }

    // Subscribing again is refused as for a room that does not exist.
    rita.subscribe(team.room(), Some(0)).await.unwrap();
    let again = rita.next(SOON).await.unwrap();
    assert!(
        matches!(
            again,
            Some(ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            })
        ),
        "{again:?}"
    );
}

/// The next presence event about `user` that `socket` gets within SOON.
async fn presence_of(
    socket: &mut backchannel_tests::api::Socket,
    user: &str,
) -> Option<Option<protocol::Presence>> {
    loop {
        match socket.next(SOON).await.unwrap()? {
            ServerFrame::Event {
                event:
                    Event::Presence {
                        user: who,
                        presence,
                        ..
                    },
                ..
            } if who.as_str() == user => return Some(presence),
            _ => {}
        }
    }
}

#[tokio::test]
async fn closing_a_connection_takes_its_user_out_of_the_room_at_once() {
    let team = team().await;
    let server = team.serve().await;
    let mut bob = follow(&server, "bob", team.room()).await;
    let mut alice = client(&server, "alice").websocket().await.unwrap();
    alice
        .send(&ClientFrame::Presence {
            room: team.room.clone(),
            status: Some(protocol::Presence::Active),
        })
        .await
        .unwrap();
    assert_eq!(
        presence_of(&mut bob, "alice").await,
        Some(Some(protocol::Presence::Active)),
        "bob sees alice arrive"
    );
    // Her popup closes: no goodbye frame, the socket just ends.
    drop(alice);
    assert_eq!(
        presence_of(&mut bob, "alice").await,
        Some(None),
        "bob sees alice leave at once, not when her heartbeat (45 s) runs out"
    );
}
