//! Files in rooms, in real headless Chromium against the real binary:
//!
//! - Alice shares a file with the popup's attach button (WebDriver types its
//!   path into `#bc-file`), a progress bar shows while it goes, and the
//!   download round-trips byte for byte; a dropped file and a pasted image
//!   are shared too, and a file over the size cap is refused with a message.
//! - Bob sees each file live in the conversation and the info panel, and in
//!   the Welcome page's macro table.
//! - Hostile files (an SVG with script, an HTML file named `.png`, and a file
//!   named `"><img src=x onerror=alert(1)>.txt`) never run script in the
//!   popup (live and server-rendered), the macro table, the transcript page
//!   or opened directly; their responses carry nosniff, a sandboxing CSP and
//!   `Content-Disposition: attachment`.
//!
//! "Script ran" is detected three ways in every view: an open alert
//! (WebDriver's Get Alert Text succeeds), the marker the payloads set
//! (`document.title` = `PWNED`, `window.__bcPwned`), and an `img[src=x]`
//! element (the file name's markup becoming markup).
//!
//! Screenshots go to `target/e2e/files-*.png`; the server's output to
//! `target/e2e/files_browser-server.log`. Without Chromium, the binary or the
//! wasm bundle this prints `SKIPPED: ...` and passes, except under `CI=true`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use backchannel_tests::api::Api;
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::{skip, workspace};
use serde_json::{json, Value};

const TEST: &str = "files_browser::files_are_shared_and_never_run_script";
/// The whole journey must finish well within this, or the test fails.
const BUDGET: Duration = Duration::from_secs(300);

const ALICE: (&str, &str) = ("alice", "alice-files-password-1");
const BOB: (&str, &str) = ("bob", "bob-files-password-2");

/// An SVG that runs script three ways if it is ever rendered as a document.
const SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"
  onload="document.title='PWNED';window.__bcPwned='svg-onload';alert('svg-onload')">
<script>document.title='PWNED';window.__bcPwned='svg-script';alert('svg-script')</script>
<rect width="10" height="10"/></svg>
"#;
/// HTML under an image's name.
const HTML_AS_PNG: &str = "<!doctype html><html><head><title>PWNED</title></head><body>\
<script>document.title='PWNED';window.__bcPwned='html';alert('html')</script>\
<img src=x onerror=\"window.__bcPwned='html-img';alert('html-img')\"></body></html>\n";
/// A name that is markup, with markup inside too.
const EVIL_NAME: &str = "\"><img src=x onerror=alert(1)>.txt";
const EVIL_BODY: &str = "<script>document.title='PWNED';alert('txt')</script>\n";

