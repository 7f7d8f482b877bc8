//! Search queries, below the store: what users type, parsed into [`Term`]s,
//! and the snippet helpers both backends share. The store needs only this;
//! [`crate::search`] (permission filtering, paging, the pages) sits above it.
//!
//! # Queries
//! Users type words and `"quoted phrases"`; [`terms`] splits that into
//! [`Term`]s and each backend turns them into a query where every term is
//! data, never syntax (so `AND`, `NEAR`, `*`, `:` or a stray `"` are just
//! text and never a syntax error), and all terms must match. A term ending
//! in `*` is a prefix search. Both indexes stem English, so `deploys` also
//! finds `deploy` and `deployed`.
//!
//! # Snippets
//! Snippets mark hits with private-use sentinel characters; the text is
//! HTML-escaped first and only then are balanced sentinels turned into
//! `<mark>`, so page text can never inject markup ([`highlight`]).
//!
//! [`literal_snippet`] cuts one around the first place the page holds a term
//! as written, reading only as far as that place. A backend's own snippet
//! (FTS5 `snippet()`, `ts_headline`) tokenizes the whole page: 4 ms for a
//! 186 KB transcript day, 17 ms when a phrase occurs in every message, and
//! a results page has 20. SQLite uses the literal one and falls back to
//! FTS5's only when the page matched through stemming alone.

use regex::{Regex, RegexBuilder};

/// Longest query accepted, in characters (longer input is cut).
const MAX_QUERY_CHARS: usize = 500;
/// Most terms used from one query.
const MAX_TERMS: usize = 16;
/// Marks the start and end of a hit inside a backend's snippet.
pub const OPEN: char = '\u{E000}';
pub const CLOSE: char = '\u{E001}';
/// Words of context in a snippet.
pub const SNIPPET_WORDS: i64 = 24;

/// One piece of a parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Word { text: String, prefix: bool },
    Phrase(String),
}

/// Splits user input into words and `"phrases"`. An unclosed quote runs to
/// the end. Terms without a letter or digit are dropped (the tokenizer would
/// ignore them anyway).
pub fn terms(input: &str) -> Vec<Term> {
    // Control characters (NUL ends an FTS5 string early) become spaces.
    let input: String = input
        .chars()
        .take(MAX_QUERY_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut terms = Vec::new();
    let mut rest = input.as_str();
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('"') {
            let (phrase, next) = match after.find('"') {
                Some(end) => (&after[..end], &after[end + 1..]),
                None => (after, ""),
            };
            terms.push(Term::Phrase(phrase.trim().to_owned()));
            rest = next;
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let (text, prefix) = match word.strip_suffix('*') {
                Some(stem) => (stem.trim_end_matches('*'), true),
                None => (word, false),
            };
            terms.push(Term::Word {
                text: text.to_owned(),
                prefix,
            });
            rest = &rest[end..];
        }
    }
    terms.retain(|term| {
        let text = match term {
            Term::Word { text, .. } | Term::Phrase(text) => text,
        };
        text.chars().any(char::is_alphanumeric)
    });
    terms.truncate(MAX_TERMS);
    terms
}

/// Words of a snippet shown before its first hit.
const WORDS_BEFORE_HIT: usize = 8;

/// A snippet of `text` around the first place it holds one of `terms` as
/// written: a whole word in any case, a prefix at the start of a word, a
/// phrase word by word. About [`SNIPPET_WORDS`] words, `…` where cut, hits
/// between the sentinels (a prefix hit marks its whole word). `None` when
/// the text holds the terms only in another form (stemmed: `deploys` for
/// `deploy`) or not at all (a title hit).
pub fn literal_snippet(text: &str, terms: &[Term]) -> Option<String> {
    let finder = literal_finder(terms)?;
    let first = finder.find(text)?.start();
    let start = back_words(text, first, WORDS_BEFORE_HIT);
    let end = forward_words(text, start, SNIPPET_WORDS as usize);
    let window = &text[start..end];
    let mut out = String::with_capacity(window.len() + 16);
    if start > 0 {
        out.push('…');
    }
    let mut copied = 0;
    for hit in finder.find_iter(window) {
        if hit.start() < copied {
            continue;
        }
        let hit_end = word_end(window, hit.end());
        out.push_str(&window[copied..hit.start()]);
        out.push(OPEN);
        out.push_str(&window[hit.start()..hit_end]);
        out.push(CLOSE);
        copied = hit_end;
    }
    out.push_str(&window[copied..]);
    if end < text.len() {
        out.push('…');
    }
    Some(out)
}

