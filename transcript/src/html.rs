//! Chat markdown to safe HTML: the one renderer used live (in the wasm UI),
//! on the no-JavaScript room page and on transcript pages.
//!
//! Safety comes from rewriting the event stream, not from sanitising output:
//! raw HTML events become text (so they are escaped), link and image targets
//! outside an allow-list of schemes lose their link, and images become plain
//! links so a message cannot load remote content into everyone's view.

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// How wiki links are turned into URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Prefix for `[[Page Name]]` links; the page name follows, URL-encoded.
    pub wiki_link_base: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            wiki_link_base: "/pages/".to_owned(),
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

    let mut in_unsafe_link = 0usize;
    let events = Parser::new_ext(markdown, opts).filter_map(|event| match event {
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

    #[test]
    fn code_blocks_stay_preformatted() {
        let html = render("```\nfn main() { <x> }\n```");
        assert_eq!(html, "<pre><code>fn main() { &lt;x&gt; }\n</code></pre>\n");
    }
}
