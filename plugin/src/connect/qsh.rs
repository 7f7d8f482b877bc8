//! The query string hash (`qsh`): the claim that binds a Connect JWT to one
//! request, so a token minted for `/macro/chat?room=Lobby` cannot be moved to
//! `/macro/chat?room=Secrets` or to another method or path.
//!
//! It is the SHA-256 (lower-case hex) of the *canonical request*, built the
//! way Atlassian Connect builds it, so an external wiki can reuse any Connect
//! library:
//!
//! ```text
//! METHOD '&' canonical-uri '&' canonical-query
//! ```
//!
//! - **METHOD**: upper case.
//! - **canonical-uri**: the path relative to the receiver's base URL (no
//!   scheme, host, port, context path or query), `/` when empty, without a
//!   trailing `/` unless it is the only character, and with every `&`
//!   written `%26` (else `/a&b=c?x=y` and `/a?b=c&x=y` would hash alike).
//! - **canonical-query**: the parameters minus `jwt`, names and values
//!   decoded (`+` is a space) and re-encoded with RFC 3986 rules (only
//!   `A-Z a-z 0-9 - . _ ~` stay literal, so space is `%20` and `*` is `%2A`,
//!   hex upper case), sorted by encoded name, repeated names joined into one
//!   `name=v1,v2` with the values sorted, pairs joined with `&`.
//!
//! ```
//! use plugin::connect::qsh::{canonical_request, query_string_hash};
//! assert_eq!(
//!     canonical_request("get", "/path/to/service/", Some("b=2&a=x+y&a=1&jwt=e30")),
//!     "GET&/path/to/service&a=1,x%20y&b=2"
//! );
//! assert_eq!(query_string_hash("GET", "/", None).len(), 64);
//! ```

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The query parameter that carries the token itself; never part of the hash.
pub const JWT_PARAM: &str = "jwt";

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `qsh` claim value for a request.
pub fn query_string_hash(method: &str, path: &str, query: Option<&str>) -> String {
    hex(&Sha256::digest(
        canonical_request(method, path, query).as_bytes(),
    ))
}

/// The string [`query_string_hash`] hashes.
pub fn canonical_request(method: &str, path: &str, query: Option<&str>) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query.unwrap_or_default())
    )
}

/// The path part of the canonical request.
pub fn canonical_uri(path: &str) -> String {
    let path = match path.strip_suffix('/') {
        Some("") | None => path,
        Some(trimmed) => trimmed,
    };
    let path = if path.is_empty() { "/" } else { path };
    let encoded = path.replace('&', "%26");
    if encoded.starts_with('/') {
        encoded
    } else {
        format!("/{encoded}")
    }
}

/// The query part of the canonical request (`query` as sent, without `?`).
pub fn canonical_query(query: &str) -> String {
    // Keyed by encoded name: BTreeMap order is byte order, which for ASCII
    // is the code-point order Connect asks for.
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in parse_query(query) {
        if name == JWT_PARAM.as_bytes() {
            continue;
        }
        params
            .entry(encode(&name))
            .or_default()
            .push(encode(&value));
    }
    params
        .into_iter()
        .map(|(name, mut values)| {
            values.sort();
            format!("{name}={}", values.join(","))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The decoded `(name, value)` pairs of a query string, in order. Bytes, not
/// strings: a value that is not UTF-8 still hashes exactly as it was sent.
pub fn parse_query(query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_pairs(query)
        .map(|(name, value)| (decode(name), decode(value)))
        .collect()
}

/// The still-encoded `(name, value)` pairs of a query string; a parameter
/// without `=` has an empty value, empty segments are skipped.
pub(crate) fn raw_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.split_once('=').unwrap_or((segment, "")))
}

/// One query component decoded as `application/x-www-form-urlencoded`.
pub(crate) fn decode(component: &str) -> Vec<u8> {
    let spaced = component.replace('+', " ");
    percent_decode(spaced.as_bytes()).collect()
}

/// One query component encoded with the canonical (RFC 3986) rules.
pub fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, ENCODE).to_string()
}

