//! The XSS corpus's URLs through a Connect wiki, in real Chromium (issue 17,
//! finding 8: "a `javascript:` URL [a wiki returned] runs on the plugin's
//! origin"). The rest of the corpus runs on the `backchannel` binary in
//! `tests/tests/xss_browser.rs`; that binary hosts no Connect wiki, so this
//! part runs here, on the plugin's Connect router served on a loopback port,
//! with the same payloads (`tests/xss/payloads.txt`) and the same
//! [`Detector`]: no dialog, no `on*` attribute, no `javascript:` URL in the
//! DOM.
//!
//! The URLs: every payload whole (attribute breakouts), and every URL inside
//! one (markdown link targets, `href`/`src` values, autolinks, reference
//! definitions: `javascript:` in mixed case, entity- and percent-encoded,
//! with control characters, `data:`, `vbscript:`), each also as a path on
//! the wiki's own origin, which the plugin keeps and must escape.
//!
//! Where a wiki's URLs show, and how they get there:
//! - **Transcript links** (the macro table's Transcripts row): the wiki's
//!   child-page endpoint (a local axum server standing in for it) answers
//!   each URL to the plugin's real [`ConnectHost::put_child_page`]; what
//!   that keeps is recorded as a transcript, as the publisher does, and
//!   must be http(s) on the wiki's origin. A second room holds every URL
//!   as it came, as if stored before that check existed, so the table's own
//!   guard is tested alone.
//! - **The page link** (the popup's info panel): each URL as the signed
//!   context's `page.url`, the payload as its title. A context refused
//!   with 400 is never rendered; one accepted is opened in Chromium.
//!
//! Without Chromium this prints `SKIPPED: ...` and passes, except under
//! `CI=true`.

use super::corpus::wiki_answering_from;
use super::*;
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::skip;
use backchannel_tests::xss::{self, Detector};
use plugin::store::Store;
use protocol::{RoomId, TranscriptRef};
use std::time::Duration;

const TEST: &str = "connect::xss_browser::no_url_from_a_wiki_runs_or_leaves_markup";
/// The whole run must finish within this, or the test fails rather than
/// hanging CI.
const BUDGET: Duration = Duration::from_secs(300);
const LINKS_ROOM: &str = "Links from the wiki";
const RAW_ROOM: &str = "Links stored raw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_url_from_a_wiki_runs_or_leaves_markup() {
    let Some((chromium, driver)) = skip::require(TEST, browser::find_chromium()) else {
        return;
    };
    let urls = url_payloads(&xss::payloads().expect("the corpus file"));
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let ada = driver.browser("ada").await.expect("ada's browser");
    let outcome = tokio::time::timeout(BUDGET, run(&ada, &urls)).await;
    let _ = ada.close().await;
    let report = match outcome {
        Ok(result) => result.unwrap(),
        Err(_) => panic!("the Connect URL corpus took longer than {BUDGET:?}"),
    };
    skip::announce(&format!(
        "connect url corpus: {} urls; transcript links kept {}, \
         refused {}; page links accepted {}, refused {}",
        urls.len(),
        report.kept,
        urls.len() - report.kept,
        report.pages_accepted,
        urls.len() - report.pages_accepted,
    ));
    for c in &report.coverage {
        skip::announce(&format!("  {}: {} page(s)", c.surface, c.pages));
    }
    if !report.findings.is_empty() {
        let lines: Vec<String> = report
            .findings
            .iter()
            .take(60)
            .map(|f| {
                // The signed URL's token is long and says nothing here.
                let page = f.page.split("?jwt=").next().unwrap_or_default();
                format!("  {page}: {}", f.what)
            })
            .collect();
        panic!(
            "{} finding(s) on rendered pages:\n{}",
            report.findings.len(),
            lines.join("\n")
        );
    }
    assert!(
        report.wrong.is_empty(),
        "{}",
        report.wrong[..report.wrong.len().min(60)].join("\n")
    );
    // Both ways out must have been taken, or the corpus tests one of them
    // only: hostile URLs refused, the wiki's own (with breakouts) kept.
    assert!(
        report.kept > 0 && report.kept < urls.len(),
        "{}",
        report.kept
    );
    assert!(
        report.pages_accepted > 0 && report.pages_accepted < urls.len(),
        "{}",
        report.pages_accepted
    );
}

struct Report {
    coverage: Vec<xss::Coverage>,
    findings: Vec<xss::Finding>,
    /// Transcript URLs `put_child_page` kept.
    kept: usize,
    /// Page URLs a signed context was accepted with.
    pages_accepted: usize,
    /// What else is wrong: transcript links kept, or page links shown, that
    /// lead somewhere other than the wiki; a table listing fewer than it holds.
    wrong: Vec<String>,
}

