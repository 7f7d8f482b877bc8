//! Runs the transcript examples in `specs/*.txt`.
//!
//! Each file is: optional `//` comment lines saying what it shows, a JSON
//! object describing the day, the separator line [`SEPARATOR`], and the
//! exact markdown `render_day` must produce. Message fields default where a
//! spec does not care (`id` is `m<seq>`, `author` the lowercased name).
//! `UPDATE_SPECS=1 cargo test -p transcript --test specs` rewrites the
//! expected markdown from the current output (review the diff!).
//!
//! Every spec is also rendered to HTML and checked for structure: the only
//! top-level headings are the page title and one `<h3 id="m-<seq>">` per
//! message, in order, whatever the bodies contain.

use chrono::{DateTime, NaiveDate, Utc};
use protocol::{Attachment, Message, MessageId, RoomId, UserId};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use transcript::{render_day, render_html, Day, RenderOptions};

const SEPARATOR: &str = "==== expected markdown ====";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecDay {
    room_name: String,
    room_id: String,
    page_title: String,
    page_url: String,
    date: NaiveDate,
    zone: String,
    messages: Vec<SpecMessage>,
    #[serde(default)]
    parents: Vec<SpecMessage>,
    /// Expected `TranscriptPage::title`, if the spec pins it.
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecMessage {
    seq: u64,
    author_name: String,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    body: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    edited_at: Option<DateTime<Utc>>,
    #[serde(default)]
    deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    reply_to: Option<u64>,
    #[serde(default)]
    mentions: Vec<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

impl SpecMessage {
    fn into_message(self, room: &RoomId) -> Message {
        Message {
            id: MessageId::new(format!("m{}", self.seq)),
            room: room.clone(),
            seq: self.seq,
            author: UserId::new(
                self.author
                    .unwrap_or_else(|| self.author_name.to_lowercase()),
            ),
            author_name: self.author_name,
            body: self.body,
            html: String::new(),
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
            reply_to: self.reply_to,
            client_msg_id: None,
            mentions: self.mentions.into_iter().map(UserId::new).collect(),
            attachments: self.attachments,
        }
    }
}

struct Spec {
    path: PathBuf,
    /// Everything up to and including the separator line.
    head: String,
    input: SpecDay,
    expected: String,
}

fn load(path: &Path) -> Spec {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let marker = format!("\n{SEPARATOR}\n");
    let at = text
        .find(&marker)
        .unwrap_or_else(|| panic!("{path:?}: no separator line {SEPARATOR:?}"));
    let head = text[..at + marker.len()].to_owned();
    let json: String = text[..at]
        .lines()
        .filter(|line| !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let input = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{path:?}: bad input: {e}"));
    Spec {
        path: path.to_owned(),
        head,
        input,
        expected: text[at + marker.len()..].to_owned(),
    }
}

fn spec_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no specs in {dir:?}");
    paths
}

/// Where two texts first differ, with a little context, for a failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let expected_lines: Vec<&str> = expected.lines().collect();
    let actual_lines: Vec<&str> = actual.lines().collect();
    let n = expected_lines.len().max(actual_lines.len());
    for i in 0..n {
        let (e, a) = (expected_lines.get(i), actual_lines.get(i));
        if e != a {
            let from = i.saturating_sub(3);
            let mut report = format!("first difference at line {}:\n", i + 1);
            for line in &actual_lines[from.min(actual_lines.len())..i.min(actual_lines.len())] {
                report.push_str(&format!("    {line}\n"));
            }
            report.push_str(&format!("  - {}\n", e.copied().unwrap_or("<end of file>")));
            report.push_str(&format!("  + {}\n", a.copied().unwrap_or("<end of file>")));
            return report;
        }
    }
    "the texts differ only in the final line break".to_owned()
}

/// The top-level headings of `markdown` as rendered: (level, id).
fn top_level_headings(markdown: &str) -> Vec<(HeadingLevel, Option<String>)> {
    let html_opts = RenderOptions {
        heading_ids: true,
        ..RenderOptions::default()
    };
    // The renderer must agree with the parse below: check the ids reach HTML.
    let html = render_html(markdown, &html_opts);
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_WIKILINKS);
    opts.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    let mut depth = 0usize;
    let mut headings = Vec::new();
    for event in Parser::new_ext(markdown, opts) {
        match event {
            Event::Start(Tag::BlockQuote(_) | Tag::List(_)) => depth += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_)) => depth -= 1,
            Event::Start(Tag::Heading { level, id, .. }) if depth == 0 => {
                let id = id.map(|id| id.to_string());
                if let Some(id) = &id {
                    assert!(
                        html.contains(&format!("<h3 id=\"{id}\">")),
                        "id {id} missing from the HTML"
                    );
                }
                headings.push((level, id));
            }
            Event::Html(_) | Event::InlineHtml(_) if depth == 0 => {
                panic!("top-level raw HTML in a transcript")
            }
            _ => {}
        }
    }
    let lower = html.to_ascii_lowercase();
    for bad in ["href=\"javascript", "<script", "<div", "<pre>\nunclosed"] {
        assert!(!lower.contains(bad), "{bad} in the HTML:\n{html}");
    }
    // (Escaped HTML in text keeps its quotes, so count real tags only.)
    let tag_ids: usize = (1..=6)
        .map(|level| html.matches(&format!("<h{level} id=\"")).count())
        .sum();
    assert_eq!(
        tag_ids,
        headings.iter().filter(|(_, id)| id.is_some()).count(),
        "ids outside the message headings:\n{html}"
    );
    headings
}

#[test]
fn specs() {
    let update = std::env::var_os("UPDATE_SPECS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in spec_paths() {
        let spec = load(&path);
        let input = spec.input;
        let zone: chrono_tz::Tz = input.zone.parse().expect("an IANA zone name");
        let room = RoomId::new(input.room_id.clone());
        let mut seqs: Vec<u64> = input.messages.iter().map(|m| m.seq).collect();
        seqs.sort();
        let messages: Vec<Message> = input
            .messages
            .into_iter()
            .map(|m| m.into_message(&room))
            .collect();
        let parents: Vec<Message> = input
            .parents
            .into_iter()
            .map(|m| m.into_message(&room))
            .collect();
        let day = Day {
            room_name: &input.room_name,
            room_id: &room,
            page_title: &input.page_title,
            page_url: &input.page_url,
            date: input.date,
            zone,
            messages: &messages,
            parents: &parents,
        };
        let page = render_day(&day);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();

        if let Some(title) = &input.title {
            assert_eq!(&page.title, title, "{name}: title");
        }
        assert_eq!(page, render_day(&day), "{name}: not deterministic");

        // Structure: the title, then exactly one anchored h3 per message.
        let headings = top_level_headings(&page.markdown);
        let mut expected_headings = vec![(HeadingLevel::H1, None)];
        expected_headings.extend(
            seqs.iter()
                .map(|s| (HeadingLevel::H3, Some(format!("m-{s}")))),
        );
        assert_eq!(
            headings, expected_headings,
            "{name}: a body escaped its message"
        );

        if page.markdown != spec.expected {
            if update {
                std::fs::write(&spec.path, format!("{}{}", spec.head, page.markdown))
                    .unwrap_or_else(|e| panic!("{path:?}: {e}"));
                eprintln!("updated {name}");
            } else {
                failures.push(format!(
                    "{name}: output differs from the spec; {}\n--- full output ---\n{}",
                    first_difference(&spec.expected, &page.markdown),
                    page.markdown
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(UPDATE_SPECS=1 rewrites the expected output)",
        failures.join("\n\n")
    );
}
