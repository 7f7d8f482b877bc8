//! One room-day as a markdown page: [`render_day`].
//!
//! The page is a header (room, host page, date, time zone, who took part)
//! followed by one section per message:
//!
//! ```text
//! ### [14:03](#m-12 "2026-11-22 14:03:07 CET") · Alice (edited) {#m-12}
//!
//! ↪ Reply to [Bob, 13:58](#m-11): “Shall we move the meeting…”
//!
//! > the message's markdown, one `> ` per line
//!
//! - 📎 [plan.pdf](/files/a1) (1.2 MB)
//! ```
//!
//! # Anchors
//! Each message heading carries the attribute block `{#m-<seq>}`, the id the
//! popup gives the same message, so `…/2026-11-22#m-12` and the popup's
//! `/rooms/<room>#m-12` name the same message. Raw HTML is escaped by
//! [`crate::render_html`], so the anchor cannot be an `<a id>`; heading
//! attributes are markdown (pulldown-cmark, Pandoc, kramdown and
//! markdown-it-attrs read them), and `render_html` turns them into ids when
//! [`crate::RenderOptions::heading_ids`] is on. The time is a link to the
//! message itself whose title is the full local timestamp with its zone
//! abbreviation (as the popup's `<time title>`). On a day when the clocks
//! change, times also show the abbreviation (`02:30 CEST`, `02:30 CET`).
//!
//! # Containment
//! Bodies are written with [`crate::escape`]'s quoting: a body can use any
//! markdown but cannot end its block quote, so it cannot fake or hide the
//! next message's heading. Names, titles and reply excerpts are written as
//! inert text. Link safety (`javascript:` and the like) is left to the
//! renderer, which has to enforce it for every page anyway.
//!
//! # Replies
//! A reply shows its parent's author, time and first 80 characters, linking
//! to `#m-<seq>` on this page, or to `<date>#m-<seq>` (the sibling day page,
//! relative to this one) when the parent was posted on another day, or to
//! the room's permalink `/rooms/<room>#m-<seq>` when the parent was not given.

use crate::calendar::{day_bounds, local_date};
use crate::escape::{
    excerpt, plain_line, push_inline, push_link_dest, push_link_title, push_path_segment,
    push_quoted_body,
};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use protocol::{Attachment, Message, RoomId};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How many characters of a parent message a reply quotes.
const EXCERPT_CHARS: usize = 80;

/// Everything one transcript page is made from.
#[derive(Debug, Clone, Copy)]
pub struct Day<'a> {
    /// The room's display name, for the title and header.
    pub room_name: &'a str,
    /// For permalinks to messages that are not in `messages` or `parents`.
    pub room_id: &'a RoomId,
    /// Title of the host page the room belongs to.
    pub page_title: &'a str,
    /// Where a browser reads the host page; the header links to it.
    pub page_url: &'a str,
    /// The local date this page covers.
    pub date: NaiveDate,
    /// The zone the day and every time on the page are read in (the host
    /// page's zone).
    pub zone: Tz,
    /// The day's messages, as selected with [`crate::day_bounds`]. Rendered
    /// in seq order whatever order they come in. Deleted messages stay in as
    /// tombstones.
    pub messages: &'a [Message],
    /// Messages on other days that the day's replies point to, so a reply
    /// just after midnight can still quote its parent. Extra ones are ignored.
    pub parents: &'a [Message],
}

/// A rendered page, ready for `Host::put_child_page`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptPage {
    /// Plain text, e.g. `Lobby — 2026-11-22`.
    pub title: String,
    /// The date as `YYYY-MM-DD`: stable, sortable, and the page's last path
    /// segment, which reply links across midnight rely on.
    pub slug: String,
    /// Suggested path below the host page: `["Chat", <room name>, <slug>]`.
    pub segments: Vec<String>,
    /// The page body.
    pub markdown: String,
}

