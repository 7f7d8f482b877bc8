//! The XSS corpus in real Chromium (issue 17, "Test suites"): every payload
//! of `tests/xss/payloads.txt` goes in through each place a user can put
//! text, and every page that shows it is rendered by headless Chromium and
//! checked by [`backchannel_tests::xss::Detector`]: no dialog (trapped or
//! native), no `on*` attribute, no `javascript:` URL, no injected script,
//! frame or object in the DOM.
//!
//! Inputs, per payload: a page title and body (`Corpus/P<n>`), a room name
//! through a `{chat:...}` macro parameter on the `Corpus` page, a message
//! body and an uploaded file's name in that room, and the same as live
//! messages and files in one room while its wasm popup is open. Display
//! names cannot carry markup on the reference wiki (user names are letters,
//! digits, `-`, `_`, `.`), so they are not an input here.
//!
//! Rooms with people (issue 19), per payload: a public group room of ada's
//! named and described by it, an uploader's room of that name inviting ada
//! with it as the comment, and an invitation from ada declined with it as
//! the message. They show on ada's `/chats` (invitations, my rooms, the
//! directory, notifications) and in each room's members panel and
//! settings form.
//!
//! Profiles (issue 20), per payload: a person's display name, status and
//! contact links (e-mail, phone, XMPP; shown to ada, who is signed in), each
//! kept where the profile rules take it, and their `/users/{name}` page
//! rendered. Ada and the uploaders take turns, a payload each, so the pages
//! are checked as the profiles are written (in phase 1).
//!
//! Surfaces, in two phases on the same data:
//! 1. **Without the wasm bundle** (the server points at no UI directory, as
//!    for a reader without JavaScript): the no-JS popup of every room, every
//!    payload page, the macro tables, every room's transcript page, the
//!    search results (titles and snippets) for pages and transcripts, the
//!    `/chats` page and every group room's popup with its members panel;
//!    and per message the no-JavaScript reply page (its quote) and edit
//!    page (its text in the form, for ada's own), and a thread page per room
//!    (issue 20).
//! 2. **With the bundle**: the live macro tables, the wasm popup receiving
//!    every payload as live messages and files, a transcript and a search.
//!
//! Connect-returned URLs (transcript and page links from an external wiki)
//! run in `plugin/tests/connect/xss_browser.rs`, with these payloads and the
//! same detector: the `backchannel` binary hosts no Connect wiki, so that
//! test serves the plugin's Connect router itself, beside a stand-in wiki.
//!
//! Artifacts: `target/e2e/xss_browser-server.log`; without Chromium, the
//! binary or the bundle this prints `SKIPPED: ...` and passes, except under
//! `CI=true`.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use backchannel_tests::api::{room_link, Api};
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::xss::{self, Detector};
use backchannel_tests::{skip, workspace};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};

