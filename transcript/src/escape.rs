//! Writing untrusted text into generated markdown without letting it change
//! the structure around it.
//!
//! Two tools: [`push_inline`] turns any text into inert inline markdown (one
//! line, every character with a markdown meaning backslash-escaped), and
//! [`push_quoted_body`] keeps a whole message body's markdown working while
//! fencing it into a block quote it cannot leave.
//!
//! Why a block quote contains a body: every body line is written behind
//! `> `, and a line break is recognised wherever CommonMark recognises one
//! (`\n`, `\r\n` and a lone `\r`), so no body line reaches the page without
//! the marker. Whatever the body opens inside the quote (a fence, an HTML
//! block, a list, a setext heading) is closed when the quote ends at the
//! blank line after it. Two things still reach past a container, and are
//! handled here:
//! - link reference definitions (`[x]: https://...`) apply to the whole
//!   page, so one message could define or hijack links in another; the `[`
//!   that would start one is escaped, so it shows as text;
//! - an unclosed code fence is closed by the quote in CommonMark, but not by
//!   every markdown renderer a host might use, so a closing fence is added;
//! - the host wiki expands macros (`{chat:Room}`) anywhere in a page outside
//!   code, so a message quoting one would make every view of its transcript
//!   open that room; the `{` that would start one is escaped (`\{` shows
//!   as `{`, and the wiki leaves a backslashed brace alone). Inside code it
//!   is already inert and stays as written.

/// ASCII characters that can start or end markdown syntax in running text.
/// Escaping all of them (CommonMark allows escaping any ASCII punctuation)
/// would be just as safe but noisier in the page source.
const INLINE_SPECIAL: &[u8] = b"\\`*_[]<>|~&#{}";

/// Writes `text` as literal inline markdown on one line: control characters
/// (line breaks included) become spaces and markdown punctuation is escaped.
pub(crate) fn push_inline(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else {
            if c.is_ascii() && INLINE_SPECIAL.contains(&(c as u8)) {
                out.push('\\');
            }
            out.push(c);
        }
    }
}

/// Text for a plain-text field (a page title): one line, no control characters.
pub(crate) fn plain_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The first `max_chars` characters of `text` with whitespace runs folded
/// into single spaces, and `…` when something was cut.
pub(crate) fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4) + 4);
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max_chars {
                out.truncate(out.trim_end().len());
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// Writes a link destination: backslash-escapes what would end it early and
/// percent-encodes whitespace and control characters.
pub(crate) fn push_link_dest(out: &mut String, url: &str) {
    for c in url.chars() {
        match c {
            '(' | ')' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_whitespace() || c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    push_percent(out, byte);
                }
            }
            c => out.push(c),
        }
    }
}

/// Writes `text` as one URL path segment: everything but unreserved
/// characters is percent-encoded, `/` included.
pub(crate) fn push_path_segment(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => {
                out.push(char::from(byte))
            }
            _ => push_percent(out, byte),
        }
    }
}

fn push_percent(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(byte >> 4)] as char);
    out.push(HEX[usize::from(byte & 0xF)] as char);
}

/// Writes a link title for use inside `"..."`.
pub(crate) fn push_link_title(out: &mut String, title: &str) {
    for c in title.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// An open code fence: its character and length.
#[derive(Clone, Copy)]
struct Fence {
    ch: u8,
    len: usize,
}

/// Writes `body` as a block quote, one `> ` per line, ending with a line
/// break. See the module docs for what this contains and why.
pub(crate) fn push_quoted_body(out: &mut String, body: &str) {
    // Trailing blank lines and spaces change nothing but the page source.
    let body = body.trim_end_matches(['\n', '\r', ' ', '\t']);
    let macros = macro_openings(body);
    let mut open: Option<Fence> = None;
    let mut rest = body;
    let mut offset = 0;
    loop {
        let (line, next) = split_line(rest);
        let line_start = offset;
        if line.is_empty() {
            out.push('>');
        } else {
            out.push_str("> ");
            let escape_at = match open {
                Some(fence) => {
                    if closes(line, fence) {
                        open = None;
                    }
                    None
                }
                None => {
                    open = opens(line);
                    if open.is_some() {
                        None
                    } else {
                        reference_definition_start(line, &body[line_start..])
                    }
                }
            };
            let mut escapes: Vec<usize> = macros
                .iter()
                .filter_map(|&at| at.checked_sub(line_start))
                .filter(|&at| at < line.len())
                .chain(escape_at)
                .collect();
            escapes.sort_unstable();
            push_expanding_leading_tabs(out, line, &escapes);
        }
        out.push('\n');
        match next {
            Some(next_start) => {
                offset += next_start;
                rest = &rest[next_start..];
            }
            None => break,
        }
    }
    if let Some(fence) = open {
        out.push_str("> ");
        for _ in 0..fence.len {
            out.push(char::from(fence.ch));
        }
        out.push('\n');
    }
}

/// The first line of `text` without its line ending, and where the next line
/// starts (`None` for the last line). `\n`, `\r\n` and `\r` all end a line.
fn split_line(text: &str) -> (&str, Option<usize>) {
    match text.find(['\n', '\r']) {
        None => (text, None),
        Some(i) => {
            let ending = if text[i..].starts_with("\r\n") { 2 } else { 1 };
            (&text[..i], Some(i + ending))
        }
    }
}

/// Writes `line` with tabs in its leading whitespace expanded to spaces (tab
/// stops of 4), so indentation means the same behind `> ` as it did alone;
/// with a backslash inserted before each byte offset in `escapes` (sorted).
fn push_expanding_leading_tabs(out: &mut String, line: &str, escapes: &[usize]) {
    let mut column = 0;
    let mut indent_end = line.len();
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => {
                out.push(' ');
                column += 1;
            }
            b'\t' => {
                let width = 4 - column % 4;
                for _ in 0..width {
                    out.push(' ');
                }
                column += width;
            }
            _ => {
                indent_end = i;
                break;
            }
        }
    }
    let text = &line[indent_end..];
    let mut written = 0;
    for at in escapes.iter().filter_map(|at| at.checked_sub(indent_end)) {
        if at < written || !text.is_char_boundary(at) {
            continue;
        }
        out.push_str(&text[written..at]);
        out.push('\\');
        written = at;
    }
    out.push_str(&text[written..]);
}

