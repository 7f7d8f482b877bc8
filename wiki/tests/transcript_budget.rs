//! Issue 17, finding 4 (budgets): a busy day keeps its transcript storage
//! bounded. The publisher is driven directly, one publish per simulated
//! minute, over messages stamped with simulated times (no sleeping): the
//! day's pages keep one revision each, so what is stored is the day's
//! current size, however many times it was republished; and a day bigger
//! than a page's 1 MiB limit is split into parts without losing a message.
//!
//! The figures are printed (`cargo test -p wiki --test transcript_budget
//! -- --nocapture`).

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use plugin::store::{NewMessage, Store as _};
use protocol::UserId;
use wiki::pages::{PagePath, MAX_MARKDOWN_BYTES};
use wiki::store::Store;

/// Simulated minutes, each ending with a publish.
const CYCLES: usize = 40;
/// Messages posted per simulated minute (2 a second).
const PER_CYCLE: usize = 120;

/// Bytes of every revision stored for the pages below `parent`, and of
/// their current text, and how many pages there are.
async fn stored_below(store: &dyn Store, parent: &PagePath) -> (i64, i64, usize) {
    let parent = store.page_by_path(parent).await.unwrap().unwrap();
    let (mut stored, mut current, mut pages) = (0, 0, 0);
    for child in store.children(parent.id).await.unwrap() {
        pages += 1;
        current += child.markdown.len() as i64;
        let mut before = None;
        loop {
            let batch = store.revisions(child.id, before, 200).await.unwrap();
            let Some(last) = batch.last() else { break };
            before = Some(last.id);
            stored += batch.iter().map(|r| r.bytes).sum::<i64>();
        }
    }
    (stored, current, pages)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_day_keeps_transcript_storage_bounded() {
    let common::publishing::Publishing {
        dir: _dir,
        wiki,
        chat,
        publisher,
        room,
    } = common::publishing::publishing("Busy", "Standup").await;
    let date = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let morning = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
    let day_pages = PagePath::parse("Busy/Chat/Standup").unwrap();

    let mut without_bound: i64 = 0;
    let mut seq = 0usize;
    for cycle in 0..CYCLES {
        let batch: Vec<NewMessage> = (0..PER_CYCLE)
            .map(|i| {
                seq += 1;
                NewMessage {
                    room: room.id.clone(),
                    created_at: morning
                        + TimeDelta::minutes(cycle as i64)
                        + TimeDelta::milliseconds(i as i64 * 500),
                    author: UserId::new("alice"),
                    author_name: "Alice".into(),
                    body: format!(
                        "status {seq}: the deploy of build {seq} is {} and {}",
                        ["green", "amber", "red"][seq % 3],
                        "more words ".repeat(12)
                    ),
                    client_msg_id: format!("k{seq}"),
                    reply_to: None,
                    mentions: Vec::new(),
                    files: Vec::new(),
                }
            })
            .collect();
        for appended in chat.append_all(batch).await {
            appended.unwrap();
        }
        publisher.publish_day(&room.id, date).await.unwrap();
        // What keeping every revision would have stored by now.
        without_bound += stored_below(wiki.as_ref(), &day_pages).await.1;
    }

    let (stored, current, parts) = stored_below(wiki.as_ref(), &day_pages).await;
    println!(
        "busy day: {} messages over {CYCLES} publishes -> {parts} page(s), {current} bytes of \
         transcript; stored revisions {stored} bytes (every revision kept would be \
         {without_bound} bytes)",
        CYCLES * PER_CYCLE
    );
    // The bound: what is stored is the day's current text, nothing more.
    assert_eq!(stored, current, "one revision per transcript page");
    assert!(
        current as usize > MAX_MARKDOWN_BYTES,
        "the day should outgrow one page"
    );
    assert!(parts >= 2, "{parts} part(s)");

    // Nothing lost to the cap: every message is on exactly one part.
    let parent = wiki.page_by_path(&day_pages).await.unwrap().unwrap();
    let mut all = String::new();
    for child in wiki.children(parent.id).await.unwrap() {
        assert!(child.markdown.len() <= MAX_MARKDOWN_BYTES, "{}", child.path);
        all.push_str(&child.markdown);
    }
    for n in 1..=seq {
        assert_eq!(
            all.matches(&format!("{{#m-{n}}}")).count(),
            1,
            "message {n}"
        );
    }
}
