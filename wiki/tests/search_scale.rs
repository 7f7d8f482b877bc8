//! Issue 4's acceptance line "search over 10,000 imported pages returns
//! ranked, highlighted, permission-filtered results; a restricted page never
//! appears, not even in a count", end to end: the pages go in through the
//! real `backchannel page import DIR` command, the restriction through
//! `PUT /api/pages/{path}/permissions`, and every question through
//! `/api/search` and `/search` as an anonymous reader, a signed-in user and
//! an admin would ask it.
//!
//! Only the CLI and the HTTP contract are used (no wiki internals), so the
//! test holds whatever store sits behind them. It prints how long the import
//! and the searches took (on stderr, past libtest's capture) so a slowdown
//! is seen; it asserts no timings, because CI machines vary too much.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use common::{enc, send, start};
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Ordinary notes, spread over `AREAS` folders; four special pages join them.
const NOTES: usize = 10_000;
const AREAS: usize = 100;
/// Every `TIDE_EVERY`-th note mentions tides (and spring, not as a phrase).
const TIDE_EVERY: usize = 250;
const TIDE_NOTES: usize = NOTES / TIDE_EVERY;
/// Pages outside `Docs/Secret`: the notes, `Tides` and `Spring`.
const VISIBLE: usize = NOTES + 2;
/// Pages inside `Docs/Secret` (which only the admin may view).
const HIDDEN: usize = 2;

/// Writes the markdown tree: `Area NN/Note I.md`, the special pages, and a
/// `Secret` folder (no file of its own: import makes it an empty parent page,
/// whose permissions its children inherit).
fn write_tree(root: &Path) {
    let words = [
        "amber", "basalt", "cedar", "dune", "ember", "fjord", "garnet",
    ];
    for area in 0..AREAS {
        std::fs::create_dir_all(root.join(format!("Area {area:02}"))).unwrap();
    }
    for i in 0..NOTES {
        let a = words[i % words.len()];
        let b = words[(i / words.len()) % words.len()];
        let mut text = format!("# Note {i}\n\nLedger entry n{i} about {a} and {b}.\n");
        if i % TIDE_EVERY == 3 {
            text.push_str("Low tides came early that spring.\n");
        }
        let area = root.join(format!("Area {:02}", i % AREAS));
        std::fs::write(area.join(format!("Note {i}.md")), text).unwrap();
    }
    // The title hit, with page text that must come out escaped.
    std::fs::write(
        root.join("Tides.md"),
        "Harbor <notes> & tides: the ledger of the sea.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("Spring.md"),
        "The spring tides flood the quay. Ledger kept.\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("Secret/Deep")).unwrap();
    // Outranks everything for "tides" (title and three body hits), so a leak
    // would show at the top of the first result page.
    std::fs::write(
        root.join("Secret/Tide Tables.md"),
        "tides tides tides: the secret ledger.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("Secret/Deep/Buried.md"),
        "A xylophone in the ledger vault.\n",
    )
    .unwrap();
}

/// Runs the `backchannel` binary this package builds, feeding `stdin`.
fn backchannel(args: &[&str], data: &Path, stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backchannel"))
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "backchannel {args:?} failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A request as a script sends it: JSON body, optional bearer token.
async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Value,
) -> common::Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    send(router, request.body(body).unwrap()).await
}

async fn sign_in(router: &Router, username: &str, password: &str) -> String {
    let reply = call(
        router,
        "POST",
        "/api/session",
        None,
        json!({"username": username, "password": password}),
    )
    .await;
    assert_eq!(reply.status, 200, "signing in {username}: {}", reply.body);
    let answer: Value = serde_json::from_str(&reply.body).unwrap();
    answer["token"].as_str().unwrap().to_owned()
}

/// The search timings, for the report at the end.
#[derive(Default)]
struct Timings(Vec<(String, Duration)>);

