//! One test suite for every [`Store`]: each case is written once against
//! `dyn Store` and runs on SQLite (a temp dir) and PostgreSQL (a fresh schema,
//! dropped afterwards), as `store::suite::sqlite::<case>` and
//! `store::suite::postgres::<case>`.
//!
//! A case gets two handles, `a` and `b`. On PostgreSQL they are two separate
//! stores (two pools) on the same schema: two nodes, so the races below are
//! real cross-node races. SQLite is single-node by design, so there both are
//! the same store.
//!
//! The harness is [`infra::suite`]: PostgreSQL is found at
//! [`infra::services::postgres_url`], and when it is unreachable the
//! PostgreSQL cases fail under `CI=true` and otherwise print
//! `SKIPPED: postgres store suite because <reason>` and pass.

use super::MessageQuery::{After, Before, Between, Replies, Since};
use super::{Appended, Changed, NewMessage, PostgresStore, SqliteStore, Store, StoreMaintenance};
use chrono::Utc;
use infra::suite::on_fresh_schema;
use protocol::{PageId, RoomId, TranscriptRef, UserId};
use std::future::Future;
use std::sync::Arc;

mod membership;
mod pages;
mod profiles;

/// Two handles on one database: two nodes on PostgreSQL, one store on SQLite.
pub(super) struct Nodes {
    pub(super) a: Arc<dyn StoreMaintenance>,
    pub(super) b: Arc<dyn StoreMaintenance>,
}

pub(super) async fn on_sqlite<Fut: Future<Output = ()>>(case: impl FnOnce(Nodes) -> Fut) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn StoreMaintenance> =
        Arc::new(SqliteStore::open(&dir.path().join("chat.db")).unwrap());
    case(Nodes {
        a: Arc::clone(&store),
        b: store,
    })
    .await;
}

pub(super) async fn on_postgres<Fut: Future<Output = ()>>(case: impl FnOnce(Nodes) -> Fut) {
    on_fresh_schema(
        "postgres store suite",
        "backchannel_test",
        |url, schema| async move {
            let a = PostgresStore::connect_with_schema(&url, &schema)
                .await
                .unwrap();
            // A second pool on the same schema: a second node. Its migration run
            // finds everything applied.
            let b = PostgresStore::connect_with_schema(&url, &schema)
                .await
                .unwrap();
            case(Nodes {
                a: Arc::new(a),
                b: Arc::new(b),
            })
            .await;
        },
    )
    .await;
}

infra::store_suite!(
    same_page_and_name_is_the_same_room,
    append_assigns_gapless_seq_and_is_idempotent,
    concurrent_appends_from_two_nodes_are_gapless,
    an_idempotency_race_stores_one_row,
    a_failing_write_does_not_sink_its_neighbours,
    history_pages_backwards_and_lists_posters,
    edits_keep_history_and_deletes_leave_a_tombstone,
    replies_and_time_ranges,
    read_marks_only_move_forward,
    pruning_keeps_the_newest_message_and_moves_first_seq,
    a_day_window_and_transcript_records,
    the_callers_time_is_kept_and_never_runs_backwards,
    time_ranges_in_a_long_room_are_exact,
    a_batch_keeps_its_order_and_each_outcome,
);

pub(super) fn new_message(room: &RoomId, author: &str, key: &str, body: &str) -> NewMessage {
    NewMessage {
        room: room.clone(),
        created_at: Utc::now(),
        author: UserId::new(author),
        author_name: author.to_owned(),
        body: body.to_owned(),
        client_msg_id: key.to_owned(),
        reply_to: None,
        mentions: Vec::new(),
        files: Vec::new(),
    }
}

async fn lobby_with(store: &dyn Store, bodies: &[&str]) -> RoomId {
    let room = store
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap();
    for (i, body) in bodies.iter().enumerate() {
        store
            .append(new_message(&room.id, "alice", &format!("k{i}"), body))
            .await
            .unwrap();
    }
    room.id
}

