//! Properties of the renderer and of transcript quoting over generated
//! input (issue 17, "Property tests"): whatever a message says, the HTML
//! has no script, no event handler and no link or image to a scheme other
//! than http, https, mailto or a relative URL; and a message body quoted
//! into a day page stays inside its quote, leaving the next message's
//! heading and body where they were.
//!
//! Inputs are built from fragments an attacker would combine (raw HTML,
//! handlers, entity-encoded and mixed-case schemes, reference definitions,
//! fences, quotes, line endings) plus arbitrary text. Case counts are kept
//! modest so the suite runs in seconds; debug test builds check overflow.

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use protocol::{Message, MessageId, RoomId, UserId};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use transcript::{render_day, render_html, Day, RenderOptions};

/// URL schemes as attackers write them, and the allowed ones.
fn scheme() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("javascript:".to_owned()),
        Just("JaVaScRiPt:".to_owned()),
        Just(" javascript:".to_owned()),
        Just("java\tscript:".to_owned()),
        Just("java&#115;cript:".to_owned()),
        Just("&#106;avascript&colon;".to_owned()),
        Just("&#x6A;&#x61;vascript:".to_owned()),
        Just("jav&#x09;ascript:".to_owned()),
        Just("java%73cript:".to_owned()),
        Just("vbscript:".to_owned()),
        Just("data:text/html,".to_owned()),
        Just("file:".to_owned()),
        Just("http://".to_owned()),
        Just("HTTPS://".to_owned()),
        Just("mailto:".to_owned()),
        Just("/".to_owned()),
        Just("".to_owned()),
        "[a-zA-Z&#;0-9:]{0,12}",
    ]
}

/// A link, image, autolink or reference definition to `scheme + rest`.
fn link() -> impl Strategy<Value = String> {
    (scheme(), "[a-z0-9()/.:%]{0,10}", 0..6u8).prop_map(|(scheme, rest, shape)| {
        let dest = format!("{scheme}{rest}");
        match shape {
            0 => format!("[x]({dest})"),
            1 => format!("![x]({dest})"),
            2 => format!("<{dest}>"),
            3 => format!("[x][r]\n\n[r]: {dest}\n"),
            4 => format!("[x](<{dest}> \"t\")"),
            _ => format!("[[{dest}]]"),
        }
    })
}

/// Raw HTML and markup fragments from the OWASP cheat sheet's classes.
fn html_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<script>alert(1)</script>"),
        Just("<ScRiPt src=//x></ScRiPt>"),
        Just("<img src=x onerror=alert(1)>"),
        Just("<svg onload=alert(1)>"),
        Just("<math><a href=javascript:alert(1)>m</a></math>"),
        Just("<a href=\"javascript:alert(1)\">a</a>"),
        Just("<iframe srcdoc=\"<script>alert(1)</script>\">"),
        Just("\"><img src=x onerror=alert(1)>"),
        Just("' onmouseover='alert(1)"),
        Just("<!-- <img src=x onerror=alert(1)> -->"),
        Just("<div\nonclick=alert(1)>"),
        Just("&lt;script&gt;"),
        Just("{onclick=alert(1)}"),
        Just("### h {#m-1 onclick=alert(1)}"),
        Just("{chat:Room}"),
    ]
    .prop_map(str::to_owned)
}

/// Block structure and line endings.
fn structure() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n"),
        Just("\n\n"),
        Just("\r"),
        Just("\r\n"),
        Just("> "),
        Just("```"),
        Just("~~~"),
        Just("    "),
        Just("\t"),
        Just("- "),
        Just("1. "),
        Just("# "),
        Just("===\n"),
        Just("---\n"),
        Just("| a | b |\n|---|---|\n"),
        Just("\\"),
        Just("`"),
        Just("*"),
        Just("["),
        Just("]"),
        Just("<"),
    ]
    .prop_map(str::to_owned)
}

/// A message body: a run of fragments, or any text at all.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(
            prop_oneof![link(), html_fragment(), structure(), "[a-z ]{0,8}", "\\PC{0,6}"],
            0..12
        )
        .prop_map(|parts| parts.concat()),
        1 => any::<String>(),
    ]
}

