//! The [`Membership`] contract (group and direct rooms, members,
//! invitations, notifications), on both backends like the rest of the suite.

use super::{new_message, on_postgres, on_sqlite, Nodes};
use crate::store::{
    Claimed, NewInvitation, NewNotification, NewRoom, Room, RoomSettings, Store, StoredNotification,
};
use chrono::{DateTime, Duration, Utc};
use protocol::{InvitationStatus, PageId, Role, RoomId, RoomKind, UserId};

infra::store_suite!(
    an_alias_belongs_to_one_room,
    a_direct_room_is_found_by_its_alias,
    the_directory_lists_public_group_rooms,
    a_read_mark_is_not_a_membership,
    members_are_listed_by_role_then_name,
    rooms_of_lists_recent_activity_first,
    a_second_invitation_replaces_the_open_one,
    an_invitation_settles_once,
    notifications_beyond_the_cap_drop_the_oldest,
    notifications_by_time_page_and_owner,
    removing_a_page_removes_its_invitations_and_notifications,
);

/// Now, to the millisecond the stores keep, so what goes in comes back equal.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

fn person(id: &str) -> (UserId, String) {
    (UserId::new(id), id.to_uppercase())
}

fn group(alias: &str, name: &str, is_public: bool) -> NewRoom {
    NewRoom {
        kind: RoomKind::Group,
        alias: alias.to_owned(),
        name: name.to_owned(),
        topic: String::new(),
        is_public,
        created_by: UserId::new("alice"),
        created_at: now(),
    }
}

/// Creates `room` with alice as its owner and `members`; the alias must be free.
async fn created(store: &dyn Store, room: NewRoom, members: &[&str]) -> Room {
    let members: Vec<_> = members.iter().map(|id| person(id)).collect();
    match store
        .create_room(room, &[person("alice")], &members)
        .await
        .unwrap()
    {
        Claimed::Done(room) => *room,
        Claimed::AliasTaken => panic!("the alias should be free"),
    }
}

fn invitation(room: &RoomId, invitee: &str, comment: &str) -> NewInvitation {
    NewInvitation {
        room: room.clone(),
        invitee: UserId::new(invitee),
        invitee_name: invitee.to_uppercase(),
        inviter: UserId::new("alice"),
        inviter_name: "ALICE".into(),
        comment: comment.to_owned(),
        created_at: now(),
        expires_at: None,
        starts_at: None,
    }
}

fn notice(user: &str, at: DateTime<Utc>) -> NewNotification {
    NewNotification {
        user: UserId::new(user),
        kind: "mention".into(),
        room: None,
        invitation: None,
        payload: r#"{"kind":"mention"}"#.into(),
        created_at: at,
        visible_at: at,
    }
}

fn ids(notifications: &[StoredNotification]) -> Vec<u64> {
    notifications.iter().map(|n| n.id).collect()
}