/// Byte offsets in `body` of each `{` that would start a wiki macro
/// (`{key:...}` or `{key}`, `key` a letter then letters, digits, `-`, `_`)
/// outside code and not already after a backslash.
fn macro_openings(body: &str) -> Vec<usize> {
    if !body.contains('{') {
        return Vec::new();
    }
    let code = code_ranges(body);
    let bytes = body.as_bytes();
    body.match_indices('{')
        .map(|(at, _)| at)
        .filter(|&at| at == 0 || bytes[at - 1] != b'\\')
        .filter(|&at| starts_macro(&body[at + 1..]))
        .filter(|&at| !code.iter().any(|range| range.contains(&at)))
        .collect()
}

/// True if `rest` (what follows a `{`) reads as a macro key and then `:`
/// or `}`.
fn starts_macro(rest: &str) -> bool {
    let key = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && matches!(rest.as_bytes().get(key), Some(b':' | b'}'))
}

/// Byte ranges of the code spans and code blocks in `markdown`: where a
/// host wiki leaves macro syntax alone (the wiki finds its macros with
/// this too, so the two always agree).
pub fn code_ranges(markdown: &str) -> Vec<std::ops::Range<usize>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_TASKLISTS);
    opts.insert(Options::ENABLE_WIKILINKS);
    let mut ranges = Vec::new();
    let mut block_start = None;
    for (event, range) in Parser::new_ext(markdown, opts).into_offset_iter() {
        match event {
            Event::Code(_) => ranges.push(range),
            Event::Start(Tag::CodeBlock(_)) => block_start = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(start) = block_start.take() {
                    ranges.push(start..range.end);
                }
            }
            _ => {}
        }
    }
    ranges
}

/// Up to three spaces of indentation: the width CommonMark allows before a
/// fence (four would make an indented code line).
fn fence_indent(line: &str) -> Option<&str> {
    let spaces = line.bytes().take_while(|&b| b == b' ').count();
    (spaces <= 3).then(|| &line[spaces..])
}

/// The fence `line` opens, if it is an opening code fence.
fn opens(line: &str) -> Option<Fence> {
    let text = fence_indent(line)?;
    let ch = *text.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = text.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    // A backtick fence's info string may not contain a backtick.
    if ch == b'`' && text[len..].contains('`') {
        return None;
    }
    Some(Fence { ch, len })
}

/// True if `line` closes `fence`.
fn closes(line: &str, fence: Fence) -> bool {
    let Some(text) = fence_indent(line) else {
        return false;
    };
    let len = text.bytes().take_while(|&b| b == fence.ch).count();
    len >= fence.len && text[len..].bytes().all(|b| b == b' ' || b == b'\t')
}

/// If `line` could start a link reference definition (after any quote and
/// list markers), the byte offset of its `[` in `line`. `from_line` is the
/// body from this line on, since a label may continue on following lines.
fn reference_definition_start(line: &str, from_line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        match bytes.get(i) {
            Some(b'>') => i += 1,
            Some(b'-' | b'+' | b'*') if matches!(bytes.get(i + 1), Some(b' ' | b'\t')) => i += 1,
            Some(b'0'..=b'9') => {
                let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let after = i + digits;
                if digits <= 9
                    && matches!(bytes.get(after), Some(b'.' | b')'))
                    && matches!(bytes.get(after + 1), Some(b' ' | b'\t'))
                {
                    i = after + 1;
                } else {
                    return None;
                }
            }
            Some(b'[') => return is_definition_label(&from_line[i..]).then_some(i),
            _ => return None,
        }
    }
}