/// Where a room's day page lives below the room's host page:
/// `["Chat", <room>, <YYYY-MM-DD>]` (what [`render_day`] puts in
/// `segments`), so a link to it can be asked of the host without rendering.
pub fn day_segments(room_name: &str, date: NaiveDate) -> Vec<String> {
    vec![
        "Chat".to_owned(),
        plain_line(room_name),
        date.format("%Y-%m-%d").to_string(),
    ]
}

/// Renders one room-day. Pure and deterministic: the same `day` always gives
/// the same bytes.
pub fn render_day(day: &Day<'_>) -> TranscriptPage {
    let messages = sorted_by_seq(day.messages);
    let parents = sorted_by_seq(day.parents);
    let clock = Clock::for_day(day);
    let body_bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    let mut body = String::with_capacity(body_bytes + messages.len() * 200);
    let mut names = Names::default();
    for message in &messages {
        names.add(&message.author_name);
        body.push('\n');
        let known = Known {
            page: &messages,
            day: &messages,
            parents: &parents,
        };
        push_message(&mut body, day, &clock, message, &known);
    }
    page(day, &names, &body)
}

/// One page of a day cut to fit ([`render_pages`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPage {
    /// The seq of the page's first message (0 on the page of an empty day).
    pub first_seq: u64,
    /// How many of the day's messages the page holds.
    pub messages: usize,
    pub page: TranscriptPage,
}

/// One message renders bigger than the page budget on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig {
    pub seq: u64,
    pub bytes: usize,
    pub budget: usize,
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "message {} alone renders to {} bytes; a page holds at most {}",
            self.seq, self.bytes, self.budget
        )
    }
}

impl std::error::Error for TooBig {}

/// Renders `day` as consecutive pages of at most `budget` bytes each, cut
/// greedily in seq order: each page holds as many messages as fit, so the
/// cuts depend only on the messages from a page's first one on, and
/// rendering a day again from any page's first message cuts the rest the
/// same way (what lets a publisher rewrite only a busy day's last page).
/// Each message is rendered once (twice where a page ends). A day that fits
/// is one page with exactly [`render_day`]'s bytes.
///
/// Every page has the day's header and title. A reply whose parent is on an
/// earlier page quotes it from `day.parents` and links to the room's
/// permalink.
pub fn render_pages(day: &Day<'_>, budget: usize) -> Result<Vec<DayPage>, TooBig> {
    let messages = sorted_by_seq(day.messages);
    let parents = sorted_by_seq(day.parents);
    let clock = Clock::for_day(day);
    let mut pages = Vec::new();
    let (mut first, mut body, mut names) = (0, String::new(), Names::default());
    let mut section = String::new();
    for (i, message) in messages.iter().enumerate() {
        let render = |section: &mut String, first: usize| {
            section.clear();
            section.push('\n');
            let known = Known {
                page: &messages[first..=i],
                day: &messages,
                parents: &parents,
            };
            push_message(section, day, &clock, message, &known);
        };
        render(&mut section, first);
        let header = names.header_len_with(day, &message.author_name);
        if i > first && header + body.len() + section.len() > budget {
            pages.push(DayPage {
                first_seq: messages[first].seq,
                messages: i - first,
                page: page(day, &names, &body),
            });
            (first, names) = (i, Names::default());
            body.clear();
            // Its parent, if any, is no longer on the same page.
            render(&mut section, first);
        }
        let header = names.header_len_with(day, &message.author_name);
        if header + section.len() > budget {
            return Err(TooBig {
                seq: message.seq,
                bytes: header + section.len(),
                budget,
            });
        }
        names.add(&message.author_name);
        body.push_str(&section);
    }
    pages.push(DayPage {
        first_seq: messages.get(first).map_or(0, |m| m.seq),
        messages: messages.len() - first,
        page: page(day, &names, &body),
    });
    Ok(pages)
}

/// Who takes part on a page, in order of their first message.
#[derive(Default)]
struct Names<'m> {
    order: Vec<&'m str>,
    seen: BTreeSet<&'m str>,
}

impl<'m> Names<'m> {
    fn add(&mut self, name: &'m str) {
        if self.seen.insert(name) {
            self.order.push(name);
        }
    }

