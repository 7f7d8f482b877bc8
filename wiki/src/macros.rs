//! Macros: `{key:value|name=value}` in page markdown, expanded by the plugin.
//!
//! The macros a page may use are exactly those `manifest.json` declares in
//! `modules.dynamicContentMacros` ([`Registry::from_manifest`]). Syntax:
//! - `{chat:My Room}`: the text after `:` (up to `|`) is the value of the
//!   macro's first declared parameter;
//! - `{key:first|name=value}`: further parameters by name;
//! - `{key}`: no parameters; only recognised for registered keys, so prose
//!   like `{braces}` stays text;
//! - `\{chat:x}` (backslash) and anything inside code spans or code blocks
//!   are left alone.
//!
//! A macro is expanded by calling its manifest URL on the plugin's router
//! **in-process** (no network hop) with the page request's `Cookie` and
//! `Authorization` headers, so the plugin sees the same caller the page does;
//! the HTML it answers is inlined. An unknown key, a missing required
//! parameter or a failing plugin call becomes a visible, escaped
//! `<span class="bc-macro-error">`, never a broken page.
//!
//! A page expands at most [`MAX_MACROS_PER_PAGE`] macros
//! ([`Expander::expand_page`]); each one past that becomes a short inline
//! notice and costs the plugin nothing, so a page (or a pasted transcript)
//! holding thousands of `{chat:...}` cannot make every view do thousands of
//! room lookups.

use crate::manifest::{Manifest, OutputType};
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use maud::html;
use std::ops::Range;
use tower::ServiceExt as _;

/// Largest fragment accepted from the plugin.
const MAX_FRAGMENT_BYTES: usize = 512 * 1024;

/// Most macros one page view expands; a page needs a handful, and each
/// one is a call into the plugin.
pub const MAX_MACROS_PER_PAGE: usize = 20;

/// Escaping for a value placed into a URL query or path.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A macro the wiki knows, from the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    pub key: String,
    /// URL template, e.g. `/macro/chat?page={page.id}&room={room}`.
    pub url: String,
    pub output: OutputType,
    /// Parameters in manifest order; the first takes the unnamed value.
    pub params: Vec<ParamDef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    pub identifier: String,
    pub required: bool,
}

/// The registered macros.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registry {
    macros: Vec<MacroDef>,
}

impl Registry {
    /// One macro per `dynamicContentMacros` entry.
    pub fn from_manifest(manifest: &Manifest) -> Registry {
        let macros = manifest
            .modules
            .dynamic_content_macros
            .iter()
            .map(|m| MacroDef {
                key: m.key.clone(),
                url: m.url.clone(),
                output: m.output_type,
                params: m
                    .parameters
                    .iter()
                    .map(|p| ParamDef {
                        identifier: p.identifier.clone(),
                        required: p.required,
                    })
                    .collect(),
            })
            .collect();
        Registry { macros }
    }

    /// The macro called `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&MacroDef> {
        self.macros.iter().find(|m| m.key.eq_ignore_ascii_case(key))
    }

    pub fn macros(&self) -> &[MacroDef] {
        &self.macros
    }
}

/// One macro occurrence in page markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub key: String,
    /// The text after `:` up to the first `|`.
    pub value: Option<String>,
    /// `name=value` parameters after the first `|`.
    pub named: Vec<(String, String)>,
    /// Byte range of the whole `{...}` in the markdown.
    pub range: Range<usize>,
}

/// Finds the macro calls in `markdown` outside the `skip` ranges (code).
pub fn scan(markdown: &str, registry: &Registry, skip: &[Range<usize>]) -> Vec<Call> {
    let bytes = markdown.as_bytes();
    let mut calls = Vec::new();
    let mut pos = 0;
    while let Some(offset) = markdown[pos..].find('{') {
        let start = pos + offset;
        pos = start + 1;
        if start > 0 && bytes[start - 1] == b'\\' {
            continue;
        }
        if skip.iter().any(|r| r.contains(&start)) {
            continue;
        }
        let Some(call) = parse_at(markdown, start, registry) else {
            continue;
        };
        pos = call.range.end;
        calls.push(call);
    }
    calls
}

