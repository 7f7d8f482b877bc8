//! Chat markdown to safe HTML: the one renderer used live (the server's
//! `html` on every message it sends), on the no-JavaScript room page and on
//! transcript pages.
//!
//! Safety comes from rewriting the event stream, not from sanitising output:
//! raw HTML events become text (so they are escaped), link and image targets
//! outside an allow-list of schemes lose their link, and images become plain
//! links so a message cannot load remote content into everyone's view.
//!
//! Heading ids (`### Title {#m-12}`) are off by default and only honoured
//! when [`RenderOptions::heading_ids`] asks for them: transcript pages use
//! them as per-message anchors, but in a live chat message they would let
//! one message claim another's `m-{seq}` id. Even then only ids of the form
//! `m-<digits>` on top-level headings survive (never inside a quote or list,
//! which is where transcript bodies live), and classes and other attributes
//! are always dropped, since `{onclick=...}` would otherwise reach the HTML.

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Rendering choices that differ between the live chat and whole pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Prefix for `[[Page Name]]` links; the page name follows, URL-encoded.
    pub wiki_link_base: String,
    /// Parse heading attribute blocks and keep `{#m-<seq>}` ids on top-level
    /// headings, so a transcript page gets one anchor per message. Off by
    /// default: a live message must not be able to claim another's id.
    pub heading_ids: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            wiki_link_base: "/pages/".to_owned(),
            heading_ids: false,
        }
    }
}

/// Renders chat markdown as HTML that is safe to insert into a page.
pub fn render_html(markdown: &str, options: &RenderOptions) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_WIKILINKS);
    if options.heading_ids {
        opts.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    }

    let mut in_unsafe_link = 0usize;
    // How many block containers (quotes, list items, ...) enclose the event.
    let mut container_depth = 0usize;
    let events = Parser::new_ext(markdown, opts).filter_map(|event| match event {
        Event::Start(
            Tag::BlockQuote(_)
            | Tag::Item
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionListDefinition,
        ) => {
            container_depth += 1;
            Some(event)
        }
        Event::End(
            TagEnd::BlockQuote(_)
            | TagEnd::Item
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionListDefinition,
        ) => {
            container_depth = container_depth.saturating_sub(1);
            Some(event)
        }
        Event::Start(Tag::Heading { level, id, .. }) => Some(Event::Start(Tag::Heading {
            level,
            id: id.filter(|id| container_depth == 0 && is_message_anchor(id)),
            classes: Vec::new(),
            attrs: Vec::new(),
        })),
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if matches!(link_type, LinkType::WikiLink { .. }) {
                CowStr::from(format!(
                    "{}{}",
                    options.wiki_link_base,
                    encode_path(&dest_url)
                ))
            } else {
                dest_url
            };
            if is_safe_url(&dest_url) {
                Some(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }))
            } else {
                in_unsafe_link += 1;
                None
            }
        }
        Event::End(TagEnd::Link) if in_unsafe_link > 0 => {
            in_unsafe_link -= 1;
            None
        }
        // An image becomes a link to it, showing its alt text.
        Event::Start(Tag::Image {
            dest_url,
            title,
            id,
            ..
        }) => {
            if is_safe_url(&dest_url) {
                Some(Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url,
                    title,
                    id,
                }))
            } else {
                in_unsafe_link += 1;
                None
            }
        }
        Event::End(TagEnd::Image) => {
            if in_unsafe_link > 0 {
                in_unsafe_link -= 1;
                None
            } else {
                Some(Event::End(TagEnd::Link))
            }
        }
        other => Some(other),
    });

    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2 + 16);
    html::push_html(&mut out, events);
    out
}

/// True for `m-` followed by ASCII digits: the only heading id a page keeps.
fn is_message_anchor(id: &str) -> bool {
    id.strip_prefix("m-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// True for URLs a message may link to: http, https, mailto, or relative
/// (no scheme at all, e.g. `/pages/Foo` or `#m-12`).
fn is_safe_url(url: &str) -> bool {
    let trimmed = url.trim_start();
    match trimmed.find(':') {
        None => true,
        Some(colon) => {
            let before = &trimmed[..colon];
            // A colon after a '/', '?' or '#' is part of a relative path, not a scheme.
            if before.contains(['/', '?', '#']) {
                return true;
            }
            let scheme = before.to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// Percent-encodes a page name for use in a URL path, keeping `/` so nested
/// page paths stay readable.
fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.trim().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(md: &str) -> String {
        render_html(md, &RenderOptions::default())
    }

    #[test]
    fn raw_html_is_escaped() {
        assert_eq!(
            render("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert!(!render("a <b onclick=x>b</b>").contains("<b "));
    }

    #[test]
    fn javascript_links_lose_their_link() {
        let html = render("[click](javascript:alert(1))");
        assert_eq!(html, "<p>click</p>\n");
        let html = render("[click]( JavaScript:alert(1))");
        assert!(!html.contains("href"), "{html}");
        let html = render("<javascript:alert(1)>");
        assert!(!html.contains("href"), "{html}");
    }

    #[test]
    fn allowed_links_survive() {
        assert_eq!(
            render("[a](https://example.com/x)"),
            "<p><a href=\"https://example.com/x\">a</a></p>\n"
        );
        assert!(render("[m](mailto:a@b.c)").contains("href=\"mailto:a@b.c\""));
        assert!(render("[p](/pages/A:B)").contains("href=\"/pages/A:B\""));
    }

    #[test]
    fn images_become_links() {
        let html = render("![cat](https://example.com/cat.png)");
        assert_eq!(
            html,
            "<p><a href=\"https://example.com/cat.png\">cat</a></p>\n"
        );
        assert!(!render("![x](data:text/html,boom)").contains("href"));
    }

    #[test]
    fn wiki_links_point_at_host_pages() {
        assert_eq!(
            render("see [[Team Plan]]"),
            "<p>see <a href=\"/pages/Team%20Plan\">Team Plan</a></p>\n"
        );
    }

    fn render_with_ids(md: &str) -> String {
        let options = RenderOptions {
            heading_ids: true,
            ..RenderOptions::default()
        };
        render_html(md, &options)
    }

    #[test]
    fn message_anchors_render_as_heading_ids_when_asked() {
        assert_eq!(
            render_with_ids("### 14:03 · Alice {#m-12}"),
            "<h3 id=\"m-12\">14:03 · Alice</h3>\n"
        );
        // Off by default: a live message cannot claim an id.
        assert_eq!(render("### Alice {#m-12}"), "<h3>Alice {#m-12}</h3>\n");
    }

    #[test]
    fn heading_attributes_cannot_smuggle_anything() {
        let html = render_with_ids("# x {#m-1 .bc-msg onclick=alert(1) style=x}");
        assert_eq!(html, "<h1 id=\"m-1\">x</h1>\n");
        assert_eq!(render_with_ids("# x {#main}"), "<h1>x</h1>\n");
        assert_eq!(render_with_ids("# x {#m-1x}"), "<h1>x</h1>\n");
        // Inside a quote or a list (where transcript bodies live), no ids.
        let html = render_with_ids("> # x {#m-1}\n\n- # y {#m-2}\n");
        assert!(!html.contains("id="), "{html}");
    }

    #[test]
    fn code_blocks_stay_preformatted() {
        let html = render("```\nfn main() { <x> }\n```");
        assert_eq!(html, "<pre><code>fn main() { &lt;x&gt; }\n</code></pre>\n");
    }
}