/// A 1×1 PNG: real image bytes are the one thing shown inline.
const PNG: [u8; 67] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_shared_and_never_run_script() {
    let Some(binary) = skip::require(TEST, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(TEST, browser::find_chromium()) else {
        return;
    };
    let Some(_bundle) = skip::require(
        TEST,
        workspace::require_ui_bundle().map_err(|error| format!("{error:#}")),
    ) else {
        return;
    };

    let server = TestServer::start("files_browser", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    server.add_user(BOB.0, BOB.1).expect("bob is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let bob = driver.browser("bob").await.expect("bob's browser");

    let outcome = tokio::time::timeout(BUDGET, journey(&server, &binary, &alice, &bob)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    if let Some(failure) = failure {
        for browser in [&alice, &bob] {
            // An open alert blocks screenshots; dismiss it first.
            let _ = browser.client().dismiss_alert().await;
            if let Ok(path) = browser
                .screenshot(&format!("files-failure-{}", browser.who()))
                .await
            {
                skip::announce(&format!("screenshot: {}", path.display()));
            }
        }
        let _ = alice.close().await;
        let _ = bob.close().await;
        panic!(
            "{failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
    alice.close().await.expect("alice's browser closes");
    bob.close().await.expect("bob's browser closes");
}

async fn journey(server: &TestServer, binary: &Path, alice: &Browser, bob: &Browser) -> Result<()> {
    let base = server.url("");
    let mut room = String::new();
    for (browser, (user, password)) in [(alice, ALICE), (bob, BOB)] {
        chat::sign_in(browser, &base, user, password).await?;
        room = chat::open_welcome(browser, &base).await?.room_id;
        chat::join_chat(browser).await?;
        chat::wait_connected(browser).await?;
    }
    let room_url = alice.current_url().await?;
    chat::plant_reload_marker(alice).await?;
    let bob_api = Api::sign_in(server.port(), BOB.0, BOB.1).await?;

    // The attach button: a labelled, focusable file input.
    let attach = alice
        .eval(
            "const i = document.getElementById('bc-file');
             const l = document.querySelector('label[for=\"bc-file\"]');
             i.focus();
             return { label: l ? l.textContent.trim() : '', focused: document.activeElement === i,
                      multiple: i.multiple };",
            Vec::new(),
        )
        .await?;
    ensure!(
        attach["label"] == "Attach a file" && attach["focused"] == true,
        "the attach control should be a focusable file input labelled \"Attach a file\": {attach}"
    );

    // Alice shares a 3 MB file; a progress bar shows while it goes.
    let dir = tempfile::Builder::new()
        .prefix("files_browser-uploads-")
        .tempdir_in(workspace::artifacts_dir()?)?;
    let report: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    watch_progress(alice).await?;
    let report_url = upload(alice, dir.path(), "report.bin", &report).await?;
    ensure!(
        alice
            .eval("return window.__bcSawProgress === true;", Vec::new())
            .await?
            == Value::Bool(true),
        "no progress bar (#bc-uploads progress) showed while the file uploaded"
    );
    ensure!(
        chat::still_same_page(alice).await?,
        "sharing a file reloaded alice's popup; the wasm UI should upload in place"
    );
    alice.screenshot("files-alice-shared").await?;

    // The bytes come back exactly.
    let fetched = download(&bob_api, &report_url).await?;
    ensure!(
        fetched.bytes == report,
        "the download of report.bin differs from the upload ({} bytes vs {})",
        fetched.bytes.len(),
        report.len()
    );
    ensure!(
        fetched
            .header("content-disposition")
            .starts_with("attachment"),
        "a .bin file should download as an attachment: {:?}",
        fetched.headers
    );

    // Bob sees it live: in the conversation and in the info panel.
    let seen = chat::wait_for_message(bob, "report.bin")
        .await
        .context("bob did not see alice's file arrive live")?;
    ensure!(
        seen.author == "alice",
        "the file's message is by {:?}",
        seen.author
    );
    bob.wait_until(
        "report.bin listed in bob's info panel (#bc-room-files)",
        "const l = document.getElementById('bc-room-files');
         return l && l.textContent.includes('report.bin');",
    )
    .await?;
    bob.screenshot("files-bob-received").await?;

    // A real image is shown inline as a thumbnail and served inline.
    let png_url = upload(alice, dir.path(), "dot.png", &PNG).await?;
    let png = download(&bob_api, &png_url).await?;
    ensure!(png.bytes == PNG, "the PNG did not round-trip");
    ensure!(
        png.header("content-type") == "image/png"
            && png.header("content-disposition").starts_with("inline"),
        "a real PNG should be served inline as image/png: {:?}",
        png.headers
    );
    bob.wait_until(
        "the PNG as a thumbnail in bob's popup",
        "return !!document.querySelector('#bc-messages img.bc-thumb');",
    )
    .await?;

    // Dropped on the conversation, and pasted as an image.
    alice
        .eval(
            "const dt = new DataTransfer();
             dt.items.add(new File(['dropped bytes'], 'dropped-note.txt', {type: 'text/plain'}));
             const target = document.getElementById('bc-conversation');
             for (const type of ['dragenter', 'dragover', 'drop']) {
                 target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
             }
             return true;",
            Vec::new(),
        )
        .await?;
    chat::wait_for_message(alice, "dropped-note.txt")
        .await
        .context("a file dropped on the conversation was not shared")?;
    alice
        .eval(
            "const bytes = new Uint8Array(arguments[0]);
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], 'image.png', {type: 'image/png'}));
             const input = document.getElementById('bc-input');
             input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
             return true;",
            vec![json!(PNG.to_vec())],
        )
        .await?;
    chat::wait_for_message(alice, "pasted-")
        .await
        .context("an image pasted into the input was not shared")?;
    chat::wait_for_message(bob, "dropped-note.txt").await?;

    // Over the cap: refused with a clear message, before any byte goes.
    let huge = dir.path().join("huge.bin");
    std::fs::File::create(&huge)?.set_len(26 * 1024 * 1024)?;
    alice
        .wait_for("#bc-file")
        .await?
        .send_keys(&path_text(&huge)?)
        .await?;
    let notice = alice
        .wait_until(
            "a notice that huge.bin is too large",
            "const e = document.getElementById('bc-error');
             return e && !e.hidden && e.textContent.includes('too large') ? e.textContent : '';",
        )
        .await?;
    ensure!(
        notice
            .as_str()
            .is_some_and(|t| t.contains("25 MiB") && t.contains("huge.bin")),
        "the too-large notice should name the file and the limit: {notice}"
    );
    alice.screenshot("files-alice-too-large").await?;

    // The hostile files.
    let hostile = [
        ("evil.svg", SVG.as_bytes()),
        ("evil.png", HTML_AS_PNG.as_bytes()),
        (EVIL_NAME, EVIL_BODY.as_bytes()),
    ];
    let mut hostile_urls = Vec::new();
    for (name, bytes) in hostile {
        let url = upload(alice, dir.path(), name, bytes).await?;
        no_script_ran(alice, &format!("alice's popup after sharing {name:?}")).await?;
        hostile_urls.push((name, url, bytes));
    }
    for (name, url, bytes) in &hostile_urls {
        chat::wait_for_message(bob, name).await?;
        let link = file_link_text(bob, url).await?;
        ensure!(
            link == *name,
            "bob's popup should show the file name {name:?} as text, it shows {link:?}"
        );
        // The served headers, and the bytes as uploaded.
        let got = download(&bob_api, url).await?;
        ensure!(got.bytes == *bytes, "{name:?} did not round-trip");
        ensure!(
            got.header("x-content-type-options") == "nosniff"
                && got.header("content-security-policy").contains("sandbox")
                && got
                    .header("content-security-policy")
                    .contains("default-src 'none'")
                && got.header("content-disposition").starts_with("attachment")
                && got.header("content-type") == "application/octet-stream",
            "{name:?} must be served as a sandboxed, non-sniffed attachment: {:?}",
            got.headers
        );
    }
    no_script_ran(bob, "bob's popup (live)").await?;
    bob.screenshot("files-bob-hostile-live").await?;

    // The popup as the server renders it.
    bob.goto(&room_url).await?;
    bob.wait_for("body.bc-popup").await?;
    chat::wait_connected(bob).await?;
    for (name, url, _) in &hostile_urls {
        let link = file_link_text(bob, url).await?;
        ensure!(
            link == *name,
            "after a reload bob's popup shows {link:?} for {name:?}"
        );
    }
    no_script_ran(bob, "bob's popup (server-rendered)").await?;
    bob.screenshot("files-bob-hostile-reloaded").await?;

    // The macro table on the Welcome page lists every file, as text.
    bob.goto(&format!("{base}/")).await?;
    let table = bob.wait_for("table.bc-macro td.bc-files").await?;
    let listed = table.text().await?;
    for name in ["report.bin", "dot.png", "evil.svg", "evil.png", EVIL_NAME] {
        ensure!(
            listed.contains(name),
            "the macro table's files should list {name:?}: {listed:?}"
        );
    }
    no_script_ran(bob, "the Welcome page's macro table").await?;
    bob.screenshot("files-bob-macro-table").await?;

    // The transcript page (published now rather than on the minute).
    let rebuilt = std::process::Command::new(binary)
        .args(["transcripts", "rebuild", "--room", &room, "--data"])
        .arg(server.data_dir())
        .output()
        .context("running `backchannel transcripts rebuild`")?;
    ensure!(
        rebuilt.status.success(),
        "`backchannel transcripts rebuild` failed: {}{}",
        String::from_utf8_lossy(&rebuilt.stdout),
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    let info = bob_api.get_json(&format!("/api/rooms/{room}")).await?;
    let Some(transcript) = info["transcripts"]
        .as_array()
        .and_then(|days| days.last())
        .and_then(|day| day["url"].as_str())
    else {
        bail!("the room lists no transcript after a rebuild: {info}");
    };
    bob.goto(&format!("{base}{transcript}")).await?;
    bob.wait_until(
        "the transcript page listing the hostile file names",
        &format!(
            "return document.body && document.body.textContent.includes({});",
            json!(EVIL_NAME)
        ),
    )
    .await?;
    let links = bob
        .eval(
            "return Array.from(document.querySelectorAll('a[href*=\"/files/\"]')).map(a => a.textContent);",
            Vec::new(),
        )
        .await?;
    for name in ["report.bin", "evil.svg", "evil.png", EVIL_NAME] {
        ensure!(
            links
                .as_array()
                .is_some_and(|l| l.iter().any(|t| t == name)),
            "the transcript should link {name:?} by its name as text; its file links read {links}"
        );
    }
    no_script_ran(bob, "the transcript page").await?;
    bob.screenshot("files-bob-transcript").await?;

    // Opened directly: each downloads (or shows inert), and no script runs.
    for (name, url, _) in &hostile_urls {
        bob.goto(&format!("{base}/")).await?;
        // A download does not navigate; either way the check below holds.
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            bob.client().goto(&format!("{base}{url}")),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        no_script_ran(bob, &format!("{name:?} opened directly")).await?;
    }
    bob.screenshot("files-bob-direct").await?;
    Ok(())
}

/// Records on `window.__bcSawProgress` whether an upload progress bar ever
/// shows (uploads over loopback are too quick to catch by polling).
async fn watch_progress(browser: &Browser) -> Result<()> {
    browser
        .eval(
            "window.__bcSawProgress = false;
             new MutationObserver(() => {
                 if (document.querySelector('#bc-uploads:not([hidden]) progress')) {
                     window.__bcSawProgress = true;
                 }
             }).observe(document.body, {subtree: true, childList: true, attributes: true});
             return true;",
            Vec::new(),
        )
        .await?;
    Ok(())
}

/// Writes `bytes` to `dir/name`, shares it through the popup's file input,
/// waits for its message, and returns the file's URL as linked there.
async fn upload(browser: &Browser, dir: &Path, name: &str, bytes: &[u8]) -> Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    browser
        .wait_for("#bc-file")
        .await?
        .send_keys(&path_text(&path)?)
        .await
        .with_context(|| format!("choosing {name:?} in the file input"))?;
    chat::wait_for_message(browser, name)
        .await
        .with_context(|| format!("{name:?} was not shared"))?;
    let url = browser
        .eval(
            "const name = arguments[0];
             for (const li of document.querySelectorAll('#bc-messages li.bc-msg')) {
                 const a = li.querySelector('.bc-files a');
                 if (a && (li.querySelector('.bc-body').textContent.includes(name))) {
                     return a.getAttribute('href');
                 }
             }
             return '';",
            vec![json!(name)],
        )
        .await?;
    let Some(url) = url.as_str().filter(|u| u.starts_with("/files/")) else {
        bail!("the message for {name:?} links no /files/ URL: {url}");
    };
    Ok(url.to_owned())
}

/// The text of the conversation's link to `url` (file name as shown).
async fn file_link_text(browser: &Browser, url: &str) -> Result<String> {
    let deadline = std::time::Instant::now() + browser::WAIT;
    loop {
        let text = browser
            .eval(
                "for (const a of document.querySelectorAll('#bc-messages .bc-files a')) {
                     if (a.getAttribute('href') === arguments[0]) return a.textContent;
                 }
                 return null;",
                vec![json!(url)],
            )
            .await?;
        if let Some(text) = text.as_str() {
            return Ok(text.to_owned());
        }
        if std::time::Instant::now() > deadline {
            bail!("{}: no link to {url} in the conversation", browser.who());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fails if script from a payload ran in the page `browser` shows.
async fn no_script_ran(browser: &Browser, view: &str) -> Result<()> {
    if let Ok(text) = browser.client().get_alert_text().await {
        let _ = browser.client().dismiss_alert().await;
        bail!("{view}: an alert opened ({text:?}): a payload ran script");
    }
    let state = browser
        .eval(
            "let top = null;
             try { top = window.top.__bcPwned || null; } catch (e) {}
             return { title: document.title, pwned: window.__bcPwned || top,
                      injected: document.querySelectorAll('img[src=\"x\"]').length,
                      url: location.href };",
            Vec::new(),
        )
        .await?;
    ensure!(
        !state["title"]
            .as_str()
            .unwrap_or_default()
            .contains("PWNED")
            && state["pwned"].is_null()
            && state["injected"] == 0,
        "{view}: a payload ran or became markup: {state}"
    );
    Ok(())
}

/// A file's bytes and headers, fetched with Bob's token.
struct Fetched {
    bytes: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

async fn download(api: &Api, url: &str) -> Result<Fetched> {
    let response = api
        .request(reqwest::Method::GET, url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    ensure!(
        response.status() == 200,
        "GET {url} answered {}",
        response.status()
    );
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let bytes = response.bytes().await?.to_vec();
    Ok(Fetched { bytes, headers })
}

fn path_text(path: &Path) -> Result<String> {
    let absolute: PathBuf = std::fs::canonicalize(path)?;
    absolute
        .to_str()
        .map(str::to_owned)
        .context("the temp path is not UTF-8")
}
