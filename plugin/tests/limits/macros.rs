//! `GET /macro/chat` is a read: an anonymous reader (or a signed-in one
//! who may not post) never creates a room; a writer's view does.

use super::team;
use plugin::Access;
use reqwest::StatusCode;

fn macro_path(page: &protocol::PageId, room: &str) -> String {
    format!("/macro/chat?page={page}&room={room}")
}

#[tokio::test]
async fn readers_views_create_no_rooms() {
    let t = team(|_| {}).await;
    t.app.host.grant_anonymous(&t.page, Access::Read);
    let store = &t.app.state().store;

    for (who, name) in [(None, "Anon"), (Some("rita"), "Rita")] {
        for i in 0..5 {
            let reply = t
                .get(&macro_path(&t.page, &format!("{name}{i}")), who)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{who:?}: {}", reply.text);
            assert!(reply.text.contains("bc-not-started"), "{}", reply.text);
            assert!(
                !reply.text.contains("/rooms/"),
                "a Join link: {}",
                reply.text
            );
            assert!(!reply.text.contains("data-room"), "{}", reply.text);
            assert!(reply.text.contains(&format!("{name}{i}")), "{}", reply.text);
            let room = store
                .room_named(&t.page, &format!("{name}{i}"))
                .await
                .unwrap();
            assert!(room.is_none(), "{who:?}'s view created {name}{i}");
        }
    }

    // A writer's view creates the room, and from then on readers see it.
    let reply = t.get(&macro_path(&t.page, "Anon0"), Some("alice")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let room = store.room_named(&t.page, "Anon0").await.unwrap().unwrap();
    assert!(
        reply.text.contains(&format!("/rooms/{}", room.id)),
        "{}",
        reply.text
    );
    let anonymous = t.get(&macro_path(&t.page, "Anon0"), None).await;
    assert!(
        anonymous.text.contains(&format!("/rooms/{}", room.id)),
        "{}",
        anonymous.text
    );
}

#[tokio::test]
async fn unreadable_pages_still_answer_not_found() {
    let t = team(|_| {}).await;
    let reply = t.get(&macro_path(&t.page, "Anything"), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}

/// Creating rooms through macro views is a write with its own budget: past
/// it a writer's view of a new name creates nothing and says why.
#[tokio::test]
async fn a_writers_new_rooms_meet_their_limit() {
    let t = team(|config| config.room_limit = plugin::config::Rate::per_minute(2)).await;
    let store = &t.app.state().store;
    for name in ["New0", "New1"] {
        let reply = t.get(&macro_path(&t.page, name), Some("alice")).await;
        assert!(reply.text.contains("data-room"), "{}", reply.text);
    }
    let reply = t.get(&macro_path(&t.page, "New2"), Some("alice")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.text.contains("bc-not-started"), "{}", reply.text);
    assert!(reply.text.contains("reload in a minute"), "{}", reply.text);
    assert!(store.room_named(&t.page, "New2").await.unwrap().is_none());
    // Rooms that exist are shown whatever the budget, and others have theirs.
    let again = t.get(&macro_path(&t.page, "New0"), Some("alice")).await;
    assert!(again.text.contains("data-room"), "{}", again.text);
    let bobs = t.get(&macro_path(&t.page, "New2"), Some("bob")).await;
    assert!(bobs.text.contains("data-room"), "{}", bobs.text);
}
