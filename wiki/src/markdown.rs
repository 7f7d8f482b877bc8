//! Page markdown to safe HTML, with macros substituted in.
//!
//! The HTML itself comes from [`transcript::render_html`], the project's one
//! safe renderer (raw HTML escaped, links limited to http, https, mailto and
//! relative URLs, `[[Wiki Links]]`). Macros are cut out of the source first
//! and replaced by placeholder words carrying a per-render random nonce; after
//! rendering, each placeholder found in *text* (never inside a tag, where it
//! could have landed in an attribute) is replaced by its expansion. A
//! placeholder that is alone in a paragraph is replaced together with the
//! `<p>` for block macros.

use crate::macros::Expansion;
use std::ops::Range;

/// Byte ranges of code spans and code blocks, where macros are not expanded:
/// the transcript renderer's, so what it leaves unescaped in a quoted
/// message is exactly what the wiki will not expand.
pub fn code_ranges(markdown: &str) -> Vec<Range<usize>> {
    transcript::code_ranges(markdown)
}

/// Page rendering keeps `{#m-<seq>}` heading ids, so transcript pages have
/// one anchor per message matching the popup's permalinks. (Live chat
/// messages render without them, where one message could claim another's.)
fn page_options() -> transcript::RenderOptions {
    transcript::RenderOptions {
        heading_ids: true,
        ..Default::default()
    }
}

/// Renders `markdown`, putting `macros[i].1` where `macros[i].0` stood.
/// Ranges must be sorted and disjoint (as [`crate::macros::scan`] returns).
pub fn render(markdown: &str, macros: &[(Range<usize>, Expansion)]) -> String {
    if macros.is_empty() {
        return transcript::render_html(markdown, &page_options());
    }
    let nonce = format!("{:016x}", rand::random::<u64>());
    let prefix = format!("bcmacro{nonce}n");
    let mut source = String::with_capacity(markdown.len());
    let mut last = 0;
    for (i, (range, _)) in macros.iter().enumerate() {
        source.push_str(&markdown[last..range.start]);
        source.push_str(&format!("{prefix}{i}e"));
        last = range.end;
    }
    source.push_str(&markdown[last..]);

    let mut html = transcript::render_html(&source, &page_options());
    for (i, (_, expansion)) in macros.iter().enumerate() {
        if expansion.block {
            let alone = format!("<p>{prefix}{i}e</p>\n");
            html = html.replacen(&alone, &expansion.html, 1);
        }
    }
    substitute_in_text(&html, &prefix, macros)
}

/// Replaces `{prefix}{i}e` outside tags with the i-th expansion; placeholders
/// inside tags (attributes) are dropped.
fn substitute_in_text(html: &str, prefix: &str, macros: &[(Range<usize>, Expansion)]) -> String {
    let mut out = String::with_capacity(html.len() + 1024);
    let mut in_tag = false;
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with(prefix) {
            let after = &rest[prefix.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && after[digits..].starts_with('e') {
                let index: Option<usize> = after[..digits].parse().ok();
                if let (Some(expansion), false) = (index.and_then(|i| macros.get(i)), in_tag) {
                    out.push_str(&expansion.1.html);
                }
                rest = &after[digits + 1..];
                continue;
            }
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(html: &str) -> Expansion {
        Expansion {
            html: html.to_owned(),
            block: true,
        }
    }

    #[test]
    fn raw_html_is_escaped() {
        let html = render("<script>alert(1)</script>\n\nhi <b onclick=x>", &[]);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b "), "{html}");
    }

    #[test]
    fn block_macros_replace_their_paragraph() {
        let md = "Intro\n\n{chat:Lobby}\n\nOutro";
        let html = render(md, &[(7..19, block("<table>T</table>"))]);
        assert_eq!(html, "<p>Intro</p>\n<table>T</table><p>Outro</p>\n");
    }

    #[test]
    fn inline_macros_stay_in_their_line() {
        let md = "see {x:y} here";
        let html = render(md, &[(4..9, Expansion::error("bad <x>"))]);
        assert_eq!(
            html,
            "<p>see <span class=\"bc-macro-error\">bad &lt;x&gt;</span> here</p>\n"
        );
    }

    #[test]
    fn macros_in_attributes_are_dropped() {
        let md = "[a]({chat:x})";
        let html = render(md, &[(4..12, block("<b>\"evil\"</b>"))]);
        assert!(!html.contains("evil"), "{html}");
    }

    #[test]
    fn code_is_found() {
        let md = "a `{chat:x}` b\n\n```\n{chat:y}\n```\n";
        let ranges = code_ranges(md);
        assert_eq!(ranges.len(), 2);
        assert!(ranges[0].contains(&md.find("{chat:x}").unwrap()));
        assert!(ranges[1].contains(&md.find("{chat:y}").unwrap()));
    }
}
