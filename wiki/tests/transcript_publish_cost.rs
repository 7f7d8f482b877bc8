//! Issue 18: publishing a busy day costs what changed, not the size of the
//! day. A day grows to 100,000 messages, published every 5,000 (as the
//! worker would, once a minute on a very busy day); the bytes each publish
//! wrote are counted at the wiki (the revisions it stored), and the
//! messages it read at the publisher. Not timed: the counts do not grow
//! with the day, while the day grows twentyfold.
//!
//! Then: a full publish of the same day (what a rebuild does) writes
//! nothing, because it cuts the day exactly where the incremental publishes
//! did; and an edit deep in the day rewrites only the page that holds it.
//!
//! The figures are printed (`cargo test -p wiki --test
//! transcript_publish_cost -- --nocapture`).

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use plugin::publisher::PART_BYTES;
use plugin::store::{Changed, NewMessage, Store as _};
use protocol::UserId;
use std::collections::BTreeSet;
use wiki::pages::{PagePath, MAX_MARKDOWN_BYTES};
use wiki::store::Store;

const MESSAGES: usize = 100_000;
const PER_PUBLISH: usize = 5_000;

/// What the wiki holds below the day's pages: the newest revision id,
/// the bytes of revisions newer than `since`, how many pages, and their
/// text.
async fn written_since(
    store: &dyn Store,
    parent: &PagePath,
    since: i64,
) -> (i64, usize, Vec<String>) {
    let Some(parent) = store.page_by_path(parent).await.unwrap() else {
        return (since, 0, Vec::new());
    };
    let (mut newest, mut bytes, mut texts) = (since, 0, Vec::new());
    for child in store.children(parent.id).await.unwrap() {
        for revision in store.revisions(child.id, None, 10).await.unwrap() {
            if revision.id > since {
                bytes += revision.bytes as usize;
            }
            newest = newest.max(revision.id);
        }
        texts.push(child.markdown);
    }
    (newest, bytes, texts)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_message_day_publishes_with_bounded_work_each_time() {
    let common::publishing::Publishing {
        dir: _dir,
        wiki,
        chat,
        publisher,
        room,
    } = common::publishing::publishing("Busy", "Ops").await;
    let date = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    // 100,000 messages 0.8 s apart from 00:30 end at 22:43 the same day.
    let start = Utc.with_ymd_and_hms(2026, 11, 22, 0, 30, 0).unwrap();
    let day_pages = PagePath::parse("Busy/Chat/Ops").unwrap();
    let nothing = BTreeSet::new();

    let (mut since, mut rows) = (0, Vec::new());
    for round in 0..MESSAGES / PER_PUBLISH {
        let batch: Vec<NewMessage> = (0..PER_PUBLISH)
            .map(|i| {
                let n = round * PER_PUBLISH + i;
                NewMessage {
                    room: room.id.clone(),
                    created_at: start + TimeDelta::milliseconds(n as i64 * 800),
                    author: UserId::new(["alice", "bob", "carol"][n % 3]),
                    author_name: ["Alice", "Bob", "Carol"][n % 3].into(),
                    body: format!(
                        "build {n} is {} on {}",
                        ["green", "amber", "red"][n % 3],
                        "the staging cluster"
                    ),
                    client_msg_id: format!("k{n}"),
                    reply_to: (n % 50 == 49).then(|| n as u64 - 40),
                    mentions: Vec::new(),
                    files: Vec::new(),
                }
            })
            .collect();
        for appended in chat.append_all(batch).await {
            appended.unwrap();
        }
        let published = publisher
            .publish_changes(&room.id, date, &nothing)
            .await
            .unwrap();
        let (newest, bytes, texts) = written_since(wiki.as_ref(), &day_pages, since).await;
        since = newest;
        let day_bytes: usize = texts.iter().map(String::len).sum();
        rows.push((texts.len(), day_bytes, bytes, published.messages_read));
    }
    println!("publish | day's pages | day's bytes | bytes written | messages read");
    for (i, (pages, day_bytes, bytes, read)) in rows.iter().enumerate() {
        println!(
            "{:>7} | {pages:>11} | {day_bytes:>11} | {bytes:>13} | {read:>13}",
            i + 1
        );
    }

    let (pages, day_bytes, _, _) = *rows.last().unwrap();
    assert!(pages >= 40, "the day should span many pages: {pages}");
    assert!(day_bytes > 10 * MAX_MARKDOWN_BYTES, "{day_bytes} bytes");
    // A publish writes the new messages' pages and rewrites the page that
    // was last (which the new messages filled up): its bytes are the day's
    // growth plus at most one page, whatever the day's size. It reads the
    // new messages plus that page's (a page holds about MESSAGES / pages).
    let per_page = 2 * MESSAGES / pages;
    for (i, pair) in rows.windows(2).enumerate() {
        let (before, now) = (&pair[0], &pair[1]);
        let growth = now.1 - before.1;
        assert!(
            now.2 <= growth + 2 * PART_BYTES,
            "publish {} wrote {} bytes for {growth} bytes of new transcript",
            i + 2,
            now.2
        );
        assert!(
            now.3 <= PER_PUBLISH + per_page,
            "publish {} read {} messages",
            i + 2,
            now.3
        );
    }
    // All publishes together wrote about the day once, not once per publish.
    let total: usize = rows.iter().map(|r| r.2).sum();
    assert!(
        total < day_bytes + rows.len() * PART_BYTES,
        "{total} bytes written for a {day_bytes}-byte day"
    );

    // A full publish cuts where the incremental ones did: nothing changes.
    publisher.publish_day(&room.id, date).await.unwrap();
    let (newest, bytes, texts) = written_since(wiki.as_ref(), &day_pages, since).await;
    assert_eq!(bytes, 0, "the full publish rewrote {bytes} bytes");
    since = newest;
    // Every message is on exactly one page.
    let mut anchors: Vec<usize> = texts
        .iter()
        .flat_map(|text| text.split("{#m-").skip(1))
        .map(|rest| rest[..rest.find('}').unwrap()].parse().unwrap())
        .collect();
    anchors.sort_unstable();
    assert_eq!(anchors, (1..=MESSAGES).collect::<Vec<_>>());

    // An edit deep in the day rewrites the one page holding it.
    let edited = 12_345;
    let changed = chat
        .edit(
            &room.id,
            edited,
            "REWORDED deep in the day".into(),
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(matches!(changed, Changed::Done(_)));
    let published = publisher
        .publish_changes(&room.id, date, &BTreeSet::from([edited]))
        .await
        .unwrap();
    let (_, bytes, texts) = written_since(wiki.as_ref(), &day_pages, since).await;
    println!(
        "edit of m-{edited}: {} page(s) rewritten, {bytes} bytes, {} messages read",
        published.changed, published.messages_read
    );
    assert_eq!(published.changed, 1, "only the page holding m-{edited}");
    assert!(bytes <= PART_BYTES);
    assert!(published.messages_read <= per_page + PER_PUBLISH);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("REWORDED deep in the day"))
            .count(),
        1
    );
}