/// Parses a macro starting at the `{` at `start`, if there is one.
fn parse_at(markdown: &str, start: usize, registry: &Registry) -> Option<Call> {
    let rest = &markdown[start + 1..];
    let key_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    if !crate::manifest::is_macro_key(key) {
        return None;
    }
    let after = &rest[key_len..];
    if after.starts_with('}') {
        // `{key}` counts only for registered keys, so prose keeps its braces.
        registry.get(key)?;
        return Some(Call {
            key: key.to_owned(),
            value: None,
            named: Vec::new(),
            range: start..start + 1 + key_len + 1,
        });
    }
    let body_and_more = after.strip_prefix(':')?;
    let end = body_and_more.find(['}', '\n', '{'])?;
    if !body_and_more[end..].starts_with('}') {
        return None;
    }
    let body = &body_and_more[..end];
    let mut parts = body.split('|');
    let value = parts.next().map(|v| v.trim().to_owned());
    let named = parts
        .map(|part| match part.split_once('=') {
            Some((name, value)) => (name.trim().to_owned(), value.trim().to_owned()),
            None => (part.trim().to_owned(), String::new()),
        })
        .collect();
    Some(Call {
        key: key.to_owned(),
        value,
        named,
        range: start..start + 1 + key_len + 1 + end + 1,
    })
}

/// HTML to put where a macro stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub html: String,
    /// Replace the whole paragraph when the macro stands alone in one.
    pub block: bool,
}

impl Expansion {
    /// A visible, escaped inline error.
    pub fn error(message: &str) -> Expansion {
        Expansion {
            html: html! { span."bc-macro-error" { (message) } }.into_string(),
            block: false,
        }
    }
}

/// The parameter values of `call` for `def`, or what is wrong with them.
pub fn bind(def: &MacroDef, call: &Call) -> Result<Vec<(String, String)>, String> {
    let mut values: Vec<(String, String)> = Vec::new();
    if let Some(value) = call.value.as_ref().filter(|v| !v.is_empty()) {
        let Some(first) = def.params.first() else {
            return Err(format!("{} macro takes no parameters", def.key));
        };
        values.push((first.identifier.clone(), value.clone()));
    }
    for (name, value) in &call.named {
        if !def.params.iter().any(|p| &p.identifier == name) {
            return Err(format!("{} macro has no parameter {name:?}", def.key));
        }
        values.retain(|(n, _)| n != name);
        values.push((name.clone(), value.clone()));
    }
    for param in def.params.iter().filter(|p| p.required) {
        let present = values
            .iter()
            .any(|(n, v)| n == &param.identifier && !v.trim().is_empty());
        if !present {
            return Err(format!(
                "{} macro: missing required parameter {:?}, write {{{}:value}}",
                def.key, param.identifier, def.key
            ));
        }
    }
    Ok(values)
}

