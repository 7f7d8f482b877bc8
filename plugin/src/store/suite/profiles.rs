//! The [`Profiles`](crate::store::Profiles) contract on both backends:
//! profile rows written whole and read back alone or in batches, pictures
//! replaced atomically with a new version each time, across two nodes on
//! PostgreSQL.

use super::{on_postgres, on_sqlite, Nodes};
use crate::store::ProfileRecord;
use chrono::{DateTime, Duration, Utc};
use protocol::UserId;

infra::store_suite!(
    a_profile_is_written_whole_and_read_back,
    profiles_are_read_in_one_batch,
    writing_texts_leaves_the_picture_alone,
    a_new_picture_replaces_every_size_and_bumps_the_version,
    clearing_a_picture_keeps_its_version_moving,
    two_nodes_storing_pictures_leave_one_whole_set,
);

/// Now, to the millisecond the stores keep.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

fn full(user: &str) -> ProfileRecord {
    ProfileRecord {
        display_name: Some(format!("{user} the Great")),
        status_text: Some("in a workshop".into()),
        status_until: Some(now() + Duration::hours(3)),
        time_zone: Some("Europe/Berlin".into()),
        email: Some(format!("{user}@example.org")),
        phone: Some("+4930123456".into()),
        xmpp: Some(format!("{user}@chat.example.org")),
        ..ProfileRecord::empty(UserId::new(user), now())
    }
}

fn picture(marker: u8) -> Vec<(u32, String, Vec<u8>)> {
    [32u32, 64, 128, 256]
        .into_iter()
        .map(|size| (size, "image/jpeg".to_owned(), vec![marker; size as usize]))
        .collect()
}

async fn a_profile_is_written_whole_and_read_back(nodes: Nodes) {
    let alice = UserId::new("alice");
    assert_eq!(nodes.a.profile(&alice).await.unwrap(), None);
    let record = full("alice");
    let stored = nodes.a.put_profile(record.clone()).await.unwrap();
    assert_eq!(stored, record);
    assert_eq!(nodes.b.profile(&alice).await.unwrap(), Some(stored.clone()));
    // A second write replaces every text, clearing what it leaves out.
    let cleared = ProfileRecord {
        display_name: Some("Al".into()),
        ..ProfileRecord::empty(alice.clone(), now())
    };
    let stored = nodes.b.put_profile(cleared.clone()).await.unwrap();
    assert_eq!(stored, cleared);
    assert_eq!(nodes.a.profile(&alice).await.unwrap(), Some(cleared));
}

async fn profiles_are_read_in_one_batch(nodes: Nodes) {
    for user in ["alice", "bob", "carol"] {
        nodes.a.put_profile(full(user)).await.unwrap();
    }
    let asked: Vec<UserId> = ["bob", "nobody", "alice"]
        .into_iter()
        .map(UserId::new)
        .collect();
    let mut found: Vec<String> = nodes
        .b
        .profiles(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.user.0)
        .collect();
    found.sort();
    assert_eq!(found, ["alice", "bob"]);
    assert!(nodes.b.profiles(&[]).await.unwrap().is_empty());
}

async fn writing_texts_leaves_the_picture_alone(nodes: Nodes) {
    let bob = UserId::new("bob");
    let version = nodes.a.set_avatar(&bob, picture(1), now()).await.unwrap();
    assert_eq!(version, 1);
    let stored = nodes.b.put_profile(full("bob")).await.unwrap();
    assert_eq!((stored.avatar_version, stored.has_avatar), (1, true));
    let image = nodes.a.avatar(&bob, 64).await.unwrap().unwrap();
    assert_eq!((image.version, image.bytes.len()), (1, 64));
    assert_eq!(image.content_type, "image/jpeg");
}

async fn a_new_picture_replaces_every_size_and_bumps_the_version(nodes: Nodes) {
    let carol = UserId::new("carol");
    nodes.a.put_profile(full("carol")).await.unwrap();
    assert_eq!(
        nodes.a.set_avatar(&carol, picture(1), now()).await.unwrap(),
        1
    );
    let fewer = vec![(32, "image/png".to_owned(), vec![2u8; 10])];
    assert_eq!(nodes.b.set_avatar(&carol, fewer, now()).await.unwrap(), 2);
    let small = nodes.a.avatar(&carol, 32).await.unwrap().unwrap();
    assert_eq!((small.version, small.bytes.as_slice()), (2, &[2u8; 10][..]));
    assert_eq!(small.content_type, "image/png");
    assert_eq!(
        nodes.a.avatar(&carol, 64).await.unwrap(),
        None,
        "old sizes go"
    );
    let profile = nodes.b.profile(&carol).await.unwrap().unwrap();
    assert_eq!(
        profile.display_name,
        full("carol").display_name,
        "texts stay"
    );
    assert_eq!((profile.avatar_version, profile.has_avatar), (2, true));
}

async fn clearing_a_picture_keeps_its_version_moving(nodes: Nodes) {
    let dave = UserId::new("dave");
    assert!(!nodes.a.clear_avatar(&dave, now()).await.unwrap());
    nodes.a.set_avatar(&dave, picture(1), now()).await.unwrap();
    assert!(nodes.b.clear_avatar(&dave, now()).await.unwrap());
    assert_eq!(nodes.a.avatar(&dave, 32).await.unwrap(), None);
    let profile = nodes.a.profile(&dave).await.unwrap().unwrap();
    assert_eq!((profile.avatar_version, profile.has_avatar), (1, false));
    let again = nodes.b.set_avatar(&dave, picture(3), now()).await.unwrap();
    assert_eq!(again, 2, "a URL once used never names another picture");
}

async fn two_nodes_storing_pictures_leave_one_whole_set(nodes: Nodes) {
    let erin = UserId::new("erin");
    let (a, b) = (nodes.a.clone(), nodes.b.clone());
    let first = tokio::spawn({
        let erin = erin.clone();
        async move { a.set_avatar(&erin, picture(1), now()).await.unwrap() }
    });
    let second = tokio::spawn({
        let erin = erin.clone();
        async move { b.set_avatar(&erin, picture(2), now()).await.unwrap() }
    });
    let mut versions = [first.await.unwrap(), second.await.unwrap()];
    versions.sort();
    assert_eq!(versions, [1, 2]);
    let mut markers = Vec::new();
    for size in [32, 64, 128, 256] {
        let image = nodes.a.avatar(&erin, size).await.unwrap().unwrap();
        assert_eq!(image.version, 2);
        markers.push(image.bytes[0]);
    }
    markers.dedup();
    assert_eq!(markers.len(), 1, "every size from the same upload");
}