/// The tags of rendered HTML with their attributes (`name`, decoded value).
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let inside = &rest[..end];
        rest = &rest[end..];
        let name_end = inside
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inside.len());
        let name = inside[..name_end].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut a = &inside[name_end..];
        loop {
            a = a.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if a.is_empty() {
                break;
            }
            let n_end = a
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(a.len());
            let attr = a[..n_end].to_ascii_lowercase();
            a = &a[n_end..];
            let mut value = String::new();
            if let Some(after) = a.strip_prefix('=') {
                let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
                let (v, next) = match quote {
                    Some(q) => {
                        let body = &after[1..];
                        let close = body.find(q).unwrap_or(body.len());
                        (&body[..close], &body[(close + 1).min(body.len())..])
                    }
                    None => {
                        let close = after.find(char::is_whitespace).unwrap_or(after.len());
                        (&after[..close], &after[close..])
                    }
                };
                value = decode(v);
                a = next;
            }
            attrs.push((attr, value));
        }
        out.push((name, attrs));
    }
    out
}

/// Decodes the entities a browser would in an attribute value.
fn decode(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest.find(';').filter(|&s| s < 12);
        let entity = semi.map(|s| &rest[1..s]);
        let decoded = match entity {
            Some("amp") => Some('&'),
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("quot") => Some('"'),
            Some("colon") => Some(':'),
            Some(e) if e.starts_with("#x") || e.starts_with("#X") => {
                u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            Some(e) if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match (decoded, semi) {
            (Some(c), Some(s)) => {
                out.push(c);
                rest = &rest[s + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A URL attribute's scheme as a browser reads it (controls and spaces
/// dropped, case folded); `None` for a relative URL.
fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let colon = cleaned.find(':')?;
    if cleaned[..colon].contains(['/', '?', '#']) {
        return None;
    }
    Some(cleaned[..colon].to_owned())
}

/// Everything `render_html` promises about its output.
fn assert_safe(html: &str) -> Result<(), TestCaseError> {
    prop_assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    for (name, attrs) in tags(html) {
        prop_assert!(
            !matches!(
                name.as_str(),
                "script"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "svg"
                    | "math"
                    | "style"
                    | "img"
                    | "base"
                    | "form"
                    | "meta"
                    | "link"
            ),
            "<{name}> in {html}"
        );
        for (attr, value) in attrs {
            prop_assert!(!attr.starts_with("on"), "{attr}= in {html}");
            if matches!(attr.as_str(), "href" | "src" | "action" | "formaction") {
                if let Some(scheme) = scheme_of(&value) {
                    prop_assert!(
                        matches!(scheme.as_str(), "http" | "https" | "mailto"),
                        "{attr}={value:?} ({scheme}:) in {html}"
                    );
                }
            }
        }
    }
    Ok(())
}

fn message(seq: u64, author: &str, body: &str) -> Message {
    Message {
        id: MessageId::new(format!("m{seq}")),
        room: RoomId::new("r1"),
        seq,
        author: UserId::new(author),
        author_name: author.into(),
        body: body.into(),
        html: String::new(),
        created_at: Utc
            .with_ymd_and_hms(2026, 11, 22, 8, 15, seq as u32 % 60)
            .single()
            .expect("a valid time"),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        client_msg_id: None,
        mentions: vec![],
        attachments: vec![],
    }
}

/// The marker the message after the hostile one says.
const NEXT: &str = "NEXTMESSAGEBODY";

/// Top-level blocks of a day page between the first message heading and
/// the second one's, and what followed the second heading.
struct Layout {
    /// Top-level block tags between heading `m-1` and heading `m-2`.
    between: Vec<String>,
    /// Whether the second heading (`m-2`, by `bob`) was found at top level.
    second_heading: bool,
    /// Whether `NEXT` was found inside a top-level quote after it.
    next_quoted: bool,
}

fn layout(markdown: &str) -> Layout {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let mut depth = 0usize;
    let mut heading = 0usize;
    let mut top: Option<String> = None;
    let mut between = Vec::new();
    let mut second_heading = false;
    let mut next_quoted = false;
    for event in Parser::new_ext(markdown, opts) {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    if let Tag::Heading { id: Some(id), .. } = &tag {
                        if id.as_ref() == "m-1" {
                            heading = 1;
                        } else if id.as_ref() == "m-2" && heading == 1 {
                            heading = 2;
                            second_heading = true;
                        }
                    }
                    let name = format!("{tag:?}");
                    let name = name.split(['(', ' ', '{']).next().unwrap_or("").to_owned();
                    if heading == 1 && !matches!(tag, Tag::Heading { .. }) {
                        between.push(name.clone());
                    }
                    top = Some(name);
                }
                depth += 1;
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                if depth == 0 && !matches!(end, TagEnd::Heading(_)) {
                    top = None;
                }
            }
            Event::Text(text) if heading == 2 && depth > 0 => {
                if text.contains(NEXT) && top.as_deref() == Some("BlockQuote") {
                    next_quoted = true;
                }
            }
            _ => {
                if depth == 0 && heading == 1 {
                    between.push(format!("{event:?}"));
                }
            }
        }
    }
    Layout {
        between,
        second_heading,
        next_quoted,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn rendered_messages_have_no_script_handler_or_unsafe_scheme(body in body()) {
        assert_safe(&render_html(&body, &RenderOptions::default()))?;
        let page = RenderOptions { heading_ids: true, ..RenderOptions::default() };
        assert_safe(&render_html(&body, &page))?;
    }

    #[test]
    fn a_quoted_body_stays_in_its_quote(body in body()) {
        let room = RoomId::new("r1");
        let messages = [message(1, "alice", &body), message(2, "bob", NEXT)];
        let page = render_day(&Day {
            room_name: "Lobby",
            room_id: &room,
            page_title: "Team",
            page_url: "/pages/Team",
            date: NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date"),
            zone: chrono_tz::UTC,
            messages: &messages,
            parents: &[],
        });
        let found = layout(&page.markdown);
        prop_assert!(found.second_heading, "the next heading was swallowed:\n{}", page.markdown);
        prop_assert!(found.next_quoted, "the next body left its quote:\n{}", page.markdown);
        prop_assert!(
            found.between.iter().all(|block| block == "BlockQuote"),
            "the body left its quote as {:?}:\n{}", found.between, page.markdown
        );
        // The page as a whole renders as safely as a message does.
        let html = render_html(&page.markdown, &RenderOptions { heading_ids: true, ..RenderOptions::default() });
        assert_safe(&html)?;
        prop_assert_eq!(html.matches("id=\"m-2\"").count(), 1, "{}", html);
    }
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The helpers must catch what they are there to catch, or every
    // property passes vacuously.
    let bad = r#"<a href="java&#x09;script:x" onclick="y">a</a><img src="JAVASCRIPT&colon;1">"#;
    let attrs: Vec<_> = tags(bad).into_iter().flat_map(|(_, a)| a).collect();
    assert!(
        attrs.contains(&("href".into(), "java\tscript:x".into())),
        "{attrs:?}"
    );
    assert_eq!(scheme_of("java\tscript:x").as_deref(), Some("javascript"));
    assert_eq!(scheme_of("/pages/a:b"), None);
    assert_eq!(scheme_of("JAVASCRIPT:1").as_deref(), Some("javascript"));
    let mut runner = proptest::test_runner::TestRunner::default();
    let result = runner.run(&Just(bad.to_owned()), |html| assert_safe(&html));
    assert!(result.is_err(), "assert_safe let {bad} through");
    let broken = "### a {#m-1}\n\n> quoted\n\nescaped\n\n### b {#m-2}\n\n> NEXTMESSAGEBODY\n";
    assert_eq!(layout(broken).between, ["BlockQuote", "Paragraph"]);
    let fine = "### a {#m-1}\n\n> quoted\n\n### b {#m-2}\n\n> NEXTMESSAGEBODY\n";
    let fine = layout(fine);
    assert!(fine.second_heading && fine.next_quoted && fine.between == ["BlockQuote"]);
}