async fn run(browser: &Browser, urls: &[String]) -> anyhow::Result<Report> {
    let answer = Arc::new(Mutex::new(Value::Null));
    let wiki = wiki_answering_from(answer.clone()).await;
    let h = harness_with(ConnectConfig {
        allow_private_base_urls: true,
        ..ConnectConfig::default()
    })
    .await;
    let installed = h.install_at(CLIENT_KEY, SECRET, &wiki, None).await;
    assert_eq!(
        installed.status,
        StatusCode::NO_CONTENT,
        "{}",
        installed.body
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let site = format!("http://{}", listener.local_addr()?);
    let router = h.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let wiki_page = format!("{wiki}/pages/42");
    let links = open_room(&h, LINKS_ROOM, &wiki_page).await;
    let raw = open_room(&h, RAW_ROOM, &wiki_page).await;
    let page = PageId::new("wiki-one:42");
    let origin = reqwest::Url::parse(&wiki)?.origin();
    let first_day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
    let mut kept = 0;
    // Links kept or shown that do not lead to the wiki, tables that list
    // less than they hold: reported at the end, after the detector's findings.
    let mut wrong = Vec::new();
    for (n, url) in urls.iter().enumerate() {
        let date = first_day + chrono::Days::new(n as u64);
        *answer.lock().unwrap() = json!({"path": format!("Chat/{n}"), "url": url, "changed": true});
        let child = ChildPage {
            segments: vec!["Chat".into(), LINKS_ROOM.into(), date.to_string()],
            title: date.to_string(),
            markdown: "a day".into(),
        };
        if let Ok(outcome) = h.host.put_child_page(&page, child).await {
            // Kept means a link on the wiki (and the table shows it as is).
            if reqwest::Url::parse(&outcome.url).map(|l| l.origin()) != Ok(origin.clone()) {
                wrong.push(format!("transcript link {url:?} kept as {:?}", outcome.url));
            }
            let kept_ref = TranscriptRef {
                date,
                path: outcome.path,
                url: outcome.url,
            };
            h.store
                .set_transcript(&RoomId::new(&links), &kept_ref)
                .await?;
            kept += 1;
        }
        let as_it_came = TranscriptRef {
            date,
            path: format!("Chat/{n}"),
            url: url.clone(),
        };
        h.store
            .set_transcript(&RoomId::new(&raw), &as_it_came)
            .await?;
    }

    let mut detector = Detector::install(browser).await?;
    browser.goto(&format!("{site}/rooms/{links}")).await?;
    detector.self_check().await?;
    for (surface, name, expected_links) in [
        (
            "macro table (transcript links kept)",
            LINKS_ROOM,
            Some(kept),
        ),
        ("macro table (transcript links stored raw)", RAW_ROOM, None),
    ] {
        let url = format!("{site}{}", macro_url(name, "ada", &wiki_page, "read"));
        detector.check(surface, &url).await?;
        // Every transcript is listed (the stored ones all show their date),
        // and every kept one is a link: the table was not blind.
        let shown = browser
            .eval(
                "const cell = document.querySelector('td.bc-transcripts');
                 return cell ? [cell.textContent.match(/\\d{4}-\\d{2}-\\d{2}/g).length,
                                cell.querySelectorAll('a[href]').length] : null;",
                Vec::new(),
            )
            .await?;
        let listed = if name == LINKS_ROOM { kept } else { urls.len() };
        if shown[0] != listed || expected_links.is_some_and(|links| shown[1] != links) {
            wrong.push(format!(
                "{surface}: [dates, links] shown {shown}, expected {listed} dates \
                 and {expected_links:?} links"
            ));
        }
    }

    let mut pages_accepted = 0;
    for (n, url) in urls.iter().enumerate() {
        let popup = |secret| {
            let mut context = context("42", "read");
            context["page"]["url"] = json!(url);
            context["page"]["title"] = json!(format!("{url} (page {n})"));
            let canonical = format!("GET&/rooms/{links}&");
            let token = sign(secret, &claims(CLIENT_KEY, "ada", &canonical, context));
            format!("/rooms/{links}?jwt={token}")
        };
        // Tried first without the browser: a token is single use, and a
        // refused context is an error in JSON, nothing to render.
        let tried = h.get(&popup(SECRET), None).await;
        if tried.status == StatusCode::BAD_REQUEST {
            assert_eq!(
                tried.json()["error"]["code"],
                "invalid_input",
                "{}",
                tried.body
            );
            continue;
        }
        assert_eq!(tried.status, StatusCode::OK, "{url:?}: {}", tried.body);
        pages_accepted += 1;
        detector
            .check("popup (page link)", &format!("{site}{}", popup(SECRET)))
            .await?;
        let link = browser
            .eval(
                "const a = document.querySelector('a.bc-page'); return a && a.href;",
                Vec::new(),
            )
            .await?;
        let link = link.as_str().unwrap_or_default();
        if reqwest::Url::parse(link).map(|l| l.origin()) != Ok(origin.clone()) {
            wrong.push(format!("{url:?} shown as the page link {link:?}"));
        }
    }

    Ok(Report {
        coverage: detector.coverage().to_vec(),
        findings: detector.findings().to_vec(),
        kept,
        pages_accepted,
        wrong,
    })
}

/// A signed macro URL for room `name` on page 42, as the wiki puts it in
/// its page for `user` with `access`.
fn macro_url(name: &str, user: &str, page_url: &str, access: &str) -> String {
    let query = format!("page=42&room={}", name.replace(' ', "%20"));
    let mut context = context("42", access);
    context["page"]["url"] = json!(page_url);
    let token = sign(
        SECRET,
        &claims(
            CLIENT_KEY,
            user,
            &format!("GET&/macro/chat&{query}"),
            context,
        ),
    );
    format!("/macro/chat?{query}&jwt={token}")
}

/// Creates room `name` on page 42 (an editor's first view does); its id.
async fn open_room(h: &Harness, name: &str, page_url: &str) -> String {
    let reply = h
        .get(&macro_url(name, "grace", page_url, "write"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    room_id(&reply.body)
}

/// The corpus's URLs: each payload whole, each URL inside one, and each of
/// those as a path on the wiki's own origin (a relative link the plugin
/// resolves there), without repeats.
fn url_payloads(payloads: &[String]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let mut add = |url: &str| {
        for url in [url.to_owned(), format!("/pages/{url}")] {
            if !url.trim().is_empty() && !urls.contains(&url) {
                urls.push(url);
            }
        }
    };
    for payload in payloads {
        add(payload);
        for url in urls_inside(payload) {
            add(&url);
        }
    }
    urls
}

/// The URLs a payload carries: markdown link targets `](...)` (with nested
/// parentheses), reference definitions `]: ...`, attribute values
/// (`href=`, `src=`, `action=`, `formaction=`, `data=`, quoted or not) and
/// autolinks `<scheme:...>`.
fn urls_inside(payload: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in payload.match_indices("](") {
        let rest = &payload[at + 2..];
        let mut depth = 0usize;
        let end = rest
            .char_indices()
            .find(|&(_, c)| match c {
                '(' => {
                    depth += 1;
                    false
                }
                ')' if depth == 0 => true,
                ')' => {
                    depth -= 1;
                    false
                }
                _ => false,
            })
            .map_or(rest.len(), |(i, _)| i);
        found.push(rest[..end].trim().to_owned());
    }
    for (at, _) in payload.match_indices("]: ") {
        let rest = &payload[at + 3..];
        found.push(
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let lower = payload.to_ascii_lowercase();
    for attr in ["href=", "src=", "action=", "formaction=", "data="] {
        for (at, _) in lower.match_indices(attr) {
            let rest = &payload[at + attr.len()..];
            let value = match rest.chars().next() {
                Some(quote @ ('"' | '\'' | '`')) => rest[1..].split(quote).next(),
                _ => rest.split([' ', '>']).next(),
            };
            found.extend(value.map(str::to_owned));
        }
    }
    if let Some(inner) = payload
        .strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .filter(|inner| inner.contains(':') && !inner.contains(' '))
    {
        found.push(inner.to_owned());
    }
    found.retain(|url| !url.is_empty());
    found
}

#[test]
fn the_corpus_yields_its_url_classes() {
    let urls = url_payloads(&xss::payloads().unwrap());
    for class in [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java&#115;cript:alert(1)",
        "&#x6A;avascript&colon;alert(1)",
        "java%73cript:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "JAVASCRIPT:alert(1)",
        "\" onmouseover=\"alert(1)\" autofocus onfocus=\"alert(1)\" x=\"",
        "/pages/\"><img src=x onerror=alert(1)>",
    ] {
        assert!(
            urls.iter().any(|u| u == class),
            "{class:?} not in {urls:#?}"
        );
    }
}
