//! Transcript quoting against the wiki's macro scanner (issue 17,
//! "Property tests", and finding 9: "macro syntax inert inside quoted
//! messages"): a message body quoted into a day page must not become a
//! `{chat:...}` macro the wiki expands when someone views the transcript.
//! Otherwise one message of thousands of macros creates thousands of rooms
//! per view, and a body can put a live chat table on a page.
//!
//! `transcript` cannot see the wiki's scanner, so the property lives here,
//! where both are: render a day with a hostile body, then scan the page as
//! `views::render_page` does (code spans and blocks skipped).
#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use protocol::{Message, MessageId, RoomId, UserId};
use wiki::macros::{scan, Registry};
use wiki::manifest::Manifest;

fn day_page(body: &str) -> String {
    let room = RoomId::new("r1");
    let message = Message {
        id: MessageId::new("m1"),
        room: room.clone(),
        seq: 1,
        author: UserId::new("mallory"),
        author_name: "Mallory {chat:Name}".into(),
        body: body.into(),
        html: String::new(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    };
    transcript::render_day(&transcript::Day {
        room_name: "Lobby {chat:Room}",
        room_id: &room,
        page_title: "Team {chat:Title}",
        page_url: "/pages/Team",
        date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        zone: chrono_tz::UTC,
        messages: &[message],
        parents: &[],
    })
    .markdown
}

fn live_macros(markdown: &str) -> Vec<String> {
    let registry = Registry::from_manifest(&Manifest::bundled().unwrap());
    let code = wiki::markdown::code_ranges(markdown);
    scan(markdown, &registry, &code)
        .into_iter()
        .map(|call| markdown[call.range].to_owned())
        .collect()
}

/// Bodies mixing macro syntax with the markdown around it.
fn body() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("{chat:Room}".to_owned()),
            Just("{chat:A|x=1}".to_owned()),
            Just("{chat}".to_owned()),
            Just("\\{chat:Escaped}".to_owned()),
            Just("`{chat:Code}`".to_owned()),
            Just("\n```\n{chat:Fenced}\n```\n".to_owned()),
            Just("\n".to_owned()),
            Just("> ".to_owned()),
            Just("\\".to_owned()),
            "[a-z {}:|]{0,8}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

/// Names and titles are written inline-escaped (`\{`), so they are inert
/// today; this pins it.
#[test]
fn names_and_titles_in_a_day_page_are_not_macros() {
    assert_eq!(live_macros(&day_page("hello")), Vec::<String>::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Issue 17 finding 9: a body `{chat:Room}` was written into the quote
    /// as is and the wiki expanded it (the saved regression case).
    #[test]
    fn a_quoted_body_never_becomes_a_macro(body in body()) {
        let page = day_page(&body);
        let live = live_macros(&page);
        prop_assert!(live.is_empty(), "{live:?} would expand on:\n{page}");
    }
}