/// Lower-case hex, as the `qsh` claim carries it.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (method, path, query, canonical request, qsh). The hashes were
    /// checked with `printf %s '<canonical>' | sha256sum`; the canonical
    /// forms follow Atlassian's published rules and agree with other
    /// Connect implementations (the first row is the example in the Haskell
    /// `atlassian-connect-core` docs, hash included).
    const VECTORS: &[(&str, &str, &str, &str, &str)] = &[
        (
            "GET",
            "/path/to/service",
            "a=1&A=2&b=3&B=4",
            "GET&/path/to/service&A=2&B=4&a=1&b=3",
            "70282c7cf82834bd5a3d6dacda1b4ccd5cf5860a63a1fa2fb86b64d576e6a1d5",
        ),
        (
            "GET",
            "/",
            "",
            "GET&/&",
            "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239",
        ),
        (
            "get",
            "/something/",
            "simple=key",
            "GET&/something&simple=key",
            "3c1ebfedcd634a4146672368a8bee5ae364496a7fabcbda591398c00f03771d2",
        ),
        (
            "POST",
            "/something",
            "simple=key",
            "POST&/something&simple=key",
            "eafb48e8c78a5b09bc2ce7b0b86289ee4a7bd58179e47006d0141b33d5165af7",
        ),
        (
            "GET",
            "/something",
            "some+spaces+in+this+parameter=yes",
            "GET&/something&some%20spaces%20in%20this%20parameter=yes",
            "f73fed24415974607a19ddf9af6f862d9da572ed71bbeb15ae2c64c3aec95317",
        ),
        (
            "GET",
            "/something",
            "param=connect*",
            "GET&/something&param=connect%2A",
            "bff97fd3522d20e35e17076bf8b586924d60c1968ecaca7e6edf5fcbdb53c444",
        ),
        (
            "GET",
            "/something",
            "director=%e5%ae%ae%e5%b4%8e%20%e9%a7%bf",
            "GET&/something&director=%E5%AE%AE%E5%B4%8E%20%E9%A7%BF",
            "459b64741b7a3f0c1fe713a4b796f3a1210402729598179b016fd97aec00b4a8",
        ),
        (
            "GET",
            "/something",
            "a10=1&a1=2&b1=3&b10=4",
            "GET&/something&a1=2&a10=1&b1=3&b10=4",
            "31e1a2db664e96b08862145f45e290f4045fa894886afbb020e64437dabab07e",
        ),
        (
            "GET",
            "/something",
            "tuples=1%2C2%2C3&tuples=6%2C5%2C4&tuples=7%2C9%2C8",
            "GET&/something&tuples=1%2C2%2C3,6%2C5%2C4,7%2C9%2C8",
            "4f6da3fce3772b2b1958f7b97f9f7e8e0919ffc777bb74a892418faedf2fe15b",
        ),
        (
            "GET",
            "/something",
            "ids=-1&ids=1&ids=20&ids=2&ids=10",
            "GET&/something&ids=-1,1,10,2,20",
            "cfb9607f936f9523743b25897bd3a4ae822536fd18678b984b9dc0b31bfd8c46",
        ),
    ];

    #[test]
    fn known_vectors_canonicalise_and_hash() {
        for (method, path, query, canonical, qsh) in VECTORS {
            assert_eq!(
                canonical_request(method, path, Some(query)),
                *canonical,
                "{method} {path}?{query}"
            );
            assert_eq!(
                query_string_hash(method, path, Some(query)),
                *qsh,
                "{canonical}"
            );
        }
    }

    #[test]
    fn the_jwt_parameter_is_left_out() {
        assert_eq!(
            canonical_request("GET", "/something", Some("jwt=ABC.DEF.GHI")),
            "GET&/something&"
        );
        assert_eq!(
            query_string_hash("GET", "/macro/chat", Some("room=Lobby&jwt=x&page=42")),
            query_string_hash("GET", "/macro/chat", Some("page=42&room=Lobby"))
        );
    }

    #[test]
    fn the_path_is_normalised_but_never_merged_with_the_query() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("relative"), "/relative");
        assert_eq!(canonical_uri("/rooms/r1/"), "/rooms/r1");
        assert_eq!(canonical_uri("/a&b=c"), "/a%26b=c");
        assert_ne!(
            canonical_request("GET", "/a&b=c", Some("x=y")),
            canonical_request("GET", "/a", Some("b=c&x=y"))
        );
    }

    #[test]
    fn odd_parameters_have_one_canonical_form() {
        // No `=`, empty value, empty segments, reserved and unreserved marks.
        assert_eq!(
            canonical_query("notempty=value&&empty&blank=&mark=-._~!'()"),
            "blank=&empty=&mark=-._~%21%27%28%29&notempty=value"
        );
        // Encoded and literal forms of the same character agree.
        assert_eq!(canonical_query("q=a%20b"), canonical_query("q=a+b"));
        assert_eq!(canonical_query("q=%7E"), "q=~");
        // A literal `+` must arrive encoded; `%2B` stays a plus.
        assert_eq!(canonical_query("q=1%2B1"), "q=1%2B1");
        // Bytes that are not UTF-8 survive unchanged.
        assert_eq!(canonical_query("q=%ff"), "q=%FF");
    }

    #[test]
    fn changing_any_part_changes_the_hash() {
        let base = query_string_hash("GET", "/macro/chat", Some("page=42&room=Lobby"));
        for (method, path, query) in [
            ("POST", "/macro/chat", "page=42&room=Lobby"),
            ("GET", "/macro/chat2", "page=42&room=Lobby"),
            ("GET", "/macro/chat", "page=43&room=Lobby"),
            ("GET", "/macro/chat", "page=42&room=Lobby&x="),
        ] {
            assert_ne!(query_string_hash(method, path, Some(query)), base);
        }
    }
}