async fn search(
    router: &Router,
    timings: &mut Timings,
    q: &str,
    page: usize,
    token: Option<&str>,
) -> Value {
    let uri = format!("/api/search?q={}&page={page}", enc(q));
    let started = Instant::now();
    let reply = call(router, "GET", &uri, token, Value::Null).await;
    let who = if token.is_some() {
        "signed in"
    } else {
        "anonymous"
    };
    timings
        .0
        .push((format!("{q} (page {page}, {who})"), started.elapsed()));
    assert_eq!(reply.status, 200, "{q}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

fn paths(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["path"].as_str().unwrap().to_owned())
        .collect()
}

fn total(answer: &Value) -> u64 {
    answer["total"].as_u64().unwrap()
}

/// Writes straight to stderr: libtest captures `eprintln!` of passing tests.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_imported_pages_search_ranked_highlighted_and_filtered() {
    let wiki = start();
    let router = &wiki.parts.router;
    let data = wiki.dir.path();
    let source = tempfile::tempdir().unwrap();
    write_tree(source.path());

    let started = Instant::now();
    let source_dir = source.path().to_str().unwrap();
    let imported = backchannel(&["page", "import", source_dir, "--under", "Docs"], data, "");
    let import_time = started.elapsed();
    let files = VISIBLE + HIDDEN;
    assert!(
        imported.contains(&format!("{files} created")),
        "the import should create every file's page: {imported}"
    );
    backchannel(
        &["user", "add", "reader", "--password-stdin"],
        data,
        "reader password 1\n",
    );
    let admin = sign_in(router, "admin", &wiki.admin_password).await;
    let reader = sign_in(router, "reader", "reader password 1").await;

    // Only the admin may view Docs/Secret and, by inheritance, what is below.
    let restricted = call(
        router,
        "PUT",
        "/api/pages/Docs/Secret/permissions",
        Some(&admin),
        json!({"inherit": false, "view": ["user:admin"], "edit": []}),
    )
    .await;
    assert_eq!(restricted.status, 200, "{}", restricted.body);

    let mut timings = Timings::default();
    let t = &mut timings;
    for token in [None, Some(reader.as_str())] {
        // Ranked: the page titled Tides first, ahead of the tide notes; the
        // secret page, which outranks them all, neither listed nor counted.
        let tides = search(router, t, "tides", 1, token).await;
        let found = paths(&tides);
        assert_eq!(found[0], "Docs/Tides", "{found:?}");
        assert_eq!(total(&tides), (TIDE_NOTES + 2) as u64, "{tides}");
        assert!(found.iter().all(|p| !p.contains("Secret")), "{found:?}");
        // Highlighted, with the page text around the hit escaped.
        let snippet = tides["results"][0]["snippet"].as_str().unwrap();
        assert!(
            snippet.contains("&lt;notes&gt; &amp; <mark>tides</mark>"),
            "{snippet}"
        );
        for hit in tides["results"].as_array().unwrap() {
            let snippet = hit["snippet"].as_str().unwrap();
            assert!(snippet.contains("<mark>"), "{hit}");
        }

        // A phrase keeps its word order; the same words loose match more.
        let phrase = search(router, t, "\"spring tides\"", 1, token).await;
        assert_eq!(paths(&phrase), ["Docs/Spring"], "{phrase}");
        let phrase_snippet = phrase["results"][0]["snippet"].as_str().unwrap();
        assert!(
            phrase_snippet.contains("<mark>spring tides</mark>"),
            "{phrase_snippet}"
        );
        let loose = search(router, t, "spring tides", 1, token).await;
        assert_eq!(total(&loose), (TIDE_NOTES + 1) as u64, "{loose}");

        // Pages only the restricted tree holds: nothing at all, count 0.
        for q in ["xylophone", "\"tide tables\"", "vault"] {
            let none = search(router, t, q, 1, token).await;
            assert_eq!(
                (total(&none), paths(&none).len()),
                (0, 0),
                "{q} leaked: {none}"
            );
        }

        // A word every page has: all visible pages counted, 20 per page,
        // the last page short, nothing beyond it, no secret anywhere.
        let everything = search(router, t, "ledger", 1, token).await;
        assert_eq!(total(&everything), VISIBLE as u64);
        assert_eq!(paths(&everything).len(), 20);
        let last = VISIBLE.div_ceil(20);
        let tail = search(router, t, "ledger", last, token).await;
        assert_eq!(total(&tail), VISIBLE as u64);
        assert_eq!(paths(&tail).len(), VISIBLE - 20 * (last - 1));
        assert!(paths(&tail).iter().all(|p| !p.contains("Secret")));
        let beyond = search(router, t, "ledger", last + 1, token).await;
        assert_eq!((total(&beyond), paths(&beyond).len()), (VISIBLE as u64, 0));
    }

    // The admin sees exactly the hidden pages more, the secret one on top.
    let tides = search(router, t, "tides", 1, Some(&admin)).await;
    assert_eq!(total(&tides), (TIDE_NOTES + 3) as u64, "{tides}");
    let top: std::collections::BTreeSet<String> = paths(&tides).into_iter().take(2).collect();
    assert_eq!(
        top,
        [
            "Docs/Secret/Tide Tables".to_owned(),
            "Docs/Tides".to_owned()
        ]
        .into(),
        "{tides}"
    );
    let buried = search(router, t, "xylophone", 1, Some(&admin)).await;
    assert_eq!(paths(&buried), ["Docs/Secret/Deep/Buried"]);
    let everything = search(router, t, "ledger", 1, Some(&admin)).await;
    assert_eq!(total(&everything), (VISIBLE + HIDDEN) as u64);

    // The HTML page says the same: a count without the secret pages, and
    // for a secret-only word no count and no title.
    let html = call(
        router,
        "GET",
        "/search?q=ledger",
        Some(&reader),
        Value::Null,
    )
    .await;
    assert!(
        html.body
            .contains(&format!("{VISIBLE} page(s) match; showing 1–20.")),
        "{}",
        html.body
    );
    let html = call(
        router,
        "GET",
        "/search?q=xylophone",
        Some(&reader),
        Value::Null,
    )
    .await;
    assert!(html.body.contains("No pages match"), "{}", html.body);
    assert!(!html.body.contains("Buried"), "{}", html.body);
    assert!(!html.body.contains("page(s) match"), "{}", html.body);

    report(&format!(
        "search_scale: `backchannel page import` of {files} files took {:.1} s",
        import_time.as_secs_f64()
    ));
    let slowest = timings.0.iter().max_by_key(|(_, took)| *took).unwrap();
    let sum: Duration = timings.0.iter().map(|(_, took)| *took).sum();
    report(&format!(
        "search_scale: {} searches over {files} pages: mean {:.1} ms, slowest {:.1} ms ({})",
        timings.0.len(),
        sum.as_secs_f64() * 1000.0 / timings.0.len() as f64,
        slowest.1.as_secs_f64() * 1000.0,
        slowest.0
    ));
}