async fn same_page_and_name_is_the_same_room(nodes: Nodes) {
    let a = nodes
        .a
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap();
    let b = nodes
        .b
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("v"))
        .await
        .unwrap();
    let c = nodes
        .a
        .ensure_room(&PageId::new("2"), "Lobby", &UserId::new("u"))
        .await
        .unwrap();
    assert_eq!(a, b, "the second caller finds the first one's room");
    assert_eq!(a.created_by, UserId::new("u"));
    assert_eq!((a.last_seq, a.last_activity), (0, None));
    assert_ne!(a.id, c.id);
    assert_eq!(nodes.b.room(&a.id).await.unwrap(), Some(a));
    assert_eq!(nodes.a.room(&RoomId::new("nope")).await.unwrap(), None);
    assert_eq!(nodes.a.first_seq(&c.id).await.unwrap(), None);

    // Two nodes creating the same new room at once still make one.
    let (page, u, v) = (PageId::new("3"), UserId::new("u"), UserId::new("v"));
    let (x, y) = tokio::join!(
        nodes.a.ensure_room(&page, "Race", &u),
        nodes.b.ensure_room(&page, "Race", &v),
    );
    assert_eq!(x.unwrap().id, y.unwrap().id);
}

async fn append_assigns_gapless_seq_and_is_idempotent(nodes: Nodes) {
    let store = &*nodes.a;
    let room = store
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap();
    let mut hello = new_message(&room.id, "alice", "k1", "hello @bob");
    hello.mentions = vec![UserId::new("bob")];
    let (first, how) = store.append(hello.clone()).await.unwrap();
    assert_eq!((first.seq, how), (1, Appended::Created));
    assert_eq!(first.client_msg_id.as_deref(), Some("k1"));
    // A retry, even through the other node, is the same message.
    let (again, how) = nodes.b.append(hello).await.unwrap();
    assert_eq!(how, Appended::Duplicate);
    assert_eq!(again, first);
    // The same key from someone else is a different message.
    let mut answer = new_message(&room.id, "bob", "k1", "hi");
    answer.reply_to = Some(1);
    let (other, _) = store.append(answer).await.unwrap();
    assert_eq!((other.seq, other.reply_to), (2, Some(1)));

    let all = store.messages(&room.id, After(0), 10).await.unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(all[0], first, "what append returns is what is stored");
    assert_eq!(all[1], other);
    assert_eq!(
        store.messages(&room.id, After(1), 10).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(
        store.messages(&room.id, After(0), 1).await.unwrap().len(),
        1
    );

    let stored = store.room(&room.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seq, 2);
    assert_eq!(stored.last_activity, Some(other.created_at));
}

async fn concurrent_appends_from_two_nodes_are_gapless(nodes: Nodes) {
    let room = nodes
        .a
        .ensure_room(&PageId::new("1"), "Busy", &UserId::new("u"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..20 {
        let store = Arc::clone(if writer % 2 == 0 { &nodes.a } else { &nodes.b });
        let room = room.id.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                store
                    .append(new_message(
                        &room,
                        &format!("w{writer}"),
                        &n.to_string(),
                        "x",
                    ))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = nodes.b.messages(&room.id, After(0), 1000).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
    assert_eq!(nodes.a.room(&room.id).await.unwrap().unwrap().last_seq, 500);
    // Time never runs backwards along the seq.
    assert!(all.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    // Each writer's messages are in the order it sent them.
    let mine: Vec<&str> = all
        .iter()
        .filter(|m| m.author == UserId::new("w3"))
        .filter_map(|m| m.client_msg_id.as_deref())
        .collect();
    let sent: Vec<String> = (0..25).map(|n| n.to_string()).collect();
    assert_eq!(mine, sent);
}

async fn an_idempotency_race_stores_one_row(nodes: Nodes) {
    let room = nodes
        .a
        .ensure_room(&PageId::new("1"), "Race", &UserId::new("u"))
        .await
        .unwrap();
    for round in 0..20 {
        let key = format!("retry-{round}");
        let (x, y) = tokio::join!(
            nodes.a.append(new_message(&room.id, "alice", &key, "once")),
            nodes.b.append(new_message(&room.id, "alice", &key, "once")),
        );
        let ((x, x_how), (y, y_how)) = (x.unwrap(), y.unwrap());
        assert_eq!((&x.id, x.seq), (&y.id, y.seq), "round {round}");
        let mut how = [x_how, y_how];
        how.sort_by_key(|h| *h == Appended::Duplicate);
        assert_eq!(
            how,
            [Appended::Created, Appended::Duplicate],
            "round {round}"
        );
    }
    let all = nodes.a.messages(&room.id, After(0), 100).await.unwrap();
    assert_eq!(
        all.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>(),
        "one row per key, and a losing racer leaves no gap"
    );
    assert_eq!(nodes.b.room(&room.id).await.unwrap().unwrap().last_seq, 20);
}

async fn a_failing_write_does_not_sink_its_neighbours(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &[]).await;
    let missing = new_message(&RoomId::new("nope"), "alice", "k", "lost");
    let (bad, good) = tokio::join!(
        store.append(missing),
        store.append(new_message(&room, "alice", "k", "kept"))
    );
    assert!(bad.is_err());
    assert_eq!(good.unwrap().0.seq, 1);
    assert_eq!(store.room(&room).await.unwrap().unwrap().last_seq, 1);
}

async fn history_pages_backwards_and_lists_posters(nodes: Nodes) {
    let store = &*nodes.a;
    let room = store
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap();
    for n in 0..5 {
        let who = if n % 2 == 0 { "alice" } else { "bob" };
        let mut message = new_message(&room.id, who, &n.to_string(), "m");
        message.author_name = format!("{who} {n}");
        store.append(message).await.unwrap();
    }
    let page = store.messages(&room.id, Before(5), 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![4, 3]);
    let rest = store.messages(&room.id, Before(3), 10).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 1]);
    let newest = store.messages(&room.id, Before(u64::MAX), 1).await.unwrap();
    assert_eq!(newest[0].seq, 5);

    let posters = nodes.b.posters(&room.id).await.unwrap();
    assert_eq!(posters.len(), 2);
    assert_eq!(posters[0].id, UserId::new("alice"));
    assert_eq!(posters[0].name, "alice 4", "the name on the newest message");
    assert_eq!(posters[0].messages, 3);
    assert_eq!(posters[0].last_posted, newest[0].created_at);
    assert_eq!(
        (posters[1].name.as_str(), posters[1].messages),
        ("bob 3", 2)
    );
    assert_eq!(store.first_seq(&room.id).await.unwrap(), Some(1));
}

async fn edits_keep_history_and_deletes_leave_a_tombstone(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &["frist", "second"]).await;
    let Changed::Done(edited) = store.edit(&room, 1, "firts".into(), vec![]).await.unwrap() else {
        panic!("edit did not apply");
    };
    assert_eq!(edited.body, "firts");
    // The second edit goes through the other node.
    let Changed::Done(edited) = nodes
        .b
        .edit(&room, 1, "first".into(), vec![UserId::new("bob")])
        .await
        .unwrap()
    else {
        panic!("edit did not apply");
    };
    assert_eq!(edited.body, "first");
    assert!(edited.edited_at.is_some());
    assert_eq!(edited.mentions, vec![UserId::new("bob")]);
    assert_eq!(
        store.message(&room, 1).await.unwrap(),
        Some(*edited.clone())
    );
    let history = store.revisions(&room, 1).await.unwrap();
    let bodies: Vec<&str> = history.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, vec!["frist", "firts"], "oldest first");
    assert_eq!(history[1].replaced_at, edited.edited_at.unwrap());
    assert!(store.revisions(&room, 2).await.unwrap().is_empty());

    let Changed::Done(gone) = store.delete(&room, 1).await.unwrap() else {
        panic!("delete did not apply");
    };
    assert!(gone.deleted_at.is_some());
    assert_eq!(gone.body, "");
    assert!(gone.mentions.is_empty());
    assert_eq!(
        (gone.author.clone(), gone.created_at),
        (edited.author, edited.created_at)
    );
    assert!(store.revisions(&room, 1).await.unwrap().is_empty());
    // The seq stays taken; the message can change no more.
    assert_eq!(store.message(&room, 1).await.unwrap(), Some(*gone));
    assert_eq!(store.messages(&room, After(0), 10).await.unwrap().len(), 2);
    assert_eq!(
        store.edit(&room, 1, "again".into(), vec![]).await.unwrap(),
        Changed::Deleted
    );
    assert_eq!(store.delete(&room, 1).await.unwrap(), Changed::Deleted);
    assert_eq!(store.delete(&room, 9).await.unwrap(), Changed::Missing);
    assert_eq!(
        store.edit(&room, 9, "x".into(), vec![]).await.unwrap(),
        Changed::Missing
    );
    assert_eq!(store.message(&room, 9).await.unwrap(), None);
}

