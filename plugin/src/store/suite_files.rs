//! The store suite's cases for files: what the upload quotas count, which
//! blobs are still referenced (after deletes and pruning), and finding a
//! room without creating it. Run on both backends like [`super::suite`].

use super::suite::{new_message, on_postgres, on_sqlite, Nodes};
use super::{NewMessage, StoredFile, UploadUsage};
use chrono::Utc;
use protocol::{PageId, RoomId, UserId};

infra::store_suite!(
    a_room_is_found_by_name_without_being_created,
    upload_usage_counts_shared_files_per_room_and_user,
    blob_references_follow_deletes_and_pruning,
);

fn with_file(room: &RoomId, author: &str, key: &str, sha: char, size: u64) -> NewMessage {
    NewMessage {
        files: vec![StoredFile {
            id: format!("file-{key}"),
            name: format!("{key}.bin"),
            size,
            content_type: None,
            sha256: sha.to_string().repeat(64),
        }],
        ..new_message(room, author, key, "shared a file")
    }
}

async fn a_room_is_found_by_name_without_being_created(nodes: Nodes) {
    let page = PageId::new("7");
    assert_eq!(nodes.a.room_named(&page, "Vault").await.unwrap(), None);
    assert!(
        nodes.a.rooms().await.unwrap().is_empty(),
        "looking created a room"
    );
    let room = nodes
        .a
        .ensure_room(&page, "Vault", &UserId::new("u"))
        .await
        .unwrap();
    assert_eq!(
        nodes.b.room_named(&page, "Vault").await.unwrap(),
        Some(room)
    );
    assert_eq!(nodes.b.room_named(&page, "vault").await.unwrap(), None);
}

async fn upload_usage_counts_shared_files_per_room_and_user(nodes: Nodes) {
    let store = &nodes.a;
    let creator = UserId::new("u");
    let one = store
        .ensure_room(&PageId::new("1"), "One", &creator)
        .await
        .unwrap()
        .id;
    let two = store
        .ensure_room(&PageId::new("1"), "Two", &creator)
        .await
        .unwrap()
        .id;
    let alice = UserId::new("alice");
    assert_eq!(
        store.upload_usage(&one, &alice).await.unwrap(),
        UploadUsage::default()
    );
    store
        .append(with_file(&one, "alice", "a1", 'a', 10))
        .await
        .unwrap();
    let (in_two, _) = store
        .append(with_file(&two, "alice", "a2", 'b', 20))
        .await
        .unwrap();
    store
        .append(with_file(&one, "bob", "b1", 'c', 5))
        .await
        .unwrap();
    store
        .append(new_message(&one, "alice", "text", "no file"))
        .await
        .unwrap();
    let usage = UploadUsage {
        room_bytes: 15,
        user_bytes: 30,
    };
    assert_eq!(nodes.b.upload_usage(&one, &alice).await.unwrap(), usage);
    // Deleting the message frees its bytes from both counts.
    store.delete(&two, in_two.seq).await.unwrap();
    let usage = UploadUsage {
        room_bytes: 15,
        user_bytes: 10,
    };
    assert_eq!(nodes.b.upload_usage(&one, &alice).await.unwrap(), usage);
    assert_eq!(
        nodes
            .b
            .upload_usage(&two, &UserId::new("bob"))
            .await
            .unwrap(),
        UploadUsage {
            room_bytes: 0,
            user_bytes: 5
        }
    );
}

async fn blob_references_follow_deletes_and_pruning(nodes: Nodes) {
    let store = &nodes.a;
    let room = store
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap()
        .id;
    let shared = 'd'.to_string().repeat(64);
    let pruned = 'e'.to_string().repeat(64);
    let (first, _) = store
        .append(with_file(&room, "alice", "f1", 'd', 3))
        .await
        .unwrap();
    let (second, _) = store
        .append(with_file(&room, "bob", "f2", 'd', 3))
        .await
        .unwrap();
    store
        .append(with_file(&room, "bob", "f3", 'e', 4))
        .await
        .unwrap();
    let in_use = nodes.b.blobs_in_use().await.unwrap();
    assert_eq!(in_use.len(), 2, "{in_use:?}");
    assert!(in_use.contains(&shared) && in_use.contains(&pruned));

    // Two messages share the bytes: deleting one keeps them referenced.
    store.delete(&room, first.seq).await.unwrap();
    assert!(nodes.b.blob_in_use(&shared).await.unwrap());
    store.delete(&room, second.seq).await.unwrap();
    assert!(!nodes.b.blob_in_use(&shared).await.unwrap());

    // Pruning a message with a file works and drops its reference.
    store
        .append(new_message(&room, "alice", "newest", "kept"))
        .await
        .unwrap();
    let later = Utc::now() + chrono::TimeDelta::hours(1);
    assert!(store.prune(later).await.unwrap() >= 3);
    assert!(!nodes.b.blob_in_use(&pruned).await.unwrap());
    assert!(nodes.b.blobs_in_use().await.unwrap().is_empty());
}
