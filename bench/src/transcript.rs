//! The transcript scenario: how long rendering one busy day takes, and how
//! many markdown bytes a message costs on the page.
//!
//! In process, no server: the publisher's cost per refresh is
//! `transcript::render_day` (the store read and the page write around it are
//! measured by the history and write scenarios). The day is 10,000 messages
//! spread over the day in a zone with a DST rule, in the mix a team chat
//! has: mostly one-liners, some with links, mentions and code, a share of
//! replies, edits and deletions.

use crate::report::Row;
use ::transcript::{render_day, Day};
use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use protocol::{Message, MessageId, RoomId, UserId};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Messages on the measured day.
pub const MESSAGES: u64 = 10_000;
/// The aim for one render, in milliseconds.
const AIM_MS: f64 = 20.0;

/// What one scenario run found.
#[derive(Debug, Serialize)]
pub struct Rendering {
    pub messages: u64,
    pub runs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub markdown_bytes: usize,
    pub bytes_per_message: f64,
    pub body_bytes_per_message: f64,
}

/// Renders the day `runs` times (after one warm-up) and reports the spread.
pub fn measure(runs: usize) -> Rendering {
    let room = RoomId::new("bench-transcript");
    let messages = busy_day(&room);
    let day = Day {
        room_name: "Lobby",
        room_id: &room,
        page_title: "Team",
        page_url: "/pages/Team",
        date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
        zone: chrono_tz::Europe::Berlin,
        messages: &messages,
        parents: &[],
    };
    let markdown_bytes = render_day(&day).markdown.len();
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            let page = render_day(&day);
            let took = started.elapsed();
            // Keep the optimiser from dropping the work.
            std::hint::black_box(page);
            took
        })
        .collect();
    times.sort_unstable();
    let at = |q: f64| {
        let index = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[index].as_secs_f64() * 1000.0
    };
    let body_bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    Rendering {
        messages: MESSAGES,
        runs: times.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        markdown_bytes,
        bytes_per_message: markdown_bytes as f64 / MESSAGES as f64,
        body_bytes_per_message: body_bytes as f64 / MESSAGES as f64,
    }
}

/// The report row for a run of `measure`.
pub fn row(rendering: &Rendering) -> Row {
    Row {
        scenario: format!(
            "render one transcript day of {} messages; transcript bytes per message",
            crate::thousands(rendering.messages)
        ),
        aim: format!("< {AIM_MS:.0} ms"),
        measured: format!(
            "p50 {:.1} ms, p99 {:.1} ms ({} runs); {:.0} bytes/message ({:.0} of them body)",
            rendering.p50_ms,
            rendering.p99_ms,
            rendering.runs,
            rendering.bytes_per_message,
            rendering.body_bytes_per_message
        ),
        baseline: None,
        percent_of_baseline: None,
        met: Some(rendering.p99_ms < AIM_MS),
        note: None,
        detail: serde_json::to_value(rendering).unwrap_or_default(),
    }
}

/// 10,000 messages between 00:00 and 23:59 Berlin time on one day, from 17
/// people, in a fixed mix (deterministic, so runs compare).
fn busy_day(room: &RoomId) -> Vec<Message> {
    // 2026-11-22 00:00 in Berlin is 2026-11-21 23:00 UTC; 8.6 s apart, the
    // last message lands at 23:53.
    let start = Utc
        .with_ymd_and_hms(2026, 11, 21, 23, 0, 0)
        .single()
        .unwrap_or_default();
    (1..=MESSAGES)
        .map(|seq| {
            let created_at = start + TimeDelta::milliseconds(seq as i64 * 8_600);
            let person = seq % 17;
            let body = match seq % 10 {
                0 => format!(
                    "Here is the fix for #{seq}:\n\n```rust\nlet total = items.iter().sum::<u64>();\n```"
                ),
                1 | 4 => format!("@user{} can you look at [the plan](https://example.com/plan/{seq})?", (seq + 3) % 17),
                2 => "Sounds good to me, **let's ship it** after lunch.".to_owned(),
                3 => format!("- one\n- two\n- item {seq} with `inline code`"),
                _ => format!("ok, message {seq}: short and plain"),
            };
            Message {
                id: MessageId::new(format!("m{seq}")),
                room: room.clone(),
                seq,
                author: UserId::new(format!("user{person}")),
                author_name: format!("User {person}"),
                body: if seq % 97 == 0 { String::new() } else { body },
                html: String::new(),
                created_at,
                edited_at: (seq % 23 == 0).then(|| created_at + TimeDelta::seconds(30)),
                deleted_at: (seq % 97 == 0).then(|| created_at + TimeDelta::minutes(5)),
                reply_to: (seq % 7 == 0 && seq > 3).then(|| seq - 3),
                client_msg_id: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_renders_and_is_measured() {
        let rendering = measure(3);
        // `cargo test -p bench --release transcript -- --nocapture` shows
        // the figures without the whole bench run.
        println!("{}", row(&rendering).measured);
        assert_eq!(rendering.runs, 3);
        assert!(rendering.p50_ms > 0.0 && rendering.p50_ms <= rendering.p99_ms);
        assert!(
            rendering.bytes_per_message > rendering.body_bytes_per_message,
            "each message carries its author, time and anchor"
        );
    }
}
