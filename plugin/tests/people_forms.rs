//! Rooms with people with JavaScript off (issue 19, "No-JS: the whole
//! journey above with plain HTTP forms"): every step is a page fetched and
//! one of its forms submitted, as a browser without JavaScript does, with
//! the session cookie of `plugin::testing`'s host and the CSRF token the
//! form carries, against the real app on SQLite.
#![allow(clippy::unwrap_used)]

mod nojs_client;

use axum::http::Request;
use backchannel_tests::http::form_encode;

use nojs_client::{Browser, Page};
use plugin::testing::{TestApp, TestHost};

fn app_with(people: &[&str]) -> TestApp {
    let app = TestApp::new().unwrap();
    for person in people {
        app.host.add_user(person);
    }
    app
}

/// The room id in a `/rooms/{id}` (or `/rooms/{id}#...`) address.
fn room_of(location: &str) -> String {
    let rest = location
        .strip_prefix("/rooms/")
        .unwrap_or_else(|| panic!("not a room: {location}"));
    rest.split(['#', '?', '/']).next().unwrap().to_owned()
}

/// The id of the first invitation the page offers to accept.
fn invitation_on(page: &Page) -> u64 {
    let at = page
        .body
        .find("/chats/invitations/")
        .expect("an invitation on the page");
    let rest = &page.body[at + "/chats/invitations/".len()..];
    rest.split('/').next().unwrap().parse().unwrap()
}

/// Posts `body` through the popup's no-JavaScript message form.
async fn say(browser: &Browser, room: &str, body: &str) {
    let to = browser
        .act(
            &format!("/rooms/{room}"),
            "id=\"bc-form\"",
            &[("body", body)],
        )
        .await;
    assert!(to.starts_with(&format!("/rooms/{room}#m-")), "{to}");
}

#[tokio::test]
async fn the_whole_journey_works_with_plain_forms() {
    let app = app_with(&["alice", "bob", "carol"]);
    let (alice, bob, carol) = (
        Browser::new(&app, "alice"),
        Browser::new(&app, "bob"),
        Browser::new(&app, "carol"),
    );

    // Alice opens a chat with bob from "New chat", typing his name.
    let to = alice
        .act("/chats", "action=\"/chats/direct\"", &[("person", "bob")])
        .await;
    let direct = room_of(&to);
    say(&alice, &direct, "are you there?").await;

    // Bob's /chats shows the invitation, and the bell counts it.
    let chats = bob.get("/chats").await;
    assert!(
        chats.section("invitations").contains("wants to"),
        "{}",
        chats.body
    );
    assert!(
        chats.body.contains("Notifications (1 unread)"),
        "{}",
        chats.body
    );
    let id = invitation_on(&chats);
    let to = bob
        .act("/chats", &format!("/chats/invitations/{id}/accept"), &[])
        .await;
    assert_eq!(room_of(&to), direct, "accepting goes into the room");
    let room = bob.get(&format!("/rooms/{direct}")).await;
    assert!(room.body.contains("are you there?"));
    say(&bob, &direct, "here!").await;
    assert!(alice
        .get(&format!("/rooms/{direct}"))
        .await
        .body
        .contains("here!"));
    // Either side reopening lands in the same room.
    let again = bob
        .act("/chats", "action=\"/chats/direct\"", &[("person", "alice")])
        .await;
    assert_eq!(room_of(&again), direct);
    // Both are in each other's "my rooms", named by the other person.
    assert!(alice
        .get("/chats")
        .await
        .section("rooms")
        .contains("Chat with bob"));

    // The members panel lists both; alice invites carol from it: a new
    // group room with all three and the history, the 1:1 unchanged.
    let popup = alice.get(&format!("/rooms/{direct}")).await;
    assert!(popup.body.contains("id=\"bc-members\""), "{}", popup.body);
    assert!(popup.body.contains("data-user=\"bob\""));
    let to = alice
        .act(
            &format!("/rooms/{direct}"),
            "id=\"bc-invite\"",
            &[("person", "carol"), ("comment", "join us"), ("hours", "48")],
        )
        .await;
    let group = room_of(&to);
    assert_ne!(group, direct, "inviting a third person opens a new room");
    let widened = alice.get(&format!("/rooms/{group}")).await;
    assert!(widened.body.contains("are you there?") && widened.body.contains("inherited"));
    assert!(
        widened.body.contains("data-status=\"invited\""),
        "carol shows as invited"
    );
    let members = alice.get(&format!("/rooms/{direct}")).await;
    assert!(
        !members.body.contains("data-user=\"carol\""),
        "the 1:1 stays as it was"
    );

    // Carol sees the invitation with its comment and declines with a message.
    let chats = carol.get("/chats").await;
    assert!(chats.body.contains("join us"), "{}", chats.body);
    let id = invitation_on(&chats);
    let to = carol
        .act(
            "/chats",
            &format!("/chats/invitations/{id}/decline"),
            &[("message", "busy today")],
        )
        .await;
    assert_eq!(to, "/chats#invitations");
    let after = carol.get("/chats").await;
    assert!(
        !after.section("invitations").contains("join us"),
        "declined is gone"
    );

    // Alice hears about it on /chats, and it leads to the room.
    let chats = alice.get("/chats").await;
    let notifications = chats.section("notifications");
    assert!(
        notifications.contains("declined your invitation"),
        "{notifications}"
    );
    assert!(notifications.contains("busy today"));
    assert!(notifications.contains(&format!("href=\"/rooms/{group}\"")));
    assert!(notifications.contains("unread)") && notifications.contains("bc-new"));

    // Mark all read, then dismiss one.
    let to = alice
        .act("/chats", "action=\"/chats/notifications/read\"", &[])
        .await;
    assert_eq!(to, "/chats#notifications");
    let chats = alice.get("/chats").await;
    assert!(
        !chats.section("notifications").contains("unread)"),
        "all read"
    );
    assert!(!chats.section("notifications").contains("bc-new"));
    let before = chats.body.matches("/dismiss").count();
    assert!(before > 0);
    alice.act("/chats", "/dismiss\"", &[]).await;
    assert_eq!(
        alice.get("/chats").await.body.matches("/dismiss").count(),
        before - 1
    );
}