/// One case-insensitive pattern for every term. Word boundaries are ASCII
/// ones, and only where the term's own edge is an ASCII letter or digit, so
/// the regex runs as a DFA (a Unicode `\b` would not).
fn literal_finder(terms: &[Term]) -> Option<Regex> {
    fn edge(c: Option<char>) -> &'static str {
        match c {
            Some(c) if c.is_ascii_alphanumeric() => r"(?-u:\b)",
            _ => "",
        }
    }
    let alternatives: Vec<String> = terms
        .iter()
        .filter_map(|term| {
            let (words, prefix): (Vec<&str>, bool) = match term {
                Term::Word { text, prefix } => (vec![text.as_str()], *prefix),
                Term::Phrase(text) => (
                    text.split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .collect(),
                    false,
                ),
            };
            let first = words.first()?.chars().next();
            let last = words.last()?.chars().last();
            let body = words
                .iter()
                .map(|word| regex::escape(word))
                .collect::<Vec<_>>()
                .join(r"[^\p{L}\p{N}]+");
            let after = if prefix { "" } else { edge(last) };
            Some(format!("{}{body}{after}", edge(first)))
        })
        .collect();
    if alternatives.is_empty() {
        return None;
    }
    RegexBuilder::new(&alternatives.join("|"))
        .case_insensitive(true)
        .build()
        .ok()
}

/// Where the word containing or ending at `at` ends (a prefix hit's word).
fn word_end(text: &str, at: usize) -> usize {
    text[at..]
        .find(|c: char| !c.is_alphanumeric())
        .map_or(text.len(), |n| at + n)
}

/// The start of the `words`-th whitespace-separated word before `at`.
fn back_words(text: &str, at: usize, words: usize) -> usize {
    let mut start = at;
    for _ in 0..words {
        let before = text[..start].trim_end();
        // The word starts after the whole space, which may be several bytes
        // (U+00A0, U+3000...): one byte past it would split the character.
        match before.char_indices().rfind(|&(_, c)| c.is_whitespace()) {
            Some((space, c)) => start = space + c.len_utf8(),
            None => return 0,
        }
    }
    start
}

/// The end of the `words`-th whitespace-separated word from `from`.
fn forward_words(text: &str, from: usize, words: usize) -> usize {
    let mut end = from;
    for _ in 0..words {
        let rest = &text[end..];
        let word_start = rest.len() - rest.trim_start().len();
        let rest = &rest[word_start..];
        if rest.is_empty() {
            return text.len();
        }
        end += word_start + rest.find(char::is_whitespace).unwrap_or(rest.len());
    }
    end
}