const TEST: &str = "xss_browser::no_payload_runs_or_leaves_markup_on_any_surface";
/// The whole run must finish within this, or the test fails rather than
/// hanging CI.
const BUDGET: Duration = Duration::from_secs(600);
const ADA: (&str, &str) = ("ada", "ada-xss-password-1");
/// Uploads are limited per user per minute (20); the corpus is shared out.
const UPLOADERS: usize = 10;
const UPLOADER_PASSWORD: &str = "uploader-xss-password";
/// Words that make every payload page and transcript findable.
const PAGE_WORD: &str = "xsscorpus";
const MESSAGE_WORD: &str = "xssmsg";
const CORPUS_ROOM: &str = "Corpus messages";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payload_runs_or_leaves_markup_on_any_surface() {
    let Some(binary) = skip::require(TEST, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(TEST, browser::find_chromium()) else {
        return;
    };
    let Some(ui) = skip::require(
        TEST,
        workspace::require_ui_bundle().map_err(|e| e.to_string()),
    ) else {
        return;
    };
    let payloads = xss::payloads().expect("the corpus file");
    let no_ui = workspace::artifacts_dir()
        .expect("target/e2e")
        .join("xss-no-ui-bundle");
    let no_ui = no_ui.to_string_lossy().into_owned();
    let mut server = TestServer::start_with_env(
        "xss_browser",
        &binary,
        &[
            // The corpus writes a page per payload and a room per room-name
            // payload within seconds: the limits are not what it tests.
            ("BACKCHANNEL_POST_LIMIT", "100000/1"),
            ("BACKCHANNEL_PAGE_WRITE_LIMIT", "100000/1"),
            ("BACKCHANNEL_ROOM_LIMIT", "100000/1"),
            ("BACKCHANNEL_INVITE_LIMIT", "100000/1"),
            ("BACKCHANNEL_PROFILE_LIMIT", "100000/1"),
            ("BACKCHANNEL_UI_DIR", no_ui.as_str()),
        ],
    )
    .expect("the server starts");
    server.add_admin(ADA.0, ADA.1).expect("ada is created");
    for n in 0..UPLOADERS {
        server
            .add_user(&format!("up{n}"), UPLOADER_PASSWORD)
            .expect("an uploader is created");
    }
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let ada = driver.browser("ada").await.expect("ada's browser");

    let started = Instant::now();
    let ui = ui.to_string_lossy().into_owned();
    let run = run(&mut server, &binary, &ui, &ada, &payloads);
    let outcome = tokio::time::timeout(BUDGET, run).await;
    let _ = ada.close().await;
    let report = match outcome {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => panic!(
            "{error:#}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        ),
        Err(_) => panic!("the corpus run took longer than {BUDGET:?}"),
    };
    let pages: usize = report.coverage.iter().map(|c| c.pages).sum();
    skip::announce(&format!(
        "xss corpus: {} payloads, {pages} pages checked, {} inputs refused, {:.1?} in all",
        payloads.len(),
        report.refused.len(),
        started.elapsed()
    ));
    for c in &report.coverage {
        skip::announce(&format!(
            "  {}: {} page(s), {} showing payload text",
            c.surface, c.pages, c.showing
        ));
    }
    // A surface that never shows a payload tests nothing: the corpus must
    // have reached it (escaped, as text).
    let blind: Vec<&str> = report
        .coverage
        .iter()
        .filter(|c| c.showing == 0)
        .map(|c| c.surface.as_str())
        .collect();
    assert!(blind.is_empty(), "no payload text reached {blind:?}");
    for refused in &report.refused {
        skip::announce(&format!("refused (not rendered, so not tested): {refused}"));
    }
    if !report.findings.is_empty() {
        let lines: Vec<String> = report
            .findings
            .iter()
            .take(60)
            .map(|f| format!("  {}: {}", f.page, f.what))
            .collect();
        panic!(
            "{} finding(s) on rendered pages:\n{}",
            report.findings.len(),
            lines.join("\n")
        );
    }
}

struct Report {
    coverage: Vec<xss::Coverage>,
    findings: Vec<xss::Finding>,
    /// Inputs the server refused (4xx): named so a shrinking corpus shows.
    refused: Vec<String>,
}

/// What seeding made.
struct Seeded {
    /// One room per payload that could be a room name, holding that
    /// payload as a message and a file.
    rooms: Vec<String>,
    /// `Corpus messages`: the payloads that could not name a room, and
    /// later every payload live.
    corpus_room: String,
    refused: Vec<String>,
}

async fn run(
    server: &mut TestServer,
    binary: &std::path::Path,
    ui: &str,
    browser: &Browser,
    payloads: &[String],
) -> Result<Report> {
    let admin = Api::sign_in(server.port(), ADA.0, ADA.1).await?;
    let mut uploaders = Vec::new();
    for n in 0..UPLOADERS {
        uploaders.push(Api::sign_in(server.port(), &format!("up{n}"), UPLOADER_PASSWORD).await?);
    }
    let seeded = seed(&admin, &uploaders, payloads).await?;
    let mut refused = seeded.refused.clone();
    let (group_rooms, people_refused) = seed_people(&admin, &uploaders, payloads).await?;
    refused.extend(people_refused);

    // Every day page is written now, in full, rather than waiting for the
    // publisher's once-a-minute refresh.
    server.stop();
    let rebuilt = std::process::Command::new(binary)
        .args(["transcripts", "rebuild", "--data"])
        .arg(server.data_dir())
        .output()?;
    if !rebuilt.status.success() {
        bail!(
            "transcripts rebuild failed: {}",
            String::from_utf8_lossy(&rebuilt.stderr)
        );
    }
    server.restart()?;
    let base = server.url("");

    chat::sign_in(browser, &base, ADA.0, ADA.1).await?;
    let mut detector = Detector::install(browser).await?;
    browser.goto(&format!("{base}/")).await?;
    detector.self_check().await?;

    // Phase 1: server-rendered, no wasm bundle.
    detector
        .check("macro tables", &format!("{base}/pages/Corpus"))
        .await?;
    for n in 0..payloads.len() {
        detector
            .check("page", &format!("{base}/pages/Corpus/P{n}"))
            .await?;
    }
    let mut transcripts = Vec::new();
    for room in seeded.rooms.iter().chain([&seeded.corpus_room]) {
        detector
            .check("no-JS popup", &format!("{base}/rooms/{room}"))
            .await?;
        let info = admin.get_json(&format!("/api/rooms/{room}")).await?;
        for day in info["transcripts"].as_array().into_iter().flatten() {
            transcripts.push(transcript_url(day)?);
        }
    }
    // The no-JavaScript reply (its quote) and edit (its textarea) pages
    // show each message's text again, differently; a thread page shows it
    // as the popup does, so one per room will do.
    for room in seeded.rooms.iter().chain([&seeded.corpus_room]) {
        for (n, message) in admin.history_after(room, 0).await?.into_iter().enumerate() {
            let seq = message.seq;
            detector
                .check("reply quote", &format!("{base}/rooms/{room}?reply={seq}"))
                .await?;
            if message.author.as_str() == ADA.0 {
                detector
                    .check("edit form", &format!("{base}/rooms/{room}?edit={seq}"))
                    .await?;
            }
            if n == 0 {
                detector
                    .check("thread page", &format!("{base}/rooms/{room}/threads/{seq}"))
                    .await?;
            }
        }
    }
    if transcripts.len() < seeded.rooms.len() {
        bail!(
            "only {} transcript pages for {} rooms with messages",
            transcripts.len(),
            seeded.rooms.len()
        );
    }
    for url in &transcripts {
        detector
            .check("transcript", &format!("{base}{url}"))
            .await?;
    }
    detector
        .check("chats page", &format!("{base}/chats"))
        .await?;
    let people: Vec<(String, &Api)> = std::iter::once((ADA.0.to_owned(), &admin))
        .chain(
            uploaders
                .iter()
                .enumerate()
                .map(|(n, api)| (format!("up{n}"), api)),
        )
        .collect();
    for (n, payload) in payloads.iter().enumerate() {
        let (who, api) = &people[n % people.len()];
        refused.extend(seed_profile(api, payload).await?);
        detector
            .check("profile page", &format!("{base}/users/{who}"))
            .await?;
    }
    for room in &group_rooms {
        detector
            .check("members panel", &format!("{base}/rooms/{room}"))
            .await?;
    }
    for word in [PAGE_WORD, MESSAGE_WORD] {
        let total = admin.get_json(&format!("/api/search?q={word}")).await?["total"]
            .as_u64()
            .unwrap_or(0) as usize;
        if total == 0 {
            bail!("searching for {word} finds nothing");
        }
        for page in 1..=total.div_ceil(20) {
            detector
                .check("search", &format!("{base}/search?q={word}&page={page}"))
                .await?;
        }
    }

    // Phase 2: the same data with the wasm bundle, and live messages.
    server.stop();
    server.set_env("BACKCHANNEL_UI_DIR", ui);
    server.restart()?;
    browser.goto(&format!("{base}/pages/Corpus")).await?;
    browser
        .wait_until(
            "the live macro tables to fill in",
            "return document.querySelector('table.bc-macro') !== null",
        )
        .await?;
    // The tables refresh from /api/rooms once on load.
    tokio::time::sleep(Duration::from_secs(2)).await;
    detector.check_current("macro tables (wasm)").await?;

    detector
        .check(
            "wasm popup",
            &format!("{base}/rooms/{}", seeded.corpus_room),
        )
        .await?;
    chat::wait_connected(browser).await?;
    let shown_before: u64 = count_messages(browser).await?;
    let live = post_all(&admin, &uploaders, &seeded.corpus_room, payloads, "live").await?;
    refused.extend(live.refused);
    let want = shown_before + live.posted;
    browser
        .wait_until(
            "every live payload message in the wasm popup",
            &format!("return document.querySelectorAll('li.bc-msg').length >= {want}"),
        )
        .await
        .with_context(|| format!("waiting for {want} messages"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    detector.check_current("wasm popup (live)").await?;
    if let Some(url) = transcripts.last() {
        detector
            .check("transcript (wasm)", &format!("{base}{url}"))
            .await?;
    }
    detector
        .check("search (wasm)", &format!("{base}/search?q={PAGE_WORD}"))
        .await?;

    Ok(Report {
        coverage: detector.coverage().to_vec(),
        findings: detector.findings().to_vec(),
        refused,
    })
}

/// Writes every payload everywhere it can go before anything is rendered.
async fn seed(admin: &Api, uploaders: &[Api], payloads: &[String]) -> Result<Seeded> {
    let mut refused = Vec::new();
    // The macro page: one room per payload that fits a macro parameter.
    let mut markdown = format!("Rooms named by the corpus.\n\n{{chat:{CORPUS_ROOM}}}\n\n");
    let fits = |p: &String| !p.contains(['{', '}', '\n', '|']);
    for payload in payloads.iter().filter(|p| fits(p)) {
        markdown.push_str(&format!("{{chat:{payload}}}\n\n"));
    }
    let page = put_page(admin, "Corpus", None, &markdown).await?;
    let page_id = page["id"]
        .as_str()
        .ok_or_else(|| anyhow!("PUT /api/pages/Corpus gave no id: {page}"))?
        .to_owned();
    let corpus_room = macro_room(admin, &page_id, CORPUS_ROOM).await?;

    let mut rooms = Vec::new();
    for (n, payload) in payloads.iter().enumerate() {
        // A page per payload: its title and its body.
        let body = format!("{payload}\n\n{PAGE_WORD}");
        let path = format!("Corpus/P{n}");
        if let Err(error) = put_page(admin, &path, Some(payload), &body).await {
            refused.push(format!("page title {payload:?}: {error:#}"));
            put_page(admin, &path, None, &body).await?;
        }
        // A room named by it, holding it as a message and a file name.
        let room = if fits(payload) {
            match macro_room(admin, &page_id, payload.trim()).await {
                Ok(room) => {
                    rooms.push(room.clone());
                    room
                }
                Err(error) => {
                    refused.push(format!("room name {payload:?}: {error:#}"));
                    corpus_room.clone()
                }
            }
        } else {
            corpus_room.clone()
        };
        let one = std::slice::from_ref(payload);
        let uploader = &uploaders[n % uploaders.len()..];
        let posted = post_all(admin, uploader, &room, one, &format!("seed{n}")).await?;
        refused.extend(posted.refused);
    }
    Ok(Seeded {
        rooms,
        corpus_room,
        refused,
    })
}

/// Rooms with people: for each payload, ada's public group room named and
/// described by it (she invites an uploader, who declines with the payload
/// as the message), and an uploader's room of that name inviting ada with
/// the payload as the comment. Answers ada's rooms and what was refused.
async fn seed_people(
    admin: &Api,
    uploaders: &[Api],
    payloads: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut rooms = Vec::new();
    let mut refused = Vec::new();
    for (n, payload) in payloads.iter().enumerate() {
        let uploader = &uploaders[n % uploaders.len()];
        let who = format!("up{}", n % uploaders.len());
        let room = json!({"name": payload, "alias": format!("xss-{n}"), "topic": payload, "is_public": true});
        let room = match people_call(admin, "/api/rooms", room).await? {
            Ok(made) => made["id"].as_str().unwrap_or_default().to_owned(),
            Err(error) => {
                refused.push(format!("group room {payload:?}: {error}"));
                continue;
            }
        };
        rooms.push(room.clone());
        let invite = json!({"user": who, "comment": payload});
        let path = format!("/api/rooms/{room}/invitations");
        match people_call(admin, &path, invite).await? {
            Ok(invitation) => {
                let id = invitation["id"].as_u64().unwrap_or_default();
                let path = format!("/api/invitations/{id}/decline");
                if let Err(error) =
                    people_call(uploader, &path, json!({"message": payload})).await?
                {
                    refused.push(format!("decline message {payload:?}: {error}"));
                }
            }
            Err(error) => refused.push(format!("invitation comment {payload:?}: {error}")),
        }
        let theirs = json!({"name": payload, "alias": format!("xss-in-{n}"), "topic": payload});
        match people_call(uploader, "/api/rooms", theirs).await? {
            Ok(made) => {
                let path = format!(
                    "/api/rooms/{}/invitations",
                    made["id"].as_str().unwrap_or_default()
                );
                let invite = json!({"user": ADA.0, "comment": payload});
                if let Err(error) = people_call(uploader, &path, invite).await? {
                    refused.push(format!("invitation to ada {payload:?}: {error}"));
                }
            }
            Err(error) => refused.push(format!("uploader's room {payload:?}: {error}")),
        }
    }
    if rooms.is_empty() {
        bail!("no payload could name a group room");
    }
    Ok((rooms, refused))
}

/// POSTs `body`: the JSON answer, or the refusal (4xx) as text.
/// Writes `payload` into every field of `api`'s profile that takes it: each
/// field is tried on top of those already taken (a refused field would
/// refuse the whole profile). Answers the names and statuses refused;
/// most payloads are no address, which the contact fields refuse by
/// design, so those are not listed.
async fn seed_profile(api: &Api, payload: &str) -> Result<Vec<String>> {
    let mut profile = serde_json::Map::new();
    let mut refused = Vec::new();
    for field in ["name", "status", "email", "phone", "xmpp"] {
        let mut tried = profile.clone();
        tried.insert(field.to_owned(), Value::String(payload.to_owned()));
        let reply = api
            .request(reqwest::Method::PUT, "/api/users/me/profile")
            .json(&tried)
            .send()
            .await?;
        let status = reply.status();
        let text = reply.text().await?;
        if status.is_success() {
            profile = tried;
        } else if status.is_client_error() {
            if matches!(field, "name" | "status") {
                refused.push(format!("profile {field} {payload:?}: {status} {text}"));
            }
        } else {
            bail!("PUT /api/users/me/profile: {status} {text}");
        }
    }
    Ok(refused)
}

async fn people_call(api: &Api, path: &str, body: Value) -> Result<Result<Value, String>> {
    let reply = api
        .request(reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await?;
    let status = reply.status();
    let text = reply.text().await?;
    if status.is_success() {
        return Ok(Ok(serde_json::from_str(&text).unwrap_or(Value::Null)));
    }
    if status.is_client_error() {
        return Ok(Err(format!("{status} {text}")));
    }
    bail!("POST {path}: {status} {text}")
}

struct Posted {
    /// Messages the room should now show more of.
    posted: u64,
    refused: Vec<String>,
}

/// Posts each payload to `room` as a message (ada) and as a file name (an
/// uploader, round robin).
async fn post_all(
    admin: &Api,
    uploaders: &[Api],
    room: &str,
    payloads: &[String],
    tag: &str,
) -> Result<Posted> {
    let mut posted = 0;
    let mut refused = Vec::new();
    for (n, payload) in payloads.iter().enumerate() {
        let body = format!("{payload}\n\n{MESSAGE_WORD}");
        let reply = admin.post(room, &body, &format!("{tag}-{n}")).await?;
        if reply.status().is_success() {
            posted += 1;
        } else {
            let status = reply.status();
            refused.push(format!(
                "message {payload:?}: {status} {}",
                reply.text().await?
            ));
        }
        let uploader = &uploaders[n % uploaders.len()];
        let reply = upload(uploader, room, payload).await?;
        if reply.status().is_success() {
            posted += 1;
        } else {
            let status = reply.status();
            refused.push(format!(
                "file name {payload:?}: {status} {}",
                reply.text().await?
            ));
        }
    }
    Ok(Posted { posted, refused })
}

/// `PUT /api/pages/{path}`; the page as JSON.
async fn put_page(api: &Api, path: &str, title: Option<&str>, markdown: &str) -> Result<Value> {
    let mut body = json!({ "markdown": markdown });
    if let Some(title) = title {
        body["title"] = json!(title);
    }
    let mut tries = 0;
    loop {
        tries += 1;
        let reply = api
            .request(reqwest::Method::PUT, &format!("/api/pages/{path}"))
            .json(&body)
            .send()
            .await?;
        let status = reply.status();
        let text = reply.text().await?;
        if status.is_success() {
            return Ok(serde_json::from_str(&text)?);
        }
        // Seen here: a page write racing the transcript publisher's gets
        // SQLite's "database is locked" as a 500 (reported to issue 17).
        // Not this test's subject, so it says so and tries again.
        if status.is_server_error() && tries < 3 {
            skip::announce(&format!(
                "PUT /api/pages/{path} answered {status}, retrying: {text}"
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        bail!("PUT /api/pages/{path}: {status} {text}");
    }
}

/// The room a `{chat:NAME}` macro on page `page_id` shows (created on first
/// view, as when a reader opens the page).
async fn macro_room(api: &Api, page_id: &str, name: &str) -> Result<String> {
    let reply = api
        .request(reqwest::Method::GET, "/macro/chat")
        .query(&[("page", page_id), ("room", name)])
        .send()
        .await?;
    let status = reply.status();
    let table = reply.text().await?;
    if !status.is_success() {
        bail!("the macro for room {name:?}: {status} {table}");
    }
    room_link(&table).ok_or_else(|| anyhow!("the macro table for {name:?} has no room link"))
}

/// Uploads a small text file called `name` to `room`, with the name escaped
/// in `multipart/form-data` the way browsers do (`"`, CR, LF).
async fn upload(api: &Api, room: &str, name: &str) -> Result<reqwest::Response> {
    const BOUNDARY: &str = "xss-corpus-boundary-7f3a";
    let escaped = name
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{escaped}\"\r\n\
         Content-Type: text/plain\r\n\r\nxss corpus file\r\n--{BOUNDARY}--\r\n"
    );
    Ok(api
        .request(reqwest::Method::POST, &format!("/api/rooms/{room}/files"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await?)
}

/// A transcript entry of room info (`{date, path, url?}`) as a site path.
fn transcript_url(day: &Value) -> Result<String> {
    if let Some(url) = day["url"].as_str() {
        return Ok(url.to_owned());
    }
    let path = day["path"]
        .as_str()
        .ok_or_else(|| anyhow!("a transcript entry without a path: {day}"))?;
    let encoded: Vec<String> = path
        .split('/')
        .map(|segment| utf8_percent_encode(segment, NON_ALPHANUMERIC).to_string())
        .collect();
    Ok(format!("/pages/{}", encoded.join("/")))
}

async fn count_messages(browser: &Browser) -> Result<u64> {
    let count = browser
        .eval(
            "return document.querySelectorAll('li.bc-msg').length",
            Vec::new(),
        )
        .await?;
    count
        .as_u64()
        .ok_or_else(|| anyhow!("counting messages gave {count}"))
}