    /// The header's length if `name` took part too.
    fn header_len_with(&self, day: &Day<'_>, name: &str) -> usize {
        let mut order = self.order.clone();
        if !self.seen.contains(name) {
            order.push(name);
        }
        let mut header = String::new();
        push_header(&mut header, day, &order);
        header.len()
    }
}

/// A page: the header for `names`, then `body` (the messages' sections).
fn page(day: &Day<'_>, names: &Names<'_>, body: &str) -> TranscriptPage {
    let slug = day.date.format("%Y-%m-%d").to_string();
    let mut markdown = String::with_capacity(512 + body.len());
    push_header(&mut markdown, day, &names.order);
    markdown.push_str(body);
    TranscriptPage {
        title: format!("{} — {slug}", plain_line(day.room_name)),
        segments: day_segments(day.room_name, day.date),
        slug,
        markdown,
    }
}

/// The header: room, host page, date, zone, who took part (`names`, in
/// order), then the rule before the first message ("No messages." when
/// there are none).
fn push_header(out: &mut String, day: &Day<'_>, names: &[&str]) {
    let (start, end) = day_bounds(day.date, day.zone);
    let clocks_changed = end - start != TimeDelta::hours(24);
    out.push_str("# ");
    push_inline(out, day.room_name);
    out.push_str(" — ");
    let _ = write!(out, "{}", day.date.format("%Y-%m-%d"));
    out.push_str("\n\nChat transcript of **");
    push_inline(out, day.room_name);
    out.push_str("** on ");
    if day.page_url.is_empty() {
        push_inline(out, day.page_title);
    } else {
        out.push('[');
        push_inline(out, day.page_title);
        out.push_str("](");
        push_link_dest(out, day.page_url);
        out.push(')');
    }
    let _ = write!(
        out,
        ", {}. Times are {}",
        day.date.format("%A %-d %B %Y"),
        day.zone.name()
    );
    if clocks_changed {
        let _ = write!(
            out,
            " (the clocks changed: this day has {} hours)",
            (end - start).num_hours()
        );
    }
    out.push_str(".\n\n");
    if names.is_empty() {
        out.push_str("No messages.\n");
    } else {
        out.push_str("Taking part: ");
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_inline(out, name);
        }
        out.push_str(".\n\n---\n");
    }
}

/// `messages` in seq order, without copying them.
fn sorted_by_seq(messages: &[Message]) -> Vec<&Message> {
    let mut sorted: Vec<&Message> = messages.iter().collect();
    sorted.sort_by_key(|m| m.seq);
    sorted
}

/// The messages a reply's parent is looked up in, each sorted by seq.
struct Known<'a, 'm> {
    /// On the page being rendered: linked within it.
    page: &'a [&'m Message],
    /// The rest of the day (on other pages).
    day: &'a [&'m Message],
    /// Other days', and the day's own not given in full.
    parents: &'a [&'m Message],
}

/// Finds a message by seq in a list sorted by seq.
fn find<'m>(sorted: &[&'m Message], seq: u64) -> Option<&'m Message> {
    sorted
        .binary_search_by_key(&seq, |m| m.seq)
        .ok()
        .and_then(|i| sorted.get(i).copied())
}

/// Writes local times.
struct Clock {
    zone: Tz,
    /// Add the zone abbreviation to short times (on days the clocks change,
    /// when the same `HH:MM` can happen twice).
    with_zone: bool,
}

impl Clock {
    /// The clock for `day`'s page: its zone, with abbreviations on a day
    /// the clocks change.
    fn for_day(day: &Day<'_>) -> Self {
        let (start, end) = day_bounds(day.date, day.zone);
        Self {
            zone: day.zone,
            with_zone: end - start != TimeDelta::hours(24),
        }
    }

    /// `14:03`, or `14:03 CET` on a day the clocks change.
    fn push_short(&self, out: &mut String, t: DateTime<Utc>) {
        let local = t.with_timezone(&self.zone);
        push_two(out, local.hour());
        out.push(':');
        push_two(out, local.minute());
        if self.with_zone {
            let _ = write!(out, " {}", local.offset());
        }
    }