async fn replies_and_time_ranges(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &["question", "noise"]).await;
    for (key, parent) in [("r1", 1), ("r2", 2), ("r3", 1)] {
        let mut reply = new_message(&room, "bob", key, "answer");
        reply.reply_to = Some(parent);
        store.append(reply).await.unwrap();
    }
    let replies = nodes.b.messages(&room, Replies(1), 10).await.unwrap();
    assert_eq!(
        replies.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 5]
    );
    assert_eq!(store.messages(&room, Replies(1), 1).await.unwrap().len(), 1);
    assert!(store
        .messages(&room, Replies(4), 10)
        .await
        .unwrap()
        .is_empty());

    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let recent = store
        .messages(
            &room,
            Since {
                since: hour_ago,
                before: u64::MAX,
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(recent.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![5, 4]);
    let older = store
        .messages(
            &room,
            Since {
                since: hour_ago,
                before: 4,
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        older.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    // `since` is inclusive.
    let third = store.message(&room, 3).await.unwrap().unwrap();
    let from_third = store
        .messages(
            &room,
            Since {
                since: third.created_at,
                before: u64::MAX,
            },
            10,
        )
        .await
        .unwrap();
    assert!(from_third.iter().any(|m| m.seq == 3));
    assert!(from_third.iter().all(|m| m.created_at >= third.created_at));
    let future = Utc::now() + chrono::Duration::hours(1);
    assert!(store
        .messages(
            &room,
            Since {
                since: future,
                before: u64::MAX
            },
            10
        )
        .await
        .unwrap()
        .is_empty());
}

async fn read_marks_only_move_forward(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &["a", "b", "c"]).await;
    let (bob, carol) = (UserId::new("bob"), UserId::new("carol"));
    assert_eq!(store.last_read(&room, &bob).await.unwrap(), 0);
    assert_eq!(store.mark_read(&room, &bob, 2).await.unwrap(), 2);
    assert_eq!(nodes.b.mark_read(&room, &bob, 1).await.unwrap(), 2);
    assert_eq!(nodes.b.last_read(&room, &bob).await.unwrap(), 2);
    assert_eq!(store.mark_read(&room, &bob, 3).await.unwrap(), 3);
    assert_eq!(store.last_read(&room, &carol).await.unwrap(), 0, "per user");
}

async fn pruning_keeps_the_newest_message_and_moves_first_seq(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &["a", "b", "c"]).await;
    store.edit(&room, 1, "a2".into(), vec![]).await.unwrap();
    let quiet = store
        .ensure_room(&PageId::new("2"), "Quiet", &UserId::new("u"))
        .await
        .unwrap();
    store
        .append(new_message(&quiet.id, "bob", "only", "alone"))
        .await
        .unwrap();

    assert_eq!(
        store
            .prune(Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap(),
        0,
        "nothing is that old"
    );
    let removed = nodes
        .b
        .prune(Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(removed, 2, "every room keeps its newest message");
    assert_eq!(store.first_seq(&room).await.unwrap(), Some(3));
    assert_eq!(store.first_seq(&quiet.id).await.unwrap(), Some(1));
    assert_eq!(store.message(&room, 1).await.unwrap(), None);
    assert!(store.revisions(&room, 1).await.unwrap().is_empty());
    let (next, _) = store
        .append(new_message(&room, "bob", "after-prune", "d"))
        .await
        .unwrap();
    assert_eq!(next.seq, 4, "seq keeps counting after a prune");
    let left = store.messages(&room, After(0), 10).await.unwrap();
    assert_eq!(left.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3, 4]);
}

async fn a_day_window_and_transcript_records(nodes: Nodes) {
    let store = &*nodes.a;
    let room = lobby_with(store, &["a", "b", "c"]).await;
    let now = Utc::now();
    let day = store
        .messages(
            &room,
            Between {
                from: now - chrono::Duration::hours(1),
                to: now + chrono::Duration::hours(1),
                after: 0,
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        day.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "oldest first"
    );
    let limited = store
        .messages(
            &room,
            Between {
                from: now - chrono::Duration::hours(1),
                to: now + chrono::Duration::hours(1),
                after: 0,
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let rest = store
        .messages(
            &room,
            Between {
                from: now - chrono::Duration::hours(1),
                to: now + chrono::Duration::hours(1),
                after: 1,
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![2, 3],
        "the rest of the day after a seq"
    );
    assert!(store
        .messages(
            &room,
            Between {
                from: now + chrono::Duration::hours(1),
                to: now + chrono::Duration::hours(2),
                after: 0,
            },
            10
        )
        .await
        .unwrap()
        .is_empty());

    let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let second = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let day = |date: chrono::NaiveDate| TranscriptRef {
        date,
        path: format!("Welcome/Chat/Lobby/{date}"),
        url: format!("/pages/Welcome/Chat/Lobby/{date}"),
    };
    store.set_transcript(&room, &day(first)).await.unwrap();
    nodes.b.set_transcript(&room, &day(second)).await.unwrap();
    store.set_transcript(&room, &day(first)).await.unwrap();
    let listed = nodes.b.transcripts(&room).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.date, t.url.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (second, "/pages/Welcome/Chat/Lobby/2026-11-23"),
            (first, "/pages/Welcome/Chat/Lobby/2026-11-22"),
        ],
        "newest day first, one entry per day"
    );
}

/// The chat's clock decides a message's time (a test may shift it to just
/// before midnight), kept to the millisecond; a time earlier than the room's
/// last message, from a node whose clock runs behind, is raised to it so
/// that time order is seq order.
async fn the_callers_time_is_kept_and_never_runs_backwards(nodes: Nodes) {
    let store = &*nodes.a;
    let room = store
        .ensure_room(&PageId::new("7"), "Clocks", &UserId::new("alice"))
        .await
        .unwrap()
        .id;
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    let late = NewMessage {
        created_at: at("2026-11-22T23:59:59.999876Z"),
        ..new_message(&room, "alice", "late", "last one tonight")
    };
    let (first, _) = store.append(late).await.unwrap();
    assert_eq!(first.created_at, at("2026-11-22T23:59:59.999Z"));
    let behind = NewMessage {
        created_at: at("2026-11-22T23:59:58Z"),
        ..new_message(&room, "bob", "behind", "from a slow clock")
    };
    let (second, _) = nodes.b.append(behind).await.unwrap();
    assert_eq!(second.created_at, first.created_at, "raised, not earlier");
    let next_day = NewMessage {
        created_at: at("2026-11-23T00:00:00.001Z"),
        ..new_message(&room, "alice", "morning", "good morning")
    };
    store.append(next_day).await.unwrap();

    let stored = store.messages(&room, After(0), 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.created_at).collect::<Vec<_>>(),
        vec![
            at("2026-11-22T23:59:59.999Z"),
            at("2026-11-22T23:59:59.999Z"),
            at("2026-11-23T00:00:00.001Z"),
        ],
        "what append returned is what is stored"
    );
    let midnight = at("2026-11-23T00:00:00Z");
    let evening = nodes
        .b
        .messages(
            &room,
            Between {
                from: midnight - chrono::Duration::days(1),
                to: midnight,
                after: 0,
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        evening.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let stored_room = store.room(&room).await.unwrap().unwrap();
    assert_eq!(
        stored_room.last_activity,
        Some(at("2026-11-23T00:00:00.001Z"))
    );
}

/// A room longer than the SQLite store's slack around its binary-searched
/// seq bounds: a window in the middle holds exactly the messages stamped in
/// it, and paging back from "now" over a time range stops at its start.
async fn time_ranges_in_a_long_room_are_exact(nodes: Nodes) {
    let store = &*nodes.a;
    let room = store
        .ensure_room(&PageId::new("1"), "Long", &UserId::new("u"))
        .await
        .unwrap()
        .id;
    // Whole seconds: stores keep milliseconds, the bounds must match exactly.
    let start = chrono::DateTime::from_timestamp(Utc::now().timestamp() - 3 * 86_400, 0).unwrap();
    let minute = |n: i64| start + chrono::Duration::minutes(n);
    for n in 1..=2_500 {
        let mut message = new_message(&room, "alice", &format!("k{n}"), "tick");
        message.created_at = minute(n);
        store.append(message).await.unwrap();
    }
    let window = store
        .messages(
            &room,
            Between {
                from: minute(1_200),
                to: minute(1_300),
                after: 0,
            },
            1_000,
        )
        .await
        .unwrap();
    let seqs: Vec<u64> = window.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1_200..1_300).collect::<Vec<u64>>());

    let recent = store
        .messages(
            &room,
            Since {
                since: minute(2_400),
                before: u64::MAX,
            },
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(recent.len(), 101, "minutes 2,400 to 2,500");
    assert_eq!(recent.first().map(|m| m.seq), Some(2_500), "newest first");
    assert_eq!(recent.last().map(|m| m.seq), Some(2_400));
    let before = store
        .messages(
            &room,
            Since {
                since: minute(10),
                before: 20,
            },
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(before.len(), 10, "seqs 10 to 19: {before:?}");
}

/// `append_all`: in order, consecutive seqs, and one bad message (a room
/// that does not exist) or a retried key changes only its own outcome.
async fn a_batch_keeps_its_order_and_each_outcome(nodes: Nodes) {
    let room = lobby_with(nodes.a.as_ref(), &["before"]).await;
    let missing = RoomId::new("no-such-room");
    let batch = vec![
        new_message(&room, "alice", "b1", "one"),
        new_message(&missing, "alice", "b2", "lost"),
        new_message(&room, "alice", "k0", "retry of before"),
        new_message(&room, "bob", "b3", "two"),
        new_message(&room, "alice", "b4", "three"),
    ];
    let outcomes = nodes.b.append_all(batch).await;
    assert_eq!(outcomes.len(), 5, "one outcome per message");
    let created = |i: usize| match &outcomes[i] {
        Ok((message, Appended::Created)) => (message.seq, message.body.clone()),
        other => panic!("message {i} should be created: {other:?}"),
    };
    assert_eq!(created(0), (2, "one".into()));
    assert!(
        outcomes[1].is_err(),
        "a missing room fails that message only"
    );
    match &outcomes[2] {
        Ok((message, Appended::Duplicate)) => assert_eq!(message.body, "before"),
        other => panic!("a retried key finds the stored message: {other:?}"),
    }
    assert_eq!(created(3), (3, "two".into()));
    assert_eq!(created(4), (4, "three".into()));
    let stored: Vec<String> = nodes
        .a
        .messages(&room, After(0), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(stored, ["before", "one", "two", "three"]);
    assert_eq!(nodes.a.room(&room).await.unwrap().unwrap().last_seq, 4);
    assert!(nodes.a.append_all(Vec::new()).await.is_empty());
}