async fn an_alias_belongs_to_one_room(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let mut new = group("lobby", "Lobby", true);
    new.topic = "hello".into();
    let founded = new.created_at;
    // alice is listed as a member too: owner wins.
    let lobby = created(a, new, &["bob", "alice"]).await;
    assert_eq!(
        (lobby.kind, lobby.page.clone(), lobby.alias.as_deref()),
        (RoomKind::Group, None, Some("lobby"))
    );
    assert_eq!(
        (lobby.name.as_str(), lobby.topic.as_str()),
        ("Lobby", "hello")
    );
    assert!(lobby.is_public);
    assert_eq!((lobby.created_at, lobby.last_seq), (founded, 0));
    assert_eq!(b.room(&lobby.id).await.unwrap(), Some(lobby.clone()));
    let members = b.members(&lobby.id).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.user.as_str(), m.role)).collect();
    assert_eq!(roles, [("alice", Role::Owner), ("bob", Role::Member)]);
    assert!(members.iter().all(|m| m.joined_at == founded));
    assert_eq!(members[1].name, "BOB");

    let rooms = a.rooms().await.unwrap().len();
    let again = b
        .create_room(group("lobby", "Another", false), &[person("carol")], &[])
        .await
        .unwrap();
    assert_eq!(again, Claimed::AliasTaken);
    assert_eq!(a.rooms().await.unwrap().len(), rooms, "nothing was created");
    assert!(a.rooms_of(&UserId::new("carol")).await.unwrap().is_empty());

    // Two nodes claiming one alias at once: one room.
    let (x, y) = ([person("x")], [person("y")]);
    let (x, y) = tokio::join!(
        a.create_room(group("race", "X", true), &x, &[]),
        b.create_room(group("race", "Y", true), &y, &[]),
    );
    let mut outcomes = [x.unwrap(), y.unwrap()].map(|c| matches!(c, Claimed::Done(_)));
    outcomes.sort();
    assert_eq!(outcomes, [false, true]);

    // Updates: a taken alias changes nothing, a room's own alias is fine.
    let den = created(a, group("den", "Den", false), &[]).await;
    let taken = b
        .update_room(
            &den.id,
            RoomSettings {
                alias: Some("lobby".into()),
                name: Some("Renamed".into()),
                ..RoomSettings::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(taken, Claimed::AliasTaken);
    assert_eq!(a.room(&den.id).await.unwrap(), Some(den.clone()));
    let Claimed::Done(changed) = b
        .update_room(
            &den.id,
            RoomSettings {
                alias: Some("den".into()),
                topic: Some("quiet".into()),
                is_public: Some(true),
                avatar: Some(Some("img1".into())),
                ..RoomSettings::default()
            },
        )
        .await
        .unwrap()
    else {
        panic!("its own alias is not taken");
    };
    let expected = Room {
        topic: "quiet".into(),
        is_public: true,
        avatar: Some("img1".into()),
        ..den.clone()
    };
    assert_eq!(*changed, expected);
    assert_eq!(a.room(&den.id).await.unwrap(), Some(expected.clone()));
    let Claimed::Done(renamed) = a
        .update_room(
            &den.id,
            RoomSettings {
                alias: Some("cave".into()),
                avatar: Some(None),
                ..RoomSettings::default()
            },
        )
        .await
        .unwrap()
    else {
        panic!("cave is free");
    };
    assert_eq!(
        (renamed.alias.as_deref(), renamed.avatar.as_deref()),
        (Some("cave"), None)
    );
    assert_eq!(renamed.topic, "quiet", "fields left None stay");
    assert_eq!(a.room_by_alias("den").await.unwrap(), None);
    assert_eq!(b.room_by_alias("cave").await.unwrap(), Some(*renamed));

    let missing = a
        .update_room(&RoomId::new("nope"), RoomSettings::default())
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("no room"), "{missing:#}");
}

async fn a_direct_room_is_found_by_its_alias(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let direct = NewRoom {
        kind: RoomKind::Direct,
        alias: "private:alice:bob".into(),
        name: String::new(),
        topic: String::new(),
        is_public: false,
        created_by: UserId::new("alice"),
        created_at: now(),
    };
    let Claimed::Done(room) = a
        .create_room(direct.clone(), &[person("alice"), person("bob")], &[])
        .await
        .unwrap()
    else {
        panic!("the alias is free");
    };
    assert_eq!(room.kind, RoomKind::Direct);
    assert_eq!(
        b.room_by_alias("private:alice:bob").await.unwrap(),
        Some(*room.clone())
    );
    assert_eq!(b.room_by_alias("private:bob:alice").await.unwrap(), None);
    assert_eq!(b.room_by_alias("private").await.unwrap(), None);
    // Opening it again finds it taken: the caller then looks it up.
    assert_eq!(
        b.create_room(direct, &[person("bob")], &[]).await.unwrap(),
        Claimed::AliasTaken
    );
    for who in ["alice", "bob"] {
        let mine = a.rooms_of(&UserId::new(who)).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].room, *room);
        assert_eq!(mine[0].member.role, Role::Owner);
    }
    assert!(a
        .directory_rooms("", None, 10, false)
        .await
        .unwrap()
        .is_empty());
}

