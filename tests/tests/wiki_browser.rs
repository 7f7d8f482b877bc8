//! Issue 4's browser acceptance: in real, headless Chromium against the real
//! `backchannel` binary, a user signs in through the login form, adds a child
//! page of Welcome holding a `{chat:...}` macro through the no-JavaScript
//! forms, sees the chat table on it, edits it, and finds it with the search
//! box. Then an admin restricts the page through its permissions form, and
//! a second user who found it a moment ago gets no result and no count for
//! the same phrase, nor the page itself.
//!
//! Screenshots go to `target/e2e/wiki-*.png`; the server's output to
//! `target/e2e/wiki_browser-server.log`. Without Chromium or the binary this
//! prints `SKIPPED: ...` and passes, except under `CI=true`. The wasm bundle
//! is not needed: every step is a plain HTML form.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use backchannel_tests::browser::{self, Browser, Chromedriver, WAIT};
use backchannel_tests::chat;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::skip;
use fantoccini::elements::Element;
use fantoccini::Locator;
use serde_json::{json, Value};

const TEST: &str = "wiki_browser::create_edit_and_find_a_page_with_a_chat_macro";
/// The whole journey must finish well within this, or the test fails
/// rather than hanging CI.
const BUDGET: Duration = Duration::from_secs(240);

const ALICE: (&str, &str) = ("alice", "alice-wiki-password-1");
const BOB: (&str, &str) = ("bob", "bob-wiki-password-2");
const ADA: (&str, &str) = ("ada", "ada-admin-password-3");

