//! What answers to signed URLs tell the browser (issue 17, finding 8:
//! "macro responses carry no CSP"): the macro table, which the wiki frames
//! in its own page, runs no script at all, so a link or name a wiki slipped
//! past the escaping still could not execute; and a refused or unsigned
//! request gets an error, not the room.

use super::*;

/// The sources a policy allows for scripts: its `script-src`, or its
/// `default-src` when it has none (the CSP fallback). Empty: no policy for
/// scripts at all, so any script runs.
fn script_sources(policy: &str) -> Vec<String> {
    let directive = |name: &str| {
        policy.split(';').map(str::trim).find_map(|d| {
            let mut words = d.split_ascii_whitespace();
            (words.next()?.eq_ignore_ascii_case(name))
                .then(|| words.map(str::to_ascii_lowercase).collect::<Vec<_>>())
        })
    };
    directive("script-src")
        .or_else(|| directive("default-src"))
        .unwrap_or_default()
}

/// The reply's Content-Security-Policy, asserting it forbids inline script
/// (and everything that would bring script from elsewhere).
fn assert_no_inline_script(reply: &Reply, what: &str) -> String {
    let policy = reply
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy header"))
        .to_str()
        .unwrap()
        .to_owned();
    let sources = script_sources(&policy);
    assert!(
        !sources.is_empty(),
        "{what}: {policy:?} leaves scripts open"
    );
    for open in [
        "'unsafe-inline'",
        "'unsafe-eval'",
        "'unsafe-hashes'",
        "*",
        "data:",
        "blob:",
        "http:",
        "https:",
    ] {
        assert!(
            !sources.iter().any(|s| s == open),
            "{what}: {policy:?} allows script from {open}"
        );
    }
    policy
}

#[tokio::test]
async fn a_signed_macro_answer_forbids_inline_script_and_a_refused_one_shows_nothing() {
    let h = harness().await;
    let (cookie, room) = h.open_lobby("write").await;
    let secret = "the plan nobody outside may read";
    let posted = post_message(&h, &room, &cookie, secret).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);

    // The macro table: `default-src 'none'` with no `script-src`, so no
    // script of any kind (inline, `javascript:` links, handlers, files);
    // styles and images from the plugin only; `base-uri 'none'`.
    let table = h.get(&lobby_url(SECRET, "read"), None).await;
    assert_eq!(table.status, StatusCode::OK, "{}", table.body);
    assert!(table.body.contains(&room), "{}", table.body);
    let policy = assert_no_inline_script(&table, "the signed macro table");
    assert_eq!(script_sources(&policy), ["'none'"], "{policy}");
    assert!(policy.contains("base-uri 'none'"), "{policy}");

    // The popup keeps its own policy (the middleware adds one only where
    // there is none): its own scripts and the wasm bundle, nothing inline.
    let token = sign(
        SECRET,
        &claims(
            CLIENT_KEY,
            "ada",
            &format!("GET&/rooms/{room}&"),
            context("42", "read"),
        ),
    );
    let popup = h.get(&format!("/rooms/{room}?jwt={token}"), None).await;
    assert_eq!(popup.status, StatusCode::OK, "{}", popup.body);
    assert!(popup.body.contains(secret), "the popup shows the room");
    let policy = assert_no_inline_script(&popup, "the signed popup");
    assert_eq!(script_sources(&policy), ["'self'", "'wasm-unsafe-eval'"]);

    // Refused (wrong secret, replay) and unsigned requests for the same
    // table and popup: an error or a bare page, never the room, its
    // messages or a session.
    let replayed_popup = format!("/rooms/{room}?jwt={token}");
    let refused = [
        ("wrong secret", lobby_url(OTHER_SECRET, "admin")),
        ("replayed popup URL", replayed_popup),
        ("unsigned macro", format!("/macro/chat?{LOBBY_QUERY}")),
        ("unsigned popup", format!("/rooms/{room}")),
    ];
    for (what, uri) in refused {
        let reply = h.get(&uri, None).await;
        assert!(
            !reply.status.is_success(),
            "{what}: {} {}",
            reply.status,
            reply.body
        );
        assert!(reply.headers.get(header::SET_COOKIE).is_none(), "{what}");
        for leak in [room.as_str(), secret, "Ada Lovelace", "data-room"] {
            assert!(
                !reply.body.contains(leak),
                "{what} leaks {leak:?}: {}",
                reply.body
            );
        }
    }
}