async fn the_directory_lists_public_group_rooms(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let alpha = created(a, group("alpha", "Alpha", true), &[]).await;
    let beta = created(a, group("beta-team", "Beta", true), &[]).await;
    let gamma = created(a, group("gamma", "Gamma 100%", true), &[]).await;
    let delta = created(a, group("delta", "Delta_x", true), &[]).await;
    let same1 = created(a, group("same1", "Same", true), &[]).await;
    let same2 = created(a, group("same2", "Same", true), &[]).await;
    // Not listed: invite-only, direct, and page rooms.
    created(a, group("secret-alpha", "Secret Alpha", false), &[]).await;
    let mut direct = group("private:alpha:zed", "Alpha chat", false);
    direct.kind = RoomKind::Direct;
    created(a, direct, &["zed"]).await;
    a.ensure_room(&PageId::new("1"), "Alpha", &UserId::new("u"))
        .await
        .unwrap();

    let names = |rooms: Vec<Room>| rooms.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let search = move |query: &'static str| async move {
        names(b.directory_rooms(query, None, 50, false).await.unwrap())
    };
    assert_eq!(search("alpha").await, vec![alpha.id.clone()]);
    assert_eq!(search("ALPHA").await, vec![alpha.id.clone()], "any case");
    // With page rooms asked for, the page room joins the list (in name
    // order; the caller keeps it only for readers of its page), and still
    // no invite-only or direct room.
    let with_pages = b.directory_rooms("alpha", None, 50, true).await.unwrap();
    let mut kinds: Vec<&str> = with_pages.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["group", "page"], "both called Alpha, in id order");
    assert_eq!(
        search("TEAM").await,
        vec![beta.id.clone()],
        "the alias counts"
    );
    assert_eq!(
        search("%").await,
        vec![gamma.id.clone()],
        "% is a percent sign"
    );
    assert_eq!(
        search("_").await,
        vec![delta.id.clone()],
        "_ is an underscore"
    );
    assert_eq!(
        search("a\\").await,
        Vec::<RoomId>::new(),
        "\\ is a backslash"
    );
    assert_eq!(search("nothing").await, Vec::<RoomId>::new());

    // Everything, a page at a time by (name, id): equal names by id.
    let mut same = [same1.id.clone(), same2.id.clone()];
    same.sort();
    let all = [
        alpha.id.clone(),
        beta.id.clone(),
        delta.id.clone(),
        gamma.id.clone(),
        same[0].clone(),
        same[1].clone(),
    ];
    assert_eq!(search("").await, all);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = a
            .directory_rooms("", after.clone(), 2, false)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some((last.name.clone(), last.id.clone()));
        paged.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(paged, all);
    let after_first_same = Some(("Same".to_owned(), same[0].clone()));
    assert_eq!(
        names(
            a.directory_rooms("", after_first_same, 10, false)
                .await
                .unwrap()
        ),
        [same[1].clone()]
    );

    // Made private, a room leaves the directory.
    b.update_room(
        &alpha.id,
        RoomSettings {
            is_public: Some(false),
            ..RoomSettings::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(search("alpha").await, Vec::<RoomId>::new());
}

async fn a_read_mark_is_not_a_membership(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let room = a
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("u"))
        .await
        .unwrap()
        .id;
    for key in ["k1", "k2", "k3"] {
        a.append(new_message(&room, "alice", key, "hi"))
            .await
            .unwrap();
    }
    let bob = UserId::new("bob");
    a.mark_read(&room, &bob, 2).await.unwrap();
    assert_eq!(b.member(&room, &bob).await.unwrap(), None, "a reader only");
    assert!(b.members(&room).await.unwrap().is_empty());
    assert!(b.rooms_of(&bob).await.unwrap().is_empty());
    assert!(!b.remove_member(&room, &bob).await.unwrap());
    assert!(!b.set_muted(&room, &bob, true).await.unwrap());

    // Becoming a member keeps the read mark and starts now.
    let joined = now() - Duration::hours(1);
    let member = b
        .put_member(&room, &bob, "Bob", Role::Member, joined)
        .await
        .unwrap();
    assert_eq!(
        (
            member.role,
            member.joined_at,
            member.last_read_seq,
            member.muted
        ),
        (Role::Member, joined, 2, false)
    );
    assert_eq!(a.member(&room, &bob).await.unwrap(), Some(member));

    // A new role keeps when they joined and their read mark.
    a.mark_read(&room, &bob, 3).await.unwrap();
    let promoted = a
        .put_member(&room, &bob, "Bobby", Role::Moderator, now())
        .await
        .unwrap();
    assert_eq!(
        (promoted.role, promoted.joined_at, promoted.last_read_seq),
        (Role::Moderator, joined, 3)
    );
    assert_eq!(promoted.name, "Bobby", "the name given with the role");
    assert!(b.set_muted(&room, &bob, true).await.unwrap());
    assert!(a.member(&room, &bob).await.unwrap().unwrap().muted);

    // Leaving keeps the read mark only.
    assert!(b.remove_member(&room, &bob).await.unwrap());
    assert_eq!(a.member(&room, &bob).await.unwrap(), None);
    assert_eq!(a.last_read(&room, &bob).await.unwrap(), 3);
    assert!(!b.remove_member(&room, &bob).await.unwrap(), "not any more");
    assert!(!a.set_muted(&room, &bob, false).await.unwrap());

    // Coming back is joining anew.
    let back = now();
    let rejoined = a
        .put_member(&room, &bob, "Bob", Role::Member, back)
        .await
        .unwrap();
    assert_eq!(
        (rejoined.joined_at, rejoined.last_read_seq, rejoined.muted),
        (back, 3, false)
    );
}

