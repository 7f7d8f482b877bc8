//! The popup without JavaScript (issue 20, "No-JS parity"): older and newer
//! history pages, a permalink page around any message, time ranges, the
//! thread page, reply with its quote, edit and delete (own, and a
//! moderator's), the unread divider and "mark all as read", each a plain
//! page or form with the CSRF token, back to where the reader was, keeping
//! what was typed when it fails. Against the real app on SQLite.
#![allow(clippy::unwrap_used)]

mod nojs_client;

use chrono::TimeDelta;
use nojs_client::{Browser, Page};
use plugin::host::Access;
use plugin::store::NewMessage;
use plugin::testing::TestApp;
use protocol::{RoomId, UserId};

/// A page room where alice and bob write, carol moderates (page admin),
/// and dave only reads.
async fn room() -> (TestApp, RoomId) {
    let app = TestApp::new().unwrap();
    let page = app.host.add_page("Planning");
    for (who, access) in [
        ("alice", Access::Write),
        ("bob", Access::Write),
        ("carol", Access::Admin),
        ("dave", Access::Read),
    ] {
        app.host.add_user(who);
        app.host.grant(who, &page, access);
    }
    let room = app.room(&page, "Lobby").await.unwrap();
    (app, room)
}

/// Stores `count` messages by `author`, `message 1` ... (seqs from 1).
async fn fill(app: &TestApp, room: &RoomId, author: &str, count: u64) {
    for n in 1..=count {
        app.commit_unannounced(room, author, &format!("message {n}"))
            .await
            .unwrap();
    }
}

