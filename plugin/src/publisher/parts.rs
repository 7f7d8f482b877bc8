//! A day too big for one host page, split into parts that fit.
//!
//! The host caps a page's size ([`Host::max_page_bytes`], 1 MiB in the
//! built-in wiki), and a transcript must not lose a day to it. A day that
//! renders bigger is cut, in seq order, into consecutive parts of as many
//! messages as fit (greedy: as the day grows, only its last part changes,
//! so earlier parts are rewritten only when their own messages change).
//! Part 1 is the day's own page (`…/2026-11-22`, where every link points);
//! part k is its sibling `…/2026-11-22 part k`. Each part but the last ends
//! with a link to the next. A reply whose parent sits in another part
//! quotes it as it would a parent on another day.
//!
//! Finding the cut is a doubling then binary search over the number of
//! messages, rendering each candidate: a few renders per part, and only for
//! days over the cap.
//!
//! [`Host::max_page_bytes`]: crate::host::Host::max_page_bytes

use transcript::{Day, TranscriptPage};

/// Bytes kept free in every part for the line that links the next one.
const LINK_ROOM: usize = 512;

/// The page segments and title of part `number` (1 is the day page).
pub(super) fn part_name(slug: &str, number: usize) -> String {
    if number == 1 {
        slug.to_owned()
    } else {
        format!("{slug} part {number}")
    }
}

/// `day` as pages of at most `cap` bytes each: one page when it fits.
pub(super) fn split(day: &Day<'_>, cap: usize) -> anyhow::Result<Vec<TranscriptPage>> {
    let whole = transcript::render_day(day);
    if whole.markdown.len() <= cap {
        return Ok(vec![whole]);
    }
    let budget = cap.saturating_sub(LINK_ROOM);
    let mut messages = day.messages.to_vec();
    messages.sort_by_key(|m| m.seq);
    // Every message of the day may be a parent to a reply in another part.
    let mut parents = day.parents.to_vec();
    parents.extend(messages.iter().cloned());
    let render = |chunk: &[protocol::Message]| {
        transcript::render_day(&Day {
            messages: chunk,
            parents: &parents,
            ..*day
        })
    };
    let fits = |end: usize, start: usize| render(&messages[start..end]).markdown.len() <= budget;

    let mut parts = Vec::new();
    let mut start = 0;
    while start < messages.len() {
        if !fits(start + 1, start) {
            anyhow::bail!(
                "message {} alone renders over the host's page limit of {cap} bytes",
                messages[start].seq
            );
        }
        // Largest `end` with messages[start..end] fitting: double, then bisect.
        let (mut good, mut step) = (start + 1, 1);
        let mut bad = loop {
            let next = (good + step).min(messages.len());
            if next == good {
                break messages.len() + 1;
            }
            if fits(next, start) {
                good = next;
                step *= 2;
            } else {
                break next;
            }
        };
        while bad - good > 1 && good < messages.len() {
            let mid = good + (bad - good) / 2;
            if fits(mid, start) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        parts.push(render(&messages[start..good]));
        start = good;
    }
    let count = parts.len();
    for (index, part) in parts.iter_mut().enumerate() {
        let number = index + 1;
        if let Some(last) = part.segments.last_mut() {
            *last = part_name(&part.slug, number);
        }
        part.title = format!("{} (part {number} of {count})", part.title);
        if number < count {
            let next = part_name(&part.slug, number + 1);
            let link =
                percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC);
            part.markdown.push_str(&format!(
                "\n---\n\nThis day is too long for one page: part {number} of {count}. \
                 It continues in [part {}]({link}).\n",
                number + 1
            ));
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use protocol::{Message, MessageId, RoomId, UserId};

    fn message(seq: u64, body: &str) -> Message {
        Message {
            id: MessageId(format!("m{seq}")),
            room: RoomId::new("r"),
            seq,
            author: UserId::new("alice"),
            author_name: "Alice".into(),
            body: body.into(),
            html: String::new(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
                + chrono::TimeDelta::seconds(seq as i64),
            edited_at: None,
            deleted_at: None,
            reply_to: (seq % 7 == 0).then_some(1),
            client_msg_id: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn a_big_day_splits_into_parts_that_fit_and_keep_every_message() {
        let messages: Vec<Message> = (1..=400)
            .map(|seq| message(seq, &format!("message number {seq} {}", "x".repeat(200))))
            .collect();
        let room = RoomId::new("r");
        let day = Day {
            room_name: "Lobby",
            room_id: &room,
            page_title: "Welcome",
            page_url: "/pages/Welcome",
            date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            zone: chrono_tz::UTC,
            messages: &messages,
            parents: &[],
        };
        let cap = 20_000;
        let parts = split(&day, cap).unwrap();
        assert!(parts.len() > 3, "{} parts", parts.len());
        let count = parts.len();
        for (i, part) in parts.iter().enumerate() {
            assert!(
                part.markdown.len() <= cap,
                "part {i}: {}",
                part.markdown.len()
            );
            let expected = if i == 0 {
                "2026-11-22".to_owned()
            } else {
                format!("2026-11-22 part {}", i + 1)
            };
            assert_eq!(part.segments.last(), Some(&expected));
            assert_eq!(
                part.markdown.contains("It continues in [part"),
                i + 1 < count
            );
        }
        // Every message is on exactly one part, in order.
        let all: String = parts.iter().map(|p| p.markdown.as_str()).collect();
        let mut at = 0;
        for seq in 1..=400 {
            let anchor = format!("{{#m-{seq}}}");
            let found = all[at..]
                .find(&anchor)
                .unwrap_or_else(|| panic!("m{seq} missing"));
            at += found;
            assert_eq!(all.matches(&anchor).count(), 1, "m{seq} once");
        }
        // A day that fits stays one page, unchanged.
        let small = Day {
            messages: &messages[..3],
            ..day
        };
        assert_eq!(
            split(&small, cap).unwrap(),
            vec![transcript::render_day(&small)]
        );
    }
}