async fn members_are_listed_by_role_then_name(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let room = created(a, group("club", "Club", false), &["carl", "amy"]).await;
    let at = now();
    b.put_member(&room.id, &UserId::new("zed"), "Zed", Role::Owner, at)
        .await
        .unwrap();
    b.put_member(&room.id, &UserId::new("bob"), "Bob", Role::Moderator, at)
        .await
        .unwrap();
    let listed: Vec<_> = a
        .members(&room.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.role))
        .collect();
    assert_eq!(
        listed,
        [
            ("ALICE".to_owned(), Role::Owner),
            ("Zed".to_owned(), Role::Owner),
            ("Bob".to_owned(), Role::Moderator),
            ("AMY".to_owned(), Role::Member),
            ("CARL".to_owned(), Role::Member),
        ]
    );
}

async fn rooms_of_lists_recent_activity_first(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let hours_ago = |h: i64| {
        let mut room = group(&format!("r{h}"), &format!("Room {h}"), false);
        room.created_at = now() - Duration::hours(h);
        room
    };
    let oldest = created(a, hours_ago(3), &["u"]).await;
    let middle = created(a, hours_ago(2), &["u"]).await;
    let newest = created(a, hours_ago(1), &["u"]).await;
    let order = |rooms: Vec<crate::store::Membered>| {
        rooms.into_iter().map(|m| m.room.id).collect::<Vec<_>>()
    };
    let u = UserId::new("u");
    assert_eq!(
        order(b.rooms_of(&u).await.unwrap()),
        [newest.id.clone(), middle.id.clone(), oldest.id.clone()],
        "by creation when nothing was said"
    );
    a.append(new_message(&oldest.id, "u", "k1", "I am back"))
        .await
        .unwrap();
    let mine = b.rooms_of(&u).await.unwrap();
    assert_eq!(mine[0].room.last_seq, 1);
    assert_eq!(mine[0].member.user, u);
    assert_eq!(mine[0].member.role, Role::Member);
    assert_eq!(
        order(mine),
        [oldest.id.clone(), newest.id.clone(), middle.id.clone()],
        "a message moves its room to the top"
    );
    // Left rooms and rooms only read are not theirs.
    b.remove_member(&middle.id, &u).await.unwrap();
    let page = a
        .ensure_room(&PageId::new("1"), "Lobby", &UserId::new("x"))
        .await
        .unwrap();
    a.mark_read(&page.id, &u, 0).await.unwrap();
    assert_eq!(order(b.rooms_of(&u).await.unwrap()), [oldest.id, newest.id]);
}

