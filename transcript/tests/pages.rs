//! Properties of cutting a day into pages ([`render_pages`]) over generated
//! days (issue 18: a busy day's publish rewrites only its last page):
//! - every page fits the budget, and every message is on exactly one page,
//!   in seq order;
//! - a day that fits is one page with exactly [`render_day`]'s bytes;
//! - rendering again from any page's first message (the earlier messages
//!   given only as possible reply parents) gives the same pages from there,
//!   which is what lets the publisher rewrite only the last page and still
//!   agree with a full rebuild.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use protocol::{Message, MessageId, RoomId, UserId};
use transcript::{render_day, render_pages, Day};

fn message(seq: u64, author: usize, words: usize, reply_back: Option<u64>) -> Message {
    let name = ["Alice", "Bob", "Chloé", "Dmitri <d>"][author % 4];
    Message {
        id: MessageId::new(format!("m{seq}")),
        room: RoomId::new("r1"),
        seq,
        author: UserId::new(name.to_lowercase()),
        author_name: name.into(),
        body: format!("message {seq}: {}", "words and *more* words ".repeat(words)),
        html: String::new(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
            + TimeDelta::seconds(seq as i64),
        edited_at: None,
        deleted_at: None,
        reply_to: reply_back.and_then(|back| seq.checked_sub(back).filter(|p| *p > 0)),
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    }
}

/// A day of 1 to 200 messages by up to four people, some replying to
/// earlier ones, with bodies from a few words to a few hundred.
fn day_messages() -> impl Strategy<Value = Vec<Message>> {
    prop::collection::vec((0..4usize, 0..40usize, prop::option::of(1..30u64)), 1..200).prop_map(
        |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (author, words, back))| message(i as u64 + 1, author, words, back))
                .collect()
        },
    )
}

fn day<'a>(room: &'a RoomId, messages: &'a [Message], parents: &'a [Message]) -> Day<'a> {
    Day {
        room_name: "Lobby",
        room_id: room,
        page_title: "Team",
        page_url: "/pages/Team",
        date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        zone: chrono_tz::Europe::Berlin,
        messages,
        parents,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn pages_fit_hold_every_message_once_and_cut_the_same_from_any_page(
        messages in day_messages(),
        budget in 2_000usize..40_000,
    ) {
        let room = RoomId::new("r1");
        let Ok(pages) = render_pages(&day(&room, &messages, &[]), budget) else {
            // Only a message too big for the budget on its own refuses.
            let biggest = messages.iter().map(|m| m.body.len()).max().unwrap_or(0);
            prop_assert!(biggest + 600 > budget, "refused with room to spare");
            return Ok(());
        };
        let mut next = 0;
        for page in &pages {
            prop_assert!(page.page.markdown.len() <= budget);
            prop_assert_eq!(page.first_seq, messages[next].seq);
            for m in &messages[next..next + page.messages] {
                prop_assert_eq!(page.page.markdown.matches(&format!("{{#m-{}}}", m.seq)).count(), 1);
            }
            next += page.messages;
        }
        prop_assert_eq!(next, messages.len(), "every message on a page");

        for (index, page) in pages.iter().enumerate() {
            let from = messages.iter().position(|m| m.seq == page.first_seq).unwrap();
            let again = render_pages(&day(&room, &messages[from..], &messages[..from]), budget)
                .expect("what fitted before fits again");
            prop_assert_eq!(&again[..], &pages[index..], "cut from page {}", index + 1);
        }
    }

    #[test]
    fn a_day_that_fits_is_render_days_one_page(messages in day_messages()) {
        let room = RoomId::new("r1");
        let whole = day(&room, &messages, &[]);
        let pages = render_pages(&whole, usize::MAX).unwrap();
        prop_assert_eq!(pages.len(), 1);
        prop_assert_eq!(&pages[0].page, &render_day(&whole));
    }
}

#[test]
fn an_empty_day_is_one_page_saying_so() {
    let room = RoomId::new("r1");
    let pages = render_pages(&day(&room, &[], &[]), 10_000).unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].messages, 0);
    assert!(pages[0].page.markdown.contains("No messages."));
}

#[test]
fn a_reply_to_an_earlier_page_links_the_room_permalink() {
    let room = RoomId::new("r1");
    let messages: Vec<Message> = (1..=60)
        .map(|seq| message(seq, 0, 20, (seq == 60).then_some(59)))
        .collect();
    let pages = render_pages(&day(&room, &messages, &[]), 4_000).unwrap();
    assert!(pages.len() > 2, "{} pages", pages.len());
    let last = &pages.last().unwrap().page.markdown;
    // m-60 replies to m-1, which is pages back.
    assert!(
        last.contains("](/rooms/r1#m-1): “message 1:"),
        "the reply quotes and links its parent:\n{last}"
    );
    // A reply on the same page links within it.
    let same: Vec<Message> = vec![message(1, 0, 1, None), message(2, 1, 1, Some(1))];
    let one = render_pages(&day(&room, &same, &[]), 100_000).unwrap();
    assert!(one[0].page.markdown.contains("](#m-1): “message 1:"));
}