/// Fills a URL template: `{page.id}` and parameter placeholders, each value
/// percent-encoded; unset optional parameters become empty.
pub fn fill_url(template: &str, page_id: &str, values: &[(String, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        let value = if name == "page.id" {
            page_id
        } else {
            values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        out.extend(percent_encoding::utf8_percent_encode(value, COMPONENT));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Expands macros by calling the plugin's router in-process.
#[derive(Clone)]
pub struct Expander {
    pub registry: Registry,
    /// The plugin's routes (state already applied); cloning is cheap.
    pub plugin: Router,
}

impl Expander {
    /// The expansions of a page's `calls` (from [`scan`]), in order: the
    /// first [`MAX_MACROS_PER_PAGE`] through [`Expander::expand`], the rest
    /// a notice without calling the plugin.
    pub async fn expand_page(
        &self,
        calls: Vec<Call>,
        page_id: &str,
        headers: &HeaderMap,
    ) -> Vec<(Range<usize>, Expansion)> {
        let mut expansions = Vec::with_capacity(calls.len());
        for (i, call) in calls.into_iter().enumerate() {
            let expansion = if i < MAX_MACROS_PER_PAGE {
                self.expand(&call, page_id, headers).await
            } else {
                Expansion::error(&format!(
                    "{{{}}} not shown: a page shows at most {MAX_MACROS_PER_PAGE} macros",
                    call.key
                ))
            };
            expansions.push((call.range, expansion));
        }
        expansions
    }

    /// The HTML for one call on page `page_id`, as the request with
    /// `headers` would see it.
    pub async fn expand(&self, call: &Call, page_id: &str, headers: &HeaderMap) -> Expansion {
        let Some(def) = self.registry.get(&call.key) else {
            return Expansion::error(&format!("Unknown macro: {{{}}}", call.key));
        };
        let values = match bind(def, call) {
            Ok(values) => values,
            Err(message) => return Expansion::error(&message),
        };
        let url = fill_url(&def.url, page_id, &values);
        match self.fetch(&url, headers).await {
            Ok(html) => Expansion {
                html,
                block: def.output == OutputType::Block,
            },
            Err(message) => {
                tracing::warn!(%url, %message, "macro expansion failed");
                Expansion::error(&format!("{} macro is unavailable: {message}", def.key))
            }
        }
    }

    async fn fetch(&self, url: &str, headers: &HeaderMap) -> Result<String, String> {
        let mut request = Request::builder().method(Method::GET).uri(url);
        for name in [header::COOKIE, header::AUTHORIZATION] {
            for value in headers.get_all(&name) {
                request = request.header(&name, value);
            }
        }
        let request = request
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .map_err(|e| format!("bad macro URL: {e}"))?;
        let response = match self.plugin.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        if status != StatusCode::OK {
            return Err(format!("the plugin answered {status}"));
        }
        let body = axum::body::to_bytes(response.into_body(), MAX_FRAGMENT_BYTES)
            .await
            .map_err(|e| format!("reading the plugin's answer: {e}"))?;
        String::from_utf8(body.to_vec()).map_err(|_| "the plugin answered non-UTF-8".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::from_manifest(&Manifest::bundled().unwrap())
    }

    #[test]
    fn registered_macros_equal_the_manifest() {
        let manifest = Manifest::bundled().unwrap();
        let registry = registry();
        let keys: Vec<_> = registry.macros().iter().map(|m| m.key.as_str()).collect();
        let declared: Vec<_> = manifest
            .modules
            .dynamic_content_macros
            .iter()
            .map(|m| m.key.as_str())
            .collect();
        assert_eq!(keys, declared);
        let chat = registry.get("chat").unwrap();
        assert_eq!(
            chat.params,
            vec![ParamDef {
                identifier: "room".into(),
                required: true
            }]
        );
        assert_eq!(chat.output, OutputType::Block);
    }

    #[test]
    fn scans_macros_but_not_prose_or_escapes() {
        let md = "a {chat:My Room} b {nope:x} {braces} \\{chat:no} {chat} {chat:R|topic=t}";
        let calls = scan(md, &registry(), &[]);
        let keys: Vec<_> = calls.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["chat", "nope", "chat", "chat"]);
        assert_eq!(&md[calls[0].range.clone()], "{chat:My Room}");
        assert_eq!(calls[0].value.as_deref(), Some("My Room"));
        assert_eq!(calls[2].value, None);
        assert_eq!(calls[3].named, vec![("topic".into(), "t".into())]);
        // Inside a skipped (code) range nothing is found.
        let everything = 0..md.len();
        assert!(scan(md, &registry(), std::slice::from_ref(&everything)).is_empty());
    }

    #[test]
    fn binding_reports_missing_and_unknown_parameters() {
        let registry = registry();
        let chat = registry.get("chat").unwrap();
        let calls = scan(
            "{chat:Lobby} {chat:} {chat} {chat:x|nope=1}",
            &registry,
            &[],
        );
        assert_eq!(
            bind(chat, &calls[0]).unwrap(),
            vec![("room".into(), "Lobby".into())]
        );
        assert!(bind(chat, &calls[1])
            .unwrap_err()
            .contains("missing required"));
        assert!(bind(chat, &calls[2])
            .unwrap_err()
            .contains("missing required"));
        assert!(bind(chat, &calls[3]).unwrap_err().contains("no parameter"));
    }

    #[test]
    fn urls_are_filled_and_encoded() {
        let url = fill_url(
            "/macro/chat?page={page.id}&room={room}",
            "12",
            &[("room".into(), "My Room & <co>".into())],
        );
        assert_eq!(url, "/macro/chat?page=12&room=My%20Room%20%26%20%3Cco%3E");
    }

    #[test]
    fn errors_are_escaped() {
        let e = Expansion::error("Unknown macro: {<script>}");
        assert_eq!(
            e.html,
            "<span class=\"bc-macro-error\">Unknown macro: {&lt;script&gt;}</span>"
        );
    }
}
