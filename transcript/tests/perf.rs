//! How long a busy day takes to render. Ignored by default (timing depends on
//! the machine and the build profile); run it in release:
//! `cargo test -p transcript --release --test perf -- --ignored --nocapture`.

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use protocol::{Message, MessageId, RoomId, UserId};
use std::time::{Duration, Instant};
use transcript::{render_day, Day};

#[test]
#[ignore]
fn ten_thousand_messages_render_in_well_under_20_ms() {
    let room = RoomId::new("r1");
    let start = Utc.with_ymd_and_hms(2026, 11, 21, 23, 0, 0).unwrap();
    let messages: Vec<Message> = (1..=10_000u64)
        .map(|seq| Message {
            id: MessageId::new(format!("m{seq}")),
            room: room.clone(),
            seq,
            author: UserId::new(format!("user{}", seq % 17)),
            author_name: format!("User {}", seq % 17),
            body: format!(
                "Message {seq} with **some** markdown, a [link](https://example.com/{seq}) and\n\
                 a second line; `code` too.\n\n```\nlet x = {seq};\n```"
            ),
            html: String::new(),
            created_at: start + TimeDelta::milliseconds(i64::try_from(seq).unwrap() * 8_000),
            edited_at: None,
            deleted_at: None,
            reply_to: (seq % 5 == 0).then(|| seq - 3),
            client_msg_id: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
        })
        .collect();
    let day = Day {
        room_name: "Lobby",
        room_id: &room,
        page_title: "Team",
        page_url: "/pages/Team",
        date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        zone: chrono_tz::Europe::Berlin,
        messages: &messages,
        parents: &[],
    };
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let page = render_day(&day);
        best = best.min(t.elapsed());
        bytes = page.markdown.len();
    }
    println!("10,000 messages, {bytes} bytes of markdown: best of 5 {best:?}");
    assert!(best < Duration::from_millis(20), "took {best:?}");
}