async fn a_second_invitation_replaces_the_open_one(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let room = created(a, group("club", "Club", false), &[]).await.id;
    let first = a.invite(invitation(&room, "carol", "come")).await.unwrap();
    assert_eq!(first.status, InvitationStatus::Invited);
    assert_eq!(
        (first.comment.as_str(), first.response.clone()),
        ("come", None)
    );
    assert_eq!(first.created_at, first.updated_at);

    let later = now() + Duration::seconds(5);
    let again = NewInvitation {
        inviter: UserId::new("bob"),
        inviter_name: "BOB".into(),
        created_at: later,
        expires_at: Some(later + Duration::days(1)),
        starts_at: Some(later + Duration::hours(1)),
        ..invitation(&room, "carol", "please come")
    };
    let replaced = b.invite(again).await.unwrap();
    assert_eq!(replaced.id, first.id, "the same invitation");
    assert_eq!(replaced.comment, "please come");
    assert_eq!(replaced.inviter, UserId::new("bob"));
    assert_eq!(
        (replaced.created_at, replaced.updated_at),
        (first.created_at, later)
    );
    assert_eq!(replaced.expires_at, Some(later + Duration::days(1)));
    assert_eq!(replaced.starts_at, Some(later + Duration::hours(1)));
    assert_eq!(
        a.invitation(first.id).await.unwrap(),
        Some(replaced.clone())
    );

    let dave = a.invite(invitation(&room, "dave", "")).await.unwrap();
    assert!(dave.id > first.id);
    assert_eq!(
        b.invitations_to(&room).await.unwrap(),
        [dave.clone(), replaced.clone()],
        "newest first"
    );
    assert_eq!(
        b.invitations_for(&UserId::new("carol")).await.unwrap(),
        [replaced]
    );
    assert_eq!(b.invitation(dave.id + 1000).await.unwrap(), None);

    // Two nodes inviting at once still leave one open invitation.
    let (x, y) = tokio::join!(
        a.invite(invitation(&room, "erin", "x")),
        b.invite(invitation(&room, "erin", "y")),
    );
    assert_eq!(x.unwrap().id, y.unwrap().id);
    assert_eq!(
        a.invitations_for(&UserId::new("erin")).await.unwrap().len(),
        1
    );
}