/// The seqs of the messages a page shows, in order.
fn seqs(page: &Page) -> Vec<u64> {
    page.body
        .match_indices("data-seq=\"")
        .map(|(at, found)| {
            let rest = &page.body[at + found.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// The href of the first link with `class`.
fn link(page: &Page, class: &str) -> Option<String> {
    let at = page.body.find(&format!("class=\"{class}\" href=\""))?;
    let rest = &page.body[at + format!("class=\"{class}\" href=\"").len()..];
    Some(rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
}

#[tokio::test]
async fn history_pages_go_back_and_forth_and_a_permalink_finds_any_message() {
    let (app, room) = room().await;
    fill(&app, &room, "bob", 120).await;
    let alice = Browser::new(&app, "alice");

    let latest = alice.get(&format!("/rooms/{room}")).await;
    assert_eq!(seqs(&latest), (71..=120).collect::<Vec<_>>());
    assert!(
        latest.body.contains("/assets/boot.js"),
        "the latest page is live"
    );
    assert_eq!(link(&latest, "bc-newer"), None);

    let older = link(&latest, "bc-older").expect("an older-messages link");
    assert_eq!(older, format!("/rooms/{room}?before=71"));
    let page = alice.get(&older).await;
    assert_eq!(seqs(&page), (21..=70).collect::<Vec<_>>());
    assert!(
        !page.body.contains("/assets/boot.js"),
        "history pages are plain pages"
    );

    let oldest = alice.get(&link(&page, "bc-older").unwrap()).await;
    assert_eq!(seqs(&oldest), (1..=20).collect::<Vec<_>>());
    assert_eq!(link(&oldest, "bc-older"), None, "nothing is older than 1");
    let newer = alice.get(&link(&oldest, "bc-newer").unwrap()).await;
    assert_eq!(seqs(&newer), (21..=70).collect::<Vec<_>>());

    // A permalink to message 10 shows it with its neighbours.
    let around = alice.get(&format!("/rooms/{room}?at=10")).await;
    let shown = seqs(&around);
    assert_eq!(shown.first(), Some(&1));
    assert!(shown.contains(&10) && shown.len() == 50, "{shown:?}");
    assert!(
        latest
            .body
            .contains(&format!("href=\"/rooms/{room}?at=120#m-120\"")),
        "every message links to its permalink page"
    );

    // Nonsense windows are a clear 400, unknown messages a 404.
    let both = alice
        .send_get(&format!("/rooms/{room}?before=5&after=2"))
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    let missing = alice.send_get(&format!("/rooms/{room}?at=999")).await;
    assert_eq!(missing.status, 404);
    let missing = alice.send_get(&format!("/rooms/{room}/threads/999")).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_reply_quotes_its_parent_and_the_thread_page_holds_the_conversation() {
    let (app, room) = room().await;
    fill(&app, &room, "bob", 60).await;
    let alice = Browser::new(&app, "alice");

    // Reply from an older page: the quote is shown above the text.
    let page = alice.get(&format!("/rooms/{room}?before=11&reply=5")).await;
    assert!(
        page.body.contains("Replying to <strong>bob</strong>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<blockquote class=\"bc-quote\">message 5</blockquote>"));
    let form = page.form("id=\"bc-form\"");
    assert_eq!(form.input("reply_to"), Some("5"));
    let done = alice.submit(form, &[("body", "answering five")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, format!("/rooms/{room}#m-61"));

    // The thread page: the parent and its replies; its form replies there.
    let thread = alice.get(&format!("/rooms/{room}/threads/5")).await;
    assert_eq!(seqs(&thread), vec![5, 61]);
    assert!(thread.body.contains("answering five"));
    let to = alice
        .act(
            &format!("/rooms/{room}/threads/5"),
            "id=\"bc-form\"",
            &[("body", "and again")],
        )
        .await;
    assert_eq!(to, format!("/rooms/{room}/threads/5#m-62"));
    let thread = alice.get(&format!("/rooms/{room}/threads/5")).await;
    assert_eq!(seqs(&thread), vec![5, 61, 62]);
    // A reply links to its thread from the room.
    let latest = alice.get(&format!("/rooms/{room}")).await;
    assert!(latest
        .body
        .contains(&format!("href=\"/rooms/{room}/threads/5#m-5\"")));
}

#[tokio::test]
async fn authors_edit_and_delete_their_own_and_moderators_delete_anyones() {
    let (app, room) = room().await;
    fill(&app, &room, "bob", 80).await;
    let bob = Browser::new(&app, "bob");
    let alice = Browser::new(&app, "alice");
    let carol = Browser::new(&app, "carol");

    // Bob edits message 12 from the page he is reading, and lands back there.
    let here = format!("/rooms/{room}?before=31");
    let page = bob.get(&format!("{here}&edit=12")).await;
    let form = page.form("class=\"bc-edit-form\"");
    assert_eq!(form.input("back"), Some(here.as_str()));
    let done = bob.submit(form, &[("body", "message 12, better")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, format!("{here}#m-12"));
    let page = bob.get(&here).await;
    assert!(page.body.contains("message 12, better") && page.body.contains("(edited)"));

    // Alice may not edit bob's message, and gets no edit or delete control.
    let refused = alice.send_get(&format!("{here}&edit=12")).await;
    assert_eq!(refused.status, 403);
    let page = alice.get(&here).await;
    assert!(!page.body.contains("/messages/12/delete"));
    let delete = format!("/rooms/{room}/messages/12/delete");
    let forged = alice
        .post(
            &delete,
            &[
                (
                    "csrf".into(),
                    plugin::testing::TestHost::csrf_token("alice"),
                ),
                ("back".into(), here.clone()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Bob deletes his own; carol, a moderator, deletes one of his too.
    let to = bob
        .act(
            &here,
            &format!("action=\"/rooms/{room}/messages/13/delete\""),
            &[],
        )
        .await;
    assert_eq!(to, format!("{here}#m-13"));
    let page = carol.get(&here).await;
    assert!(page
        .body
        .contains(&format!("/rooms/{room}/messages/14/delete")));
    let to = carol
        .act(
            &here,
            &format!("action=\"/rooms/{room}/messages/14/delete\""),
            &[],
        )
        .await;
    assert_eq!(to, format!("{here}#m-14"));
    let page = alice.get(&here).await;
    assert_eq!(page.body.matches("(message deleted)").count(), 2);

    // A delete without the token is refused and deletes nothing.
    let bare = bob
        .post(&format!("/rooms/{room}/messages/15/delete"), &[])
        .await;
    assert_eq!(bare.status, 403);
    assert!(alice.get(&here).await.body.contains("message 15"));
}

#[tokio::test]
async fn a_failed_form_shows_why_and_keeps_what_was_typed() {
    let (app, room) = room().await;
    fill(&app, &room, "bob", 3).await;
    let bob = Browser::new(&app, "bob");

    // An edit too long to store: the edit form again, with the text.
    let long = "x".repeat(app.state().config.max_body_bytes + 10);
    let form = bob
        .get(&format!("/rooms/{room}?edit=2"))
        .await
        .form("class=\"bc-edit-form\"");
    let failed = bob.submit(form, &[("body", &long)]).await;
    assert_eq!(
        failed.status,
        413,
        "{}",
        &failed.body[..200.min(failed.body.len())]
    );
    assert!(failed.body.contains("id=\"bc-error\""));
    assert!(failed.body.contains(&long), "the typed text is kept");
    assert!(failed.body.contains("class=\"bc-edit-form\""));

    // A reply whose token expired: the quote and the text are still there.
    let form = bob
        .get(&format!("/rooms/{room}?reply=1"))
        .await
        .form("id=\"bc-form\"");
    let failed = bob
        .submit(form, &[("csrf", "expired"), ("body", "my careful answer")])
        .await;
    assert_eq!(failed.status, 403);
    assert!(failed.body.contains("my careful answer"));
    assert!(failed
        .body
        .contains("<blockquote class=\"bc-quote\">message 1</blockquote>"));

    // A reader who may not post is told so, with the page.
    let dave = Browser::new(&app, "dave");
    let page = dave.get(&format!("/rooms/{room}")).await;
    assert!(!page.body.contains("id=\"bc-form\""));
    assert!(!page.body.contains("Reply</a>"));
}

#[tokio::test]
async fn the_unread_divider_sits_before_the_first_unread_and_mark_read_clears_it() {
    let (app, room) = room().await;
    fill(&app, &room, "bob", 10).await;
    let alice = Browser::new(&app, "alice");
    plugin::chat::mark_read(
        app.state(),
        Some(&plugin::host::Caller {
            id: UserId::new("alice"),
            name: "alice".into(),
            csrf_token: None,
        }),
        &room,
        6,
    )
    .await
    .unwrap();
    let page = alice.get(&format!("/rooms/{room}")).await;
    let divider = page.body.find("id=\"bc-divider\"").expect("a divider");
    assert!(page.body.find("id=\"m-6\"").unwrap() < divider);
    assert!(divider < page.body.find("id=\"m-7\"").unwrap());

    let to = alice.act(&format!("/rooms/{room}"), "/read\"", &[]).await;
    assert_eq!(to, format!("/rooms/{room}"));
    let page = alice.get(&format!("/rooms/{room}")).await;
    assert!(!page.body.contains("bc-divider"));
    assert!(!page.body.contains("Mark all as read"));

    // Posting marks the room read up to the new message.
    fill(&app, &room, "bob", 2).await;
    let to = alice
        .act(
            &format!("/rooms/{room}"),
            "id=\"bc-form\"",
            &[("body", "caught up")],
        )
        .await;
    assert_eq!(to, format!("/rooms/{room}#m-13"));
    assert!(!alice
        .get(&format!("/rooms/{room}"))
        .await
        .body
        .contains("bc-divider"));
}

#[tokio::test]
async fn time_ranges_show_only_their_stretch_and_page_within_it() {
    let (app, room) = room().await;
    let now = app.state().config.clock.now();
    let ages = [
        (100, "from 100 days ago"),
        (40, "from 40 days ago"),
        (10, "from 10 days ago"),
        (3, "from 3 days ago"),
    ];
    for (days, body) in ages {
        app.state()
            .store
            .append(NewMessage {
                room: room.clone(),
                created_at: now - TimeDelta::days(days),
                author: UserId::new("bob"),
                author_name: "bob".into(),
                body: body.into(),
                client_msg_id: format!("old-{days}"),
                reply_to: None,
                mentions: Vec::new(),
                files: Vec::new(),
            })
            .await
            .unwrap();
    }
    fill(&app, &room, "bob", 55).await;
    let alice = Browser::new(&app, "alice");
    let shown = |page: &Page, body: &str| page.body.contains(&format!(">{body}</p>"));

    let day = alice.get(&format!("/rooms/{room}?range=day")).await;
    assert_eq!(seqs(&day).len(), 50);
    let rest = alice
        .get(&link(&day, "bc-older").expect("more of the day"))
        .await;
    assert_eq!(
        seqs(&rest),
        (5..=9).collect::<Vec<_>>(),
        "the day's first five"
    );
    assert_eq!(link(&rest, "bc-older"), None, "the range ends there");

    let week = alice
        .get(&format!("/rooms/{room}?range=week&before=5"))
        .await;
    assert!(shown(&week, "from 3 days ago") && !shown(&week, "from 10 days ago"));
    let month = alice
        .get(&format!("/rooms/{room}?range=month&before=5"))
        .await;
    assert!(shown(&month, "from 10 days ago") && !shown(&month, "from 40 days ago"));
    let quarter = alice
        .get(&format!("/rooms/{room}?range=3months&before=5"))
        .await;
    assert!(shown(&quarter, "from 40 days ago") && !shown(&quarter, "from 100 days ago"));
    assert!(quarter.body.contains("<strong>last 3 months</strong>"));
}

#[tokio::test]
async fn commands_work_from_the_form_and_me_is_an_action_line() {
    let (app, room) = room().await;
    let alice = Browser::new(&app, "alice");
    let here = format!("/rooms/{room}");

    let help = alice.get(&here).await.form("id=\"bc-form\"");
    let answer = alice.submit(help, &[("body", "/help")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("Commands you may use here"));
    assert!(!answer.body.contains("/kick"), "alice may not kick here");

    let to = alice
        .act(&here, "id=\"bc-form\"", &[("body", "/me waves")])
        .await;
    assert_eq!(to, format!("{here}#m-1"));
    let page = alice.get(&here).await;
    assert!(
        page.body.contains("class=\"bc-msg bc-action\""),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<span class=\"bc-actor\">* alice </span><p>waves</p>"));

    let form = alice.get(&here).await.form("id=\"bc-form\"");
    let refused = alice.submit(form, &[("body", "/nope and some text")]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("there is no /nope command"));
    assert!(
        refused.body.contains("/nope and some text"),
        "the draft is kept"
    );
    assert_eq!(seqs(&alice.get(&here).await), vec![1], "nothing was posted");
}