/// Escapes `raw` for HTML and turns balanced sentinel pairs into `<mark>`;
/// stray sentinels (page text may contain them) are dropped.
pub fn highlight(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 32);
    let mut open = false;
    for c in raw.chars() {
        match c {
            OPEN if !open => {
                out.push_str("<mark>");
                open = true;
            }
            CLOSE if open => {
                out.push_str("</mark>");
                open = false;
            }
            OPEN | CLOSE => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_escape_everything_but_marks() {
        let raw = format!("<b>x</b> {OPEN}hit{CLOSE} & {CLOSE}stray {OPEN}open");
        assert_eq!(
            highlight(&raw),
            "&lt;b&gt;x&lt;/b&gt; <mark>hit</mark> &amp; stray <mark>open</mark>"
        );
    }

    fn marked(text: &str, query: &str) -> Option<String> {
        literal_snippet(text, &terms(query)).map(|raw| highlight(&raw))
    }

    #[test]
    fn literal_snippets_mark_whole_words_in_any_case() {
        assert_eq!(
            marked("We Deploy today; redeploy tomorrow", "deploy").as_deref(),
            Some("We <mark>Deploy</mark> today; redeploy tomorrow")
        );
        assert_eq!(marked("only a redeployment here", "deploy"), None);
        assert_eq!(
            marked("the deployment went fine", "deplo*").as_deref(),
            Some("the <mark>deployment</mark> went fine")
        );
        assert_eq!(
            marked("un Café crème", "café").as_deref(),
            Some("un <mark>Café</mark> crème")
        );
        assert_eq!(
            marked("learn c++ (or c)", "c++").as_deref(),
            Some("learn <mark>c++</mark> (or c)"),
            "regex syntax in a query is text"
        );
    }

    #[test]
    fn literal_snippets_find_phrases_across_punctuation_and_lines() {
        assert_eq!(
            marked("we ship it,\nafter lunch", "\"ship it after lunch\"").as_deref(),
            Some("we <mark>ship it,\nafter lunch</mark>")
        );
        assert_eq!(
            marked("ship it before lunch", "\"ship it after lunch\""),
            None
        );
    }

    #[test]
    fn a_stemmed_or_title_only_match_is_left_to_the_backend() {
        assert_eq!(marked("she deploys daily", "deploy"), None);
        assert_eq!(marked("nothing relevant", "rocket"), None);
    }

    #[test]
    fn literal_snippets_are_a_window_around_the_first_hit() {
        let words: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
        let mut text = words.join(" ");
        text.push_str(" target ");
        text.push_str(&words.join(" "));
        let snippet = marked(&text, "target").unwrap();
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        assert!(snippet.contains("w199 <mark>target</mark> w0"), "{snippet}");
        let shown = snippet.split_whitespace().count();
        assert!(
            (SNIPPET_WORDS as usize - 1..=SNIPPET_WORDS as usize + 1).contains(&shown),
            "{shown} words: {snippet}"
        );
        assert_eq!(
            marked("target first", "target").as_deref(),
            Some("<mark>target</mark> first"),
            "no ellipsis where nothing was cut"
        );
    }
}

/// Properties of the snippet cutter over any text and any query (issue 17,
/// finding 7: a multi-byte space once made it slice inside a character).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Text made of few distinct words so queries hit often, joined by every
    /// kind of space (one-, two- and three-byte ones), with HTML specials.
    fn text() -> impl Strategy<Value = String> {
        "([aAbé<>&\"'0-9]{1,4}[ \t\n\u{a0}\u{2003}\u{3000}\u{2028}.,*]{1,3}){0,60}"
    }

    /// What a user might type: words, prefixes, phrases, stray quotes.
    fn query() -> impl Strategy<Value = String> {
        "([aAbé<0-9\"*]{0,4}[ \u{a0}\u{3000}]?){0,5}"
    }

    /// Removes the sentinels and the cut marks `literal_snippet` adds.
    fn plain(raw: &str) -> String {
        let mut plain: String = raw.chars().filter(|&c| c != OPEN && c != CLOSE).collect();
        if let Some(rest) = plain.strip_prefix('…') {
            plain = rest.to_owned();
        }
        if let Some(rest) = plain.strip_suffix('…') {
            plain = rest.to_owned();
        }
        plain
    }

    /// Highlighted HTML with its `<mark>` tags taken out must hold no markup
    /// character, and every `&` must start one of the entities we write.
    fn assert_escaped(html: &str) {
        let opens = html.matches("<mark>").count();
        assert_eq!(opens, html.matches("</mark>").count(), "{html}");
        let bare = html.replace("<mark>", "").replace("</mark>", "");
        assert!(
            !bare.contains(['<', '>', '"', '\'', OPEN, CLOSE]),
            "unescaped: {html}"
        );
        for (at, _) in bare.match_indices('&') {
            let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| bare[at..].starts_with(e));
            assert!(entity, "bare & in {html}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn snippets_are_a_piece_of_the_text_with_escaped_highlights(
            text in text(),
            query in query(),
        ) {
            let terms = terms(&query);
            if let Some(raw) = literal_snippet(&text, &terms) {
                prop_assert!(raw.contains(OPEN) && raw.contains(CLOSE), "no hit: {raw:?}");
                let piece = plain(&raw);
                prop_assert!(text.contains(&piece), "{piece:?} is not in {text:?}");
                assert_escaped(&highlight(&raw));
            }
        }

        #[test]
        fn the_first_query_word_found_in_the_text_gives_a_snippet(
            text in text(),
            pick in any::<prop::sample::Index>(),
        ) {
            // A word taken from the text itself is found as written.
            let words: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            prop_assume!(!words.is_empty());
            let word = words[pick.index(words.len())];
            let raw = literal_snippet(&text, &terms(word));
            prop_assert!(raw.is_some(), "{word:?} not found in {text:?}");
        }

        #[test]
        fn any_page_text_is_escaped_by_highlight(raw in any::<String>()) {
            assert_escaped(&highlight(&raw));
        }

        #[test]
        fn page_text_with_sentinels_never_panics_the_cutter(
            text in "[a \u{a0}\u{e000}\u{e001}…é]{0,80}",
            query in "[a\u{e000}\u{e001}é\"*]{0,6}",
        ) {
            if let Some(raw) = literal_snippet(&text, &terms(&query)) {
                assert_escaped(&highlight(&raw));
            }
        }
    }
}