/// True if `text` starts with `[label]:`, the opening of a link reference
/// definition (or a footnote definition, `[^1]:`, for renderers that have
/// them). Errs towards yes: a wrongly escaped `[` still shows as `[`.
fn is_definition_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() && i <= 1000 {
        match bytes[i] {
            b'\\' => i += 2,
            b'[' => return false,
            b']' => return bytes.get(i + 1) == Some(&b':'),
            b'\n' | b'\r' => {
                let ending = if text[i..].starts_with("\r\n") { 2 } else { 1 };
                // A label cannot span a blank line (quote markers aside).
                let next = text[i + ending..].trim_start_matches([' ', '\t', '>']);
                if next.is_empty() || next.starts_with(['\n', '\r']) {
                    return false;
                }
                i += ending;
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(body: &str) -> String {
        let mut out = String::new();
        push_quoted_body(&mut out, body);
        out
    }

    fn inline(text: &str) -> String {
        let mut out = String::new();
        push_inline(&mut out, text);
        out
    }

    #[test]
    fn every_kind_of_line_break_gets_a_marker() {
        assert_eq!(quoted("a\nb\r\nc\rd"), "> a\n> b\n> c\n> d\n");
        assert_eq!(quoted("a\n\nb\n\n"), "> a\n>\n> b\n");
        assert_eq!(quoted(""), ">\n");
    }

    #[test]
    fn unclosed_fences_are_closed_and_closed_ones_left_alone() {
        assert_eq!(
            quoted("```rust\nfn x() {}"),
            "> ```rust\n> fn x() {}\n> ```\n"
        );
        assert_eq!(quoted("~~~~\nx\n~~~\n"), "> ~~~~\n> x\n> ~~~\n> ~~~~\n");
        assert_eq!(quoted("```\nx\n```"), "> ```\n> x\n> ```\n");
        assert_eq!(quoted("``` a ` b\nx"), "> ``` a ` b\n> x\n");
        assert_eq!(quoted("    ```\nx"), ">     ```\n> x\n");
    }

    #[test]
    fn reference_definitions_are_defused() {
        assert_eq!(quoted("[x]: https://evil"), "> \\[x]: https://evil\n");
        assert_eq!(quoted("> - [x]: /a"), "> > - \\[x]: /a\n");
        assert_eq!(quoted("1. [x]: /a"), "> 1. \\[x]: /a\n");
        assert_eq!(quoted("[multi\nline]: /a"), "> \\[multi\n> line]: /a\n");
        assert_eq!(quoted("[multi\r\nline]: /a"), "> \\[multi\n> line]: /a\n");
        assert_eq!(quoted("[not\n\nlabel]: /a"), "> [not\n>\n> label]: /a\n");
        assert_eq!(quoted("  [^1]: note"), ">   \\[^1]: note\n");
        // Links and text that merely start with a bracket are untouched.
        assert_eq!(quoted("[a](/b): c"), "> [a](/b): c\n");
        assert_eq!(quoted("[a] b"), "> [a] b\n");
        assert_eq!(quoted("```\n[x]: /a\n```"), "> ```\n> [x]: /a\n> ```\n");
    }

    #[test]
    fn leading_tabs_keep_their_width() {
        assert_eq!(quoted("\tcode\n  \tx"), ">     code\n>     x\n");
    }

    #[test]
    fn inline_text_is_inert_and_on_one_line() {
        assert_eq!(
            inline("*a* [b](c)\n# d {e}"),
            "\\*a\\* \\[b\\](c) \\# d \\{e\\}"
        );
        assert_eq!(inline("<b>&amp;"), "\\<b\\>\\&amp;");
    }

    #[test]
    fn excerpts_fold_whitespace_and_cut_on_characters() {
        assert_eq!(excerpt("  a\n\n b  ", 80), "a b");
        assert_eq!(excerpt("héllo wörld", 5), "héllo…");
        assert_eq!(excerpt("héllo wörld", 6), "héllo…");
        assert_eq!(excerpt("héllo wörld", 7), "héllo w…");
        assert_eq!(excerpt("héllo", 5), "héllo");
    }

    #[test]
    fn link_parts_cannot_end_early() {
        let mut out = String::new();
        push_link_dest(&mut out, "/a b)(<c>\\\n");
        assert_eq!(out, "/a%20b\\)\\(\\<c\\>\\\\%0A");
        let mut out = String::new();
        push_link_title(&mut out, "a \"b\" \\");
        assert_eq!(out, "a \\\"b\\\" \\\\");
        let mut out = String::new();
        push_path_segment(&mut out, "r 1/../x");
        assert_eq!(out, "r%201%2F%2E%2E%2Fx");
    }
}