async fn an_invitation_settles_once(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let room = created(a, group("club", "Club", false), &[]).await.id;
    let open = a.invite(invitation(&room, "carol", "come")).await.unwrap();
    let announce = |at| NewNotification {
        room: Some(room.clone()),
        invitation: Some(open.id),
        kind: "invitation".into(),
        ..notice("carol", at)
    };
    a.notify(announce(now()), 100).await.unwrap();
    b.notify(announce(now()), 100).await.unwrap();
    let other = a.notify(notice("carol", now()), 100).await.unwrap();

    // Accepting on one node and cancelling on the other: one wins.
    let at = now();
    let (x, y) = tokio::join!(
        a.settle_invitation(open.id, InvitationStatus::Accepted, None, at),
        b.settle_invitation(open.id, InvitationStatus::Cancelled, None, at),
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(
        x.is_some() != y.is_some(),
        "exactly one settles: {x:?} {y:?}"
    );
    let settled = x.or(y).unwrap();
    assert_eq!((settled.id, settled.updated_at), (open.id, at));
    assert!(matches!(
        settled.status,
        InvitationStatus::Accepted | InvitationStatus::Cancelled
    ));
    assert_eq!(a.invitation(open.id).await.unwrap(), Some(settled.clone()));
    assert_eq!(
        a.settle_invitation(open.id, InvitationStatus::Declined, None, now())
            .await
            .unwrap(),
        None,
        "a second click finds it settled"
    );
    assert_eq!(
        b.invitation(open.id).await.unwrap().unwrap().status,
        settled.status
    );
    assert!(a
        .invitations_for(&UserId::new("carol"))
        .await
        .unwrap()
        .is_empty());
    assert!(a.invitations_to(&room).await.unwrap().is_empty());
    let left = b
        .notifications(&UserId::new("carol"), now(), DateTime::UNIX_EPOCH, None, 10)
        .await
        .unwrap();
    assert_eq!(left, [other], "its announcements went, the rest stayed");

    // A decline keeps what the invitee said; a new invite is a new row.
    let next = b
        .invite(invitation(&room, "carol", "again?"))
        .await
        .unwrap();
    assert_ne!(next.id, open.id);
    let declined = a
        .settle_invitation(
            next.id,
            InvitationStatus::Declined,
            Some("busy".into()),
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (declined.status, declined.response.as_deref()),
        (InvitationStatus::Declined, Some("busy"))
    );
    assert_eq!(
        a.settle_invitation(99_999, InvitationStatus::Accepted, None, now())
            .await
            .unwrap(),
        None
    );
}

async fn notifications_beyond_the_cap_drop_the_oldest(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let bob = b.notify(notice("bob", now()), 3).await.unwrap();
    let mut stored = Vec::new();
    for i in 0..5 {
        let store = if i % 2 == 0 { a } else { b };
        let n = store.notify(notice("alice", now()), 3).await.unwrap();
        assert!(!n.read);
        stored.push(n);
    }
    let kept = a
        .notifications(&UserId::new("alice"), now(), DateTime::UNIX_EPOCH, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&kept), [stored[4].id, stored[3].id, stored[2].id]);
    assert_eq!(kept[0], stored[4], "what notify returns is what is stored");
    let bobs = a
        .notifications(&UserId::new("bob"), now(), DateTime::UNIX_EPOCH, None, 10)
        .await
        .unwrap();
    assert_eq!(bobs, [bob], "another user's cap is their own");
}

async fn notifications_by_time_page_and_owner(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let t = now();
    let alice = UserId::new("alice");
    let old = a
        .notify(notice("alice", t - Duration::days(3)), 100)
        .await
        .unwrap();
    let hour = a
        .notify(notice("alice", t - Duration::hours(1)), 100)
        .await
        .unwrap();
    let scheduled = NewNotification {
        visible_at: t + Duration::hours(1),
        ..notice("alice", t - Duration::minutes(10))
    };
    let scheduled = b.notify(scheduled, 100).await.unwrap();
    let five = b
        .notify(notice("alice", t - Duration::minutes(5)), 100)
        .await
        .unwrap();
    let one = a
        .notify(notice("alice", t - Duration::minutes(1)), 100)
        .await
        .unwrap();
    let bobs = b.notify(notice("bob", t), 100).await.unwrap();

    let cutoff = t - Duration::days(2);
    let list = |at, before, limit| b.notifications(&alice, at, cutoff, before, limit);
    assert_eq!(
        ids(&list(t, None, 10).await.unwrap()),
        [one.id, five.id, hour.id],
        "not the scheduled one yet, nor one past the cutoff"
    );
    assert_eq!(ids(&list(t, None, 2).await.unwrap()), [one.id, five.id]);
    assert_eq!(ids(&list(t, Some(five.id), 2).await.unwrap()), [hour.id]);
    let later = t + Duration::hours(2);
    assert_eq!(
        ids(&list(later, None, 10).await.unwrap()),
        [one.id, five.id, scheduled.id, hour.id],
        "visible once its time came"
    );
    assert_eq!(a.unread_notifications(&alice, t, cutoff).await.unwrap(), 3);
    assert_eq!(
        a.unread_notifications(&alice, later, cutoff).await.unwrap(),
        4
    );

    // Reading and dismissing touch only the caller's own.
    let bob = UserId::new("bob");
    assert_eq!(
        a.read_notifications(&alice, &[five.id, bobs.id])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.read_notifications(&alice, &[five.id]).await.unwrap(),
        0,
        "read already"
    );
    assert_eq!(a.unread_notifications(&alice, t, cutoff).await.unwrap(), 2);
    assert_eq!(a.unread_notifications(&bob, t, cutoff).await.unwrap(), 1);
    assert!(list(t, None, 10).await.unwrap()[1].read);
    assert_eq!(
        a.dismiss_notifications(&alice, &[bobs.id]).await.unwrap(),
        0
    );
    assert_eq!(a.dismiss_notifications(&alice, &[one.id]).await.unwrap(), 1);
    assert_eq!(ids(&list(t, None, 10).await.unwrap()), [five.id, hour.id]);
    // All of alice's: old, hour and scheduled were unread.
    assert_eq!(b.read_notifications(&alice, &[]).await.unwrap(), 3);
    assert_eq!(
        a.unread_notifications(&alice, later, cutoff).await.unwrap(),
        0
    );
    assert_eq!(a.unread_notifications(&bob, t, cutoff).await.unwrap(), 1);

    // The expiry sweep removes what is older than the cutoff, anyone's.
    assert_eq!(b.expire_notifications(cutoff).await.unwrap(), 1);
    let epoch = DateTime::UNIX_EPOCH;
    let all = a
        .notifications(&alice, later, epoch, None, 10)
        .await
        .unwrap();
    assert!(!ids(&all).contains(&old.id));
    assert_eq!(a.dismiss_notifications(&alice, &[]).await.unwrap(), 3);
    let all = a
        .notifications(&alice, later, epoch, None, 10)
        .await
        .unwrap();
    assert!(all.is_empty());
    let all = a.notifications(&bob, later, epoch, None, 10).await.unwrap();
    assert_eq!(all, [bobs]);
}