/// The child page Alice creates under Welcome, and where it lives.
const PAGE_NAME: &str = "Harbor Plans";
const PAGE_PATH: &str = "/pages/Welcome/Harbor Plans";
const ROOM: &str = "Some Room";
const FIRST_TEXT: &str = "The lighthouse keepers meet on Tuesdays.";
const EDITED_TEXT: &str = "The lighthouse keepers now gather on Thursdays at the quay.";
/// What people type in the search box to find the edited page.
const PHRASE: &str = "\"gather on Thursdays\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_and_find_a_page_with_a_chat_macro() {
    let Some(binary) = skip::require(TEST, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(TEST, browser::find_chromium()) else {
        return;
    };

    let server = TestServer::start("wiki_browser", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    server.add_user(BOB.0, BOB.1).expect("bob is created");
    server.add_admin(ADA.0, ADA.1).expect("ada is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let bob = driver.browser("bob").await.expect("bob's browser");
    let ada = driver.browser("ada").await.expect("ada's browser");

    let outcome = tokio::time::timeout(BUDGET, journey(&server, &alice, &bob, &ada)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    if let Some(failure) = failure {
        for browser in [&alice, &bob, &ada] {
            let name = format!("wiki-failure-{}", browser.who());
            if let Ok(path) = browser.screenshot(&name).await {
                skip::announce(&format!("screenshot: {}", path.display()));
            }
        }
        for browser in [alice, bob, ada] {
            let _ = browser.close().await;
        }
        panic!(
            "{failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
    for browser in [alice, bob, ada] {
        browser.close().await.expect("the browser closes");
    }
}

async fn journey(server: &TestServer, alice: &Browser, bob: &Browser, ada: &Browser) -> Result<()> {
    let base = server.url("");

    // Alice signs in through the form and lands on the Welcome page.
    chat::sign_in(alice, &base, ALICE.0, ALICE.1).await?;
    alice.wait_for("main h1").await?;
    let who = text(alice, "header .wiki-user").await?;
    ensure!(
        who == ALICE.0,
        "after signing in the header should say alice is signed in; it names {who:?}"
    );

    // She adds a child page of Welcome: name first, then the create form.
    click_tool(alice, "Add child page").await?;
    wait_path(alice, "/new/Welcome").await?;
    alice
        .wait_for("input#name")
        .await?
        .send_keys(PAGE_NAME)
        .await?;
    alice
        .wait_for(r#"form.page-new button[type="submit"]"#)
        .await?
        .click()
        .await?;
    wait_path(alice, "/edit/Welcome/Harbor Plans").await?;
    let heading = text(alice, "main h1").await?;
    ensure!(
        heading == "Create Welcome/Harbor Plans",
        "the create form's heading reads {heading:?}"
    );
    let title = alice.wait_for("input#title").await?;
    ensure!(
        title.prop("value").await?.as_deref() == Some(PAGE_NAME),
        "the title field should start as the page's name"
    );
    let first = format!("# Plans\n\n{FIRST_TEXT}\n\n{{chat:{ROOM}}}\n");
    alice
        .wait_for("textarea#markdown")
        .await?
        .send_keys(&first)
        .await?;
    alice.screenshot("wiki-1-create-form").await?;
    submit(alice, "form.page-edit").await?;

    // The page shows the text and the chat room's table, not the macro.
    wait_path(alice, PAGE_PATH).await?;
    let room_id = check_page(alice, FIRST_TEXT, None).await?;
    let crumbs = text(alice, "nav.breadcrumbs").await?;
    ensure!(
        crumbs.contains("Welcome"),
        "the breadcrumbs should lead back to Welcome; they read {crumbs:?}"
    );
    alice.screenshot("wiki-2-page-created").await?;
    alice.goto(&format!("{base}/")).await?;
    let children = text(alice, "section.children").await?;
    ensure!(
        children.contains(PAGE_NAME),
        "Welcome's child pages should list {PAGE_NAME:?}; they read {children:?}"
    );

    // She edits it: the form holds what she wrote; the page then shows the
    // new text, and the same room (same name on the same page).
    alice.goto(&url(&base, PAGE_PATH)).await?;
    click_tool(alice, "Edit").await?;
    wait_path(alice, "/edit/Welcome/Harbor Plans").await?;
    let markdown = alice.wait_for("textarea#markdown").await?;
    let before = markdown.prop("value").await?.unwrap_or_default();
    ensure!(
        before.contains(FIRST_TEXT) && before.contains("{chat:Some Room}"),
        "the edit form should hold the page's markdown; it holds {before:?}"
    );
    markdown.clear().await?;
    let edited = format!("# Plans\n\n{EDITED_TEXT}\n\n{{chat:{ROOM}}}\n");
    markdown.send_keys(&edited).await?;
    alice.screenshot("wiki-3-edit-form").await?;
    submit(alice, "form.page-edit").await?;
    wait_path(alice, PAGE_PATH).await?;
    check_page(alice, EDITED_TEXT, Some(&room_id)).await?;
    let content = text(alice, "article.page-content").await?;
    ensure!(
        !content.contains(FIRST_TEXT),
        "the old text is still shown after the edit: {content:?}"
    );
    alice.screenshot("wiki-4-page-edited").await?;

    // She finds it with the search box by a phrase of the new text, and
    // the old text no longer finds it.
    search_with_box(alice, PHRASE).await?;
    expect_one_hit(alice).await?;
    alice.screenshot("wiki-5-search-results").await?;
    alice
        .wait_for("ol.search-results li a")
        .await?
        .click()
        .await?;
    wait_path(alice, PAGE_PATH).await?;
    check_page(alice, EDITED_TEXT, Some(&room_id)).await?;
    search_with_box(alice, "\"meet on Tuesdays\"").await?;
    expect_no_hit(alice, "the text before the edit").await?;

    // Bob may read it for now (the default rules): he finds it too.
    chat::sign_in(bob, &base, BOB.0, BOB.1).await?;
    search_with_box(bob, PHRASE).await?;
    expect_one_hit(bob).await?;

    // Ada, an admin, lets only alice view and edit it, with the page's
    // permissions form.
    chat::sign_in(ada, &base, ADA.0, ADA.1).await?;
    ada.goto(&url(&base, PAGE_PATH)).await?;
    click_tool(ada, "Permissions").await?;
    wait_path(ada, "/permissions/Welcome/Harbor Plans").await?;
    let inherit = ada.wait_for(r#"input[name="inherit"]"#).await?;
    ensure!(
        inherit.prop("checked").await?.as_deref() == Some("true"),
        "a new page should inherit its parent's rules"
    );
    inherit.click().await?;
    for field in ["textarea#view", "textarea#edit"] {
        let list = ada.wait_for(field).await?;
        list.clear().await?;
        list.send_keys("user:alice").await?;
    }
    ada.screenshot("wiki-6-permissions-form").await?;
    submit(ada, "form.page-permissions").await?;
    wait_text(ada, "p.effective", "This page has its own rules.").await?;

    // Bob's same search now finds nothing and counts nothing, in the page
    // and in the JSON API; the page and its link on Welcome are gone for him.
    search_with_box(bob, PHRASE).await?;
    expect_no_hit(bob, "a page bob may not view").await?;
    bob.screenshot("wiki-7-bob-finds-nothing").await?;
    let api = bob
        .eval(
            "return fetch('/api/search?q=' + encodeURIComponent(arguments[0])) \
               .then(r => r.json());",
            vec![json!(PHRASE)],
        )
        .await?;
    ensure!(
        api["total"] == json!(0) && api["results"] == json!([]),
        "bob's /api/search still reveals the page: {api}"
    );
    bob.goto(&url(&base, PAGE_PATH)).await?;
    let heading = text(bob, "main h1").await?;
    ensure!(
        heading == "Page not found",
        "bob opened the restricted page; its heading reads {heading:?}"
    );
    bob.goto(&format!("{base}/")).await?;
    let welcome = text(bob, "main").await?;
    ensure!(
        !welcome.contains(PAGE_NAME),
        "Welcome still lists the restricted page for bob: {welcome:?}"
    );

    // Alice, who may still view it, still finds it.
    search_with_box(alice, PHRASE).await?;
    expect_one_hit(alice).await?;
    Ok(())
}

/// Checks the created page as a reader sees it: its title, `expected` in
/// the content and no raw macro, and the chat table naming the room with a
/// Join Chat link to it (to `room` when known). Returns the room's id.
async fn check_page(browser: &Browser, expected: &str, room: Option<&str>) -> Result<String> {
    let who = browser.who();
    let heading = text(browser, "main h1").await?;
    ensure!(
        heading == PAGE_NAME,
        "{who}: the page's heading reads {heading:?}"
    );
    let content = text(browser, "article.page-content").await?;
    ensure!(
        content.contains(expected) && !content.contains("{chat:"),
        "{who}: the page should show {expected:?} and no raw macro; it shows {content:?}"
    );
    let table = browser
        .wait_for("article.page-content table.bc-macro")
        .await?;
    let room_id = table.attr("data-room").await?.unwrap_or_default();
    let name = text(browser, "table.bc-macro .bc-room-name").await?;
    ensure!(
        name == ROOM,
        "{who}: the chat table names the room {name:?}"
    );
    let join = browser.wait_for("table.bc-macro a.bc-join").await?;
    let label = join.text().await?;
    let href = join.attr("href").await?.unwrap_or_default();
    ensure!(
        label.trim() == "Join Chat" && !room_id.is_empty() && href == format!("/rooms/{room_id}"),
        "{who}: the table should offer Join Chat to /rooms/{room_id}; it has {label:?} -> {href:?}"
    );
    if let Some(room) = room {
        ensure!(
            room_id == room,
            "{who}: the edit moved the macro to another room ({room} became {room_id})"
        );
    }
    Ok(room_id)
}

/// `base` plus `path`, with spaces encoded as a browser would.
fn url(base: &str, path: &str) -> String {
    format!("{base}{}", path.replace(' ', "%20"))
}

/// The visible text of the first element matching `css`, or "" if none.
async fn text(browser: &Browser, css: &str) -> Result<String> {
    let value = browser
        .eval(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            vec![json!(css)],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().trim().to_owned())
}

/// Waits until the page at (decoded) `path` has loaded.
async fn wait_path(browser: &Browser, path: &str) -> Result<()> {
    let script = format!(
        "return decodeURIComponent(location.pathname) === {} && document.readyState === 'complete'",
        json!(path)
    );
    browser
        .wait_until(&format!("arriving at {path}"), &script)
        .await
        .map(drop)
}

/// Waits until `css`'s text is `expected`.
async fn wait_text(browser: &Browser, css: &str, expected: &str) -> Result<()> {
    let script = format!(
        "const e = document.querySelector({}); return !!e && e.innerText.trim() === {}",
        json!(css),
        json!(expected)
    );
    browser
        .wait_until(&format!("{css} reading {expected:?}"), &script)
        .await
        .map(drop)
}

/// Clicks a link in the page's tools (Edit, Add child page, ...) by its label.
async fn click_tool(browser: &Browser, label: &str) -> Result<()> {
    let xpath = format!("//nav[contains(@class, 'page-tools')]//a[normalize-space() = '{label}']");
    let link: Element = browser
        .client()
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("{}: no {label:?} link in the page tools", browser.who()))?;
    link.click().await?;
    Ok(())
}

/// Presses the submit button of the form matching `form`.
async fn submit(browser: &Browser, form: &str) -> Result<()> {
    browser
        .wait_for(&format!(r#"{form} button[type="submit"]"#))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Types `query` into the search box in the page header and submits it.
async fn search_with_box(browser: &Browser, query: &str) -> Result<()> {
    // Mark the page being left, so the wait below sees the new results
    // and not an earlier search's.
    browser
        .eval("window.bcBeforeSearch = true;", Vec::new())
        .await?;
    let input = browser
        .wait_for(r#"header form.wiki-search input[name="q"]"#)
        .await?;
    input.clear().await?;
    input.send_keys(query).await?;
    submit(browser, "header form.wiki-search").await?;
    let script = "return !window.bcBeforeSearch && location.pathname === '/search' \
                  && document.readyState === 'complete'";
    browser
        .wait_until(&format!("the results for {query}"), script)
        .await?;
    Ok(())
}

/// The results list's entries as (link text, href, highlighted text).
async fn hits(browser: &Browser) -> Result<Vec<(String, String, String)>> {
    let value = browser
        .eval(
            "return [...document.querySelectorAll('ol.search-results li')].map(li => [\
               li.querySelector('a')?.innerText ?? '', \
               li.querySelector('a')?.getAttribute('href') ?? '', \
               [...li.querySelectorAll('mark')].map(m => m.innerText).join(' ')]);",
            Vec::new(),
        )
        .await?;
    let Value::Array(rows) = value else {
        bail!("{}: could not read the search results", browser.who());
    };
    Ok(rows
        .iter()
        .map(|row| {
            let cell = |i: usize| row[i].as_str().unwrap_or_default().to_owned();
            (cell(0), cell(1), cell(2))
        })
        .collect())
}

/// The results page shows exactly the edited page, counted once, with the
/// phrase highlighted.
async fn expect_one_hit(browser: &Browser) -> Result<()> {
    let who = browser.who();
    let summary = text(browser, "p.search-summary").await?;
    ensure!(
        summary == "1 page(s) match; showing 1–1.",
        "{who}: the search summary reads {summary:?}"
    );
    let found = hits(browser).await?;
    ensure!(
        found.len() == 1,
        "{who}: expected one result, got {found:?}"
    );
    let (title, href, marked) = &found[0];
    ensure!(
        title == PAGE_NAME && href == "/pages/Welcome/Harbor%20Plans",
        "{who}: the result links {title:?} to {href:?}"
    );
    ensure!(
        marked.contains("gather on Thursdays"),
        "{who}: the phrase is not highlighted in the snippet (marked: {marked:?})"
    );
    Ok(())
}

/// The results page shows no result and no count.
async fn expect_no_hit(browser: &Browser, what: &str) -> Result<()> {
    let who = browser.who();
    let summary = text(browser, "p.search-summary").await?;
    ensure!(
        summary.starts_with("No pages match"),
        "{who}: searching {what} should find nothing; the summary reads {summary:?}"
    );
    let found = hits(browser).await?;
    let main = text(browser, "main").await?;
    ensure!(
        found.is_empty() && !main.contains(PAGE_NAME) && !main.contains("page(s) match"),
        "{who}: searching {what} shows results or a count: {found:?} / {main:?}"
    );
    Ok(())
}
