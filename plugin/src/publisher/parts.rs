//! A day too big for one host page, as parts that fit.
//!
//! The host caps a page's size ([`Host::max_page_bytes`], 1 MiB in the
//! built-in wiki), and a transcript must not lose a day to it. A day is
//! cut, in seq order, into consecutive parts of as many messages as fit
//! ([`transcript::render_pages`], greedy): the cuts depend only on the
//! messages from a part's first one on, so as the day grows only its last
//! part changes and a full render cuts exactly where the incremental ones
//! did. The publisher records each part's first seq and rewrites the last
//! part (or one whose messages were edited), never the whole day.
//!
//! Part 1 is the day's own page (`…/2026-11-22`, where every link points);
//! part k is its sibling `…/2026-11-22 part k`. Each part but the last ends
//! with a link to the next; titles say the part's number, not how many
//! there are, so a new part changes only the one before it. A reply whose
//! parent sits in another part links to the room's permalink.
//!
//! [`Host::max_page_bytes`]: crate::host::Host::max_page_bytes

use transcript::{Day, TranscriptPage};

/// Bytes kept free in every part for the line that links the next one.
const LINK_ROOM: usize = 512;

/// The page name of part `number` (1 is the day page).
pub(super) fn part_name(slug: &str, number: usize) -> String {
    if number == 1 {
        slug.to_owned()
    } else {
        format!("{slug} part {number}")
    }
}

/// One part, ready for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    /// Its number in the day, from 1.
    pub number: usize,
    /// The seq of its first message.
    pub first_seq: u64,
    /// How many of the rendered messages it holds.
    pub messages: usize,
    pub page: TranscriptPage,
}

/// How the parts being rendered sit in their day.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place {
    /// The number of the first part rendered.
    pub first: usize,
    /// Whether another part follows the last one rendered (it then links
    /// on, and the day is not one page).
    pub more_follow: bool,
}

/// `day`'s messages (the day's from some part's first message on) as parts
/// of at most `cap` bytes each, numbered from `place.first`.
pub(super) fn split(day: &Day<'_>, cap: usize, place: Place) -> anyhow::Result<Vec<Part>> {
    let pages = transcript::render_pages(day, cap.saturating_sub(LINK_ROOM))?;
    let count = pages.len();
    let one_page_day = place.first == 1 && count == 1 && !place.more_follow;
    let parts = pages
        .into_iter()
        .enumerate()
        .map(|(index, rendered)| {
            let number = place.first + index;
            let mut page = rendered.page;
            if !one_page_day {
                if let Some(last) = page.segments.last_mut() {
                    *last = part_name(&page.slug, number);
                }
                page.title = format!("{} (part {number})", page.title);
            }
            if index + 1 < count || place.more_follow {
                let next = part_name(&page.slug, number + 1);
                let link = percent_encoding::utf8_percent_encode(
                    &next,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                page.markdown.push_str(&format!(
                    "\n---\n\nThis day is too long for one page: this is part {number}. \
                     It continues in [part {}]({link}).\n",
                    number + 1
                ));
            }
            Part {
                number,
                first_seq: rendered.first_seq,
                messages: rendered.messages,
                page,
            }
        })
        .collect();
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
        let whole = Place {
            first: 1,
            more_follow: false,
        };
        let parts = split(&day, cap, whole).unwrap();
        assert!(parts.len() > 3, "{} parts", parts.len());
        let count = parts.len();
        for (i, part) in parts.iter().enumerate() {
            let page = &part.page;
            assert!(
                page.markdown.len() <= cap,
                "part {i}: {}",
                page.markdown.len()
            );
            let expected = if i == 0 {
                "2026-11-22".to_owned()
            } else {
                format!("2026-11-22 part {}", i + 1)
            };
            assert_eq!(page.segments.last(), Some(&expected));
            assert_eq!(page.title, format!("Lobby — 2026-11-22 (part {})", i + 1));
            assert_eq!(
                page.markdown.contains("It continues in [part"),
                i + 1 < count
            );
        }
        // Every message is on exactly one part, in order.
        let all: String = parts.iter().map(|p| p.page.markdown.as_str()).collect();
        let mut at = 0;
        for seq in 1..=400 {
            let anchor = format!("{{#m-{seq}}}");
            let found = all[at..]
                .find(&anchor)
                .unwrap_or_else(|| panic!("m{seq} missing"));
            at += found;
            assert_eq!(all.matches(&anchor).count(), 1, "m{seq} once");
        }
        // Rendering again from the last part's first message gives the
        // same last part: the publisher rewrites only that one.
        let last = parts.last().unwrap();
        let from = messages.len() - last.messages;
        let tail = Day {
            messages: &messages[from..],
            parents: &messages[..from],
            ..day
        };
        let again = split(
            &tail,
            cap,
            Place {
                first: last.number,
                more_follow: false,
            },
        )
        .unwrap();
        assert_eq!(again, vec![last.clone()]);
        // A day that fits stays one page, unchanged.
        let small = Day {
            messages: &messages[..3],
            ..day
        };
        let one = split(&small, cap, whole).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].page, transcript::render_day(&small));
    }
}