async fn removing_a_page_removes_its_invitations_and_notifications(nodes: Nodes) {
    let (a, b) = (nodes.a.as_ref(), nodes.b.as_ref());
    let doomed = a
        .ensure_room(&PageId::new("7"), "Vault", &UserId::new("u"))
        .await
        .unwrap()
        .id;
    let kept = created(a, group("club", "Club", false), &[]).await.id;
    let mut invited = Vec::new();
    for room in [&doomed, &kept] {
        let open = a.invite(invitation(room, "carol", "")).await.unwrap();
        let announce = NewNotification {
            room: Some(room.clone()),
            invitation: Some(open.id),
            ..notice("carol", now())
        };
        a.notify(announce, 100).await.unwrap();
        invited.push(open);
    }
    b.put_member(&doomed, &UserId::new("bob"), "Bob", Role::Owner, now())
        .await
        .unwrap();
    // The group room publishes its transcripts under the same page.
    let publishing = RoomSettings {
        page: Some(Some(PageId::new("7"))),
        ..RoomSettings::default()
    };
    let Claimed::Done(updated) = a.update_room(&kept, publishing).await.unwrap() else {
        panic!("the room takes a transcripts page");
    };
    assert_eq!(updated.page, Some(PageId::new("7")));

    let removed = b.remove_page(&PageId::new("7")).await.unwrap();
    assert_eq!(
        removed.rooms,
        std::slice::from_ref(&doomed),
        "only the page's own room goes"
    );
    let stays = a.room(&kept).await.unwrap().expect("the group room stays");
    assert_eq!(stays.page, None, "and stops publishing there");
    assert_eq!(a.invitation(invited[0].id).await.unwrap(), None);
    assert!(a.invitations_to(&doomed).await.unwrap().is_empty());
    assert_eq!(a.member(&doomed, &UserId::new("bob")).await.unwrap(), None);
    assert!(a.rooms_of(&UserId::new("bob")).await.unwrap().is_empty());
    assert_eq!(
        a.invitations_for(&UserId::new("carol")).await.unwrap(),
        [invited[1].clone()]
    );
    let left = a
        .notifications(&UserId::new("carol"), now(), DateTime::UNIX_EPOCH, None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].room.as_ref(), Some(&kept));
}