    /// `2026-11-22 14:03:07 CET`, as the popup's time title.
    fn push_full(&self, out: &mut String, t: DateTime<Utc>) {
        let local = t.with_timezone(&self.zone);
        let _ = write!(out, "{:04}-", local.year());
        push_two(out, local.month());
        out.push('-');
        push_two(out, local.day());
        out.push(' ');
        push_two(out, local.hour());
        out.push(':');
        push_two(out, local.minute());
        out.push(':');
        push_two(out, local.second());
        let _ = write!(out, " {}", local.offset());
    }
}

fn push_two(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

fn push_message(
    out: &mut String,
    day: &Day<'_>,
    clock: &Clock,
    message: &Message,
    known: &Known<'_, '_>,
) {
    // Heading: linked time, author, edit mark, anchor.
    let _ = write!(out, "### [");
    clock.push_short(out, message.created_at);
    let _ = write!(out, "](#m-{} \"", message.seq);
    let mut title = String::with_capacity(32);
    clock.push_full(&mut title, message.created_at);
    push_link_title(out, &title);
    out.push_str("\") · ");
    push_inline(out, &message.author_name);
    if message.edited_at.is_some() && message.deleted_at.is_none() {
        out.push_str(" (edited)");
    }
    let _ = writeln!(out, " {{#m-{}}}", message.seq);
    out.push('\n');

    if message.deleted_at.is_some() {
        out.push_str("*(message deleted)*\n");
        return;
    }

    if let Some(parent_seq) = message.reply_to {
        push_reply(out, day, clock, parent_seq, known);
    }

    if !message.body.trim().is_empty() {
        match message.action() {
            // An action line: "\* Alice waves".
            Some(text) => {
                let mut line = String::from("\\* ");
                push_inline(&mut line, &message.author_name);
                line.push(' ');
                line.push_str(text);
                push_quoted_body(out, &line);
            }
            None => push_quoted_body(out, &message.body),
        }
    }

    if !message.attachments.is_empty() {
        if !message.body.trim().is_empty() {
            out.push('\n');
        }
        for attachment in &message.attachments {
            push_attachment(out, attachment);
        }
    }
}

fn push_reply(
    out: &mut String,
    day: &Day<'_>,
    clock: &Clock,
    parent_seq: u64,
    known: &Known<'_, '_>,
) {
    out.push_str("↪ Reply to [");
    let parent = find(known.page, parent_seq)
        .or_else(|| find(known.day, parent_seq))
        .or_else(|| find(known.parents, parent_seq));
    let Some(parent) = parent else {
        let _ = write!(out, "message {parent_seq}](/rooms/");
        push_path_segment(out, day.room_id.as_str());
        let _ = writeln!(out, "#m-{parent_seq})\n");
        return;
    };
    push_inline(out, &parent.author_name);
    out.push_str(", ");
    clock.push_short(out, parent.created_at);
    let parent_date = local_date(parent.created_at, day.zone);
    let on_this_page = find(known.page, parent_seq).is_some();
    if on_this_page {
        let _ = write!(out, "](#m-{parent_seq})");
    } else if parent_date == day.date {
        // Earlier on the same day, on another of its pages.
        out.push_str("](/rooms/");
        push_path_segment(out, day.room_id.as_str());
        let _ = write!(out, "#m-{parent_seq})");
    } else {
        let _ = write!(out, " on {parent_date}]({parent_date}#m-{parent_seq})");
    }
    out.push_str(": ");
    if parent.deleted_at.is_some() {
        out.push_str("*(message deleted)*");
    } else {
        out.push('“');
        push_inline(out, &excerpt(&parent.body, EXCERPT_CHARS));
        out.push('”');
    }
    out.push_str("\n\n");
}

fn push_attachment(out: &mut String, attachment: &Attachment) {
    out.push_str("- 📎 [");
    push_inline(out, &attachment.name);
    out.push_str("](");
    push_link_dest(out, &attachment.url);
    out.push_str(") (");
    protocol::size::push_size(out, attachment.size);
    out.push_str(")\n");
}