#[tokio::test]
async fn rights_and_tokens_hold_for_every_form() {
    let app = app_with(&["alice", "dave", "carol"]);
    let (alice, dave) = (Browser::new(&app, "alice"), Browser::new(&app, "dave"));

    // Alice makes a public room through "New room"; dave finds it in the
    // directory and joins with its button.
    let to = alice
        .act(
            "/chats",
            "action=\"/chats/rooms\"",
            &[
                ("name", "Planning"),
                ("topic", "weekly"),
                ("is_public", "on"),
            ],
        )
        .await;
    let room = room_of(&to);
    let found = dave.get("/chats?q=Plan").await;
    assert!(found.body.contains("Planning"), "{}", found.body);
    let to = dave
        .act("/chats?q=Plan", &format!("/chats/rooms/{room}/join"), &[])
        .await;
    assert_eq!(room_of(&to), room);

    // The owner has the invite and settings forms; a plain member neither.
    let owners = alice.get(&format!("/rooms/{room}")).await;
    assert!(owners.has_form("id=\"bc-invite\"") && owners.has_form("id=\"bc-settings\""));
    let members = dave.get(&format!("/rooms/{room}")).await;
    assert!(
        !members.has_form("id=\"bc-invite\""),
        "no invite form without the add right"
    );
    assert!(!members.has_form("id=\"bc-settings\""));
    assert!(
        !members.body.contains("/remove\""),
        "no remove buttons for members"
    );
    assert!(
        owners.body.contains("data-user=\"dave\" data-status"),
        "dave is a member"
    );

    // A forged invite (dave's own valid token) is refused, shown on the
    // popup with the reason, and invites nobody.
    let csrf = members
        .form("id=\"bc-form\"")
        .input("csrf")
        .unwrap()
        .to_owned();
    let forged = dave
        .post(
            &format!("/rooms/{room}/invitations"),
            &[
                ("csrf".into(), csrf.clone()),
                ("person".into(), "carol".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("add-members right"), "{}", forged.body);
    let carols = Browser::new(&app, "carol").get("/chats").await;
    assert!(
        !carols.body.contains("invites you to"),
        "nobody was invited"
    );
    // So is a forged settings change.
    let forged = dave
        .post(
            &format!("/rooms/{room}/settings"),
            &[
                ("csrf".into(), csrf.clone()),
                ("topic".into(), "hijacked".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Without the token, or with a wrong one, or from another site: refused
    // (403, the page with the reason), and dave is still in the room.
    let leave = format!("/chats/rooms/{room}/leave");
    let missing = dave.post(&leave, &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(
        missing.body.contains("this form has expired"),
        "{}",
        missing.body
    );
    let wrong = dave
        .post(&leave, &[("csrf".into(), "guessed".into())])
        .await;
    assert_eq!(wrong.status, 403);
    let foreign = dave
        .send(
            Request::post(&leave)
                .header("origin", "http://evil.example")
                .header("content-type", "application/x-www-form-urlencoded"),
            form_encode(&[("csrf".into(), TestHost::csrf_token("dave"))]),
        )
        .await;
    assert_eq!(foreign.status, 403);
    let invite = format!("/rooms/{room}/invitations");
    let missing = alice
        .post(&invite, &[("person".into(), "carol".into())])
        .await;
    assert_eq!(missing.status, 403, "the owner's form needs the token too");
    let in_room = format!("data-room=\"{room}\"");
    assert!(dave.get("/chats").await.section("rooms").contains(&in_room));

    // The owner changes the topic and removes dave with the panel's forms.
    alice
        .act(
            &format!("/rooms/{room}"),
            "id=\"bc-settings\"",
            &[("topic", "fortnightly")],
        )
        .await;
    let popup = alice.get(&format!("/rooms/{room}")).await;
    assert!(popup.body.contains("fortnightly"));
    alice
        .act(&format!("/rooms/{room}"), "/members/dave/remove", &[])
        .await;
    let popup = alice.get(&format!("/rooms/{room}")).await;
    assert!(
        !popup.body.contains("data-user=\"dave\" data-status"),
        "dave was removed"
    );
    assert!(!dave.get("/chats").await.section("rooms").contains(&in_room));

    // Mute and leave from "my rooms" (a second owner is not needed: alice
    // is alone now).
    alice
        .act("/chats", &format!("/chats/rooms/{room}/mute"), &[])
        .await;
    let mine = alice.get("/chats").await;
    assert!(mine.section("rooms").contains("(muted)") && mine.section("rooms").contains("Unmute"));
    alice
        .act("/chats", &format!("/chats/rooms/{room}/leave"), &[])
        .await;
    let mine = alice.get("/chats").await;
    assert!(!mine.section("rooms").contains(&in_room), "alice left");
    assert!(
        mine.section("directory").contains(&in_room),
        "and may join again"
    );
}

#[tokio::test]
async fn the_page_is_for_signed_in_people_and_escapes_what_they_typed() {
    let app = app_with(&["alice", "carol", "caroline"]);
    let alice = Browser::new(&app, "alice");

    // Anonymous readers are sent to sign in, and come back here.
    let anonymous = Browser::new(&app, "nobody");
    let page = anonymous.send(Request::get("/chats"), String::new()).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location, "/login?return_to=%2Fchats");

    // The person finder without JavaScript; an ambiguous name is explained.
    let found = alice.get("/chats?find=car").await;
    assert!(found.body.contains("Message carol") && found.body.contains("Message caroline"));
    let form = found.form("action=\"/chats/direct\"");
    let ambiguous = alice.submit(form, &[("person", "caro")]).await;
    assert_eq!(ambiguous.status, 400, "{}", ambiguous.body);
    assert!(
        ambiguous.body.contains("several people match caro"),
        "{}",
        ambiguous.body
    );
    assert!(ambiguous.body.contains("role=\"alert\""));

    // What people type is shown as text, never as markup.
    let to = alice
        .act(
            "/chats",
            "action=\"/chats/rooms\"",
            &[
                ("name", "<script>alert(1)</script>"),
                ("topic", "<img src=x onerror=alert(2)>"),
                ("is_public", "on"),
            ],
        )
        .await;
    let room = room_of(&to);
    for path in ["/chats".to_owned(), format!("/rooms/{room}")] {
        let page = alice.get(&path).await;
        assert!(
            !page.body.contains("<script>alert"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    let page = alice.get("/chats").await;
    assert!(page.body.contains("&lt;img src=x onerror=alert(2)&gt;"));

    // A bad alias comes back as a notice with its status, not JSON.
    let form = alice.get("/chats").await.form("action=\"/chats/rooms\"");
    let bad = alice
        .submit(form, &[("name", "Room"), ("alias", "has space")])
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("an alias is 2 to 64"), "{}", bad.body);
    assert!(bad.body.starts_with("<!DOCTYPE html>"));
}
