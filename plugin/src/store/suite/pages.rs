//! The store contract for a deleted host page ([`Store::remove_page`]), on
//! both backends like the rest of the suite.

use super::{new_message, on_postgres, on_sqlite, Nodes};
use crate::store::{Changed, DayParts, MessageQuery::After, RemovedPage, Store, StoredFile};
use chrono::NaiveDate;
use protocol::{PageId, RoomId, TranscriptRef, UserId};

infra::store_suite!(
    removing_a_page_removes_its_rooms_and_nothing_else,
    a_split_days_part_count_is_swapped,
);

fn file(id: &str, sha: char) -> StoredFile {
    StoredFile {
        id: id.to_owned(),
        name: format!("{id}.txt"),
        size: 3,
        content_type: None,
        sha256: sha.to_string().repeat(64),
    }
}

/// A room on `page` holding one message with `files`, an edit, a read mark
/// and a transcript record.
async fn busy_room(store: &dyn Store, page: &str, name: &str, files: Vec<StoredFile>) -> RoomId {
    let room = store
        .ensure_room(&PageId::new(page), name, &UserId::new("u"))
        .await
        .unwrap()
        .id;
    let mut message = new_message(&room, "alice", "k1", "the secret");
    message.files = files;
    store.append(message).await.unwrap();
    let edited = store
        .edit(&room, 1, "the edited secret".into(), Vec::new())
        .await
        .unwrap();
    assert!(matches!(edited, Changed::Done(_)));
    store
        .mark_read(&room, &UserId::new("bob"), 1)
        .await
        .unwrap();
    let day = TranscriptRef {
        date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        path: format!("P{page}/Chat/{name}/2026-11-22"),
        url: format!("/pages/P{page}/Chat/{name}/2026-11-22"),
    };
    store.set_transcript(&room, &day).await.unwrap();
    room
}

async fn removing_a_page_removes_its_rooms_and_nothing_else(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    // Page 7 holds two rooms; page 8 shares one file's bytes (same hash).
    let vault = busy_room(a, "7", "Vault", vec![file("f1", 'a'), file("f2", 'b')]).await;
    let other = busy_room(a, "7", "Other", Vec::new()).await;
    let kept = busy_room(a, "8", "Vault", vec![file("f3", 'b')]).await;

    let removed = b.remove_page(&PageId::new("7")).await.unwrap();
    let mut rooms = removed.rooms.clone();
    rooms.sort();
    let mut expected = vec![vault.clone(), other.clone()];
    expected.sort();
    assert_eq!(rooms, expected);
    assert_eq!(
        removed.unreferenced_blobs,
        ["a".repeat(64)],
        "only bytes no other file names may go"
    );

    for room in [&vault, &other] {
        assert_eq!(a.room(room).await.unwrap(), None);
        assert!(a.messages(room, After(0), 10).await.unwrap().is_empty());
        assert_eq!(a.message(room, 1).await.unwrap(), None);
        assert!(a.revisions(room, 1).await.unwrap().is_empty());
        assert_eq!(a.last_read(room, &UserId::new("bob")).await.unwrap(), 0);
        assert!(a.transcripts(room).await.unwrap().is_empty());
        assert!(a.files(room, 10).await.unwrap().is_empty());
        assert!(a.posters(room).await.unwrap().is_empty());
    }
    assert_eq!(a.file(&vault, "f1").await.unwrap(), None);

    // The other page keeps everything.
    assert_eq!(a.room(&kept).await.unwrap().unwrap().last_seq, 1);
    assert_eq!(
        a.file(&kept, "f3").await.unwrap().unwrap().sha256,
        "b".repeat(64)
    );
    assert_eq!(a.transcripts(&kept).await.unwrap().len(), 1);
    assert_eq!(a.last_read(&kept, &UserId::new("bob")).await.unwrap(), 1);

    // The same name on that page id is a new, empty room.
    let again = a
        .ensure_room(&PageId::new("7"), "Vault", &UserId::new("mallory"))
        .await
        .unwrap();
    assert_ne!(again.id, vault);
    assert_eq!((again.last_seq, again.last_activity), (0, None));
    assert!(a
        .messages(&again.id, After(0), 10)
        .await
        .unwrap()
        .is_empty());

    // Idempotent; a page without rooms removes nothing.
    let none = a.remove_page(&PageId::new("9")).await.unwrap();
    assert_eq!(none, RemovedPage::default());
}

async fn a_split_days_part_count_is_swapped(nodes: Nodes) {
    let room = busy_room(nodes.a.as_ref(), "5", "Big", Vec::new()).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let never = DayParts::default();
    assert_eq!(never.count, 1);
    assert_eq!(nodes.a.transcript_parts(&room, day).await.unwrap(), never);
    let swap = |starts: &'static [u64]| nodes.b.swap_transcript_parts(&room, day, starts);
    assert_eq!(
        swap(&[1, 40, 90]).await.unwrap(),
        never,
        "a day never split took one page"
    );
    assert_eq!(
        swap(&[1, 40]).await.unwrap(),
        DayParts {
            count: 3,
            starts: vec![1, 40, 90]
        }
    );
    let now = DayParts {
        count: 2,
        starts: vec![1, 40],
    };
    assert_eq!(swap(&[1, 40]).await.unwrap(), now);
    // Read from either node as recorded.
    assert_eq!(nodes.a.transcript_parts(&room, day).await.unwrap(), now);
    // A day never recorded has nothing to swap and stays unrecorded.
    let other = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    assert_eq!(
        nodes
            .a
            .swap_transcript_parts(&room, other, &[1, 2, 3, 4])
            .await
            .unwrap(),
        never
    );
    assert_eq!(nodes.a.transcript_parts(&room, other).await.unwrap(), never);
}
