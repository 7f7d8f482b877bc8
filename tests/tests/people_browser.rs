//! Issue 19's journey in real, headless Chromium against the real
//! `backchannel` binary: alice opens a chat with bob from `/chats` (the
//! person picker suggesting him as she types) while bob is signed out and
//! writes to him; bob signs in, the bell in the
//! wiki's header counts the invitation, he follows it to `/chats`,
//! accepts, finds alice's message and answers; alice, with the popup open,
//! sees the answer arrive live and bob turn from invited to a present
//! member in her members panel; opening the chat again from either side
//! lands in the same room.
//!
//! Screenshots go to `target/e2e/people-*.png`; the server's output to
//! `target/e2e/people_browser-server.log`. Without Chromium, the binary or
//! the wasm bundle this prints `SKIPPED: ...` and passes, except under
//! `CI=true`.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat::{self, SendWith};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::{skip, workspace};

const TEST: &str = "people_browser::a_direct_chat_from_the_bell_to_a_live_answer";
/// The journey must finish well within this, or the test fails rather than
/// hanging CI.
const BUDGET: Duration = Duration::from_secs(180);

const ALICE: (&str, &str) = ("alice", "alice-people-password-1");
const BOB: (&str, &str) = ("bob", "bob-people-password-2");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_chat_from_the_bell_to_a_live_answer() {
    let Some(binary) = skip::require(TEST, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(TEST, browser::find_chromium()) else {
        return;
    };
    let bundle = workspace::require_ui_bundle().map_err(|error| format!("{error:#}"));
    if skip::require(TEST, bundle).is_none() {
        return;
    }
    let server = TestServer::start("people_browser", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    server.add_user(BOB.0, BOB.1).expect("bob is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let bob = driver.browser("bob").await.expect("bob's browser");

    let outcome = tokio::time::timeout(BUDGET, journey(&server, &alice, &bob)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    if let Some(failure) = failure {
        for browser in [&alice, &bob] {
            let name = format!("people-failure-{}", browser.who());
            if let Ok(path) = browser.screenshot(&name).await {
                skip::announce(&format!("screenshot: {}", path.display()));
            }
        }
        for browser in [alice, bob] {
            let _ = browser.close().await;
        }
        panic!(
            "{failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
    for browser in [alice, bob] {
        browser.close().await.expect("the browser closes");
    }
}

async fn journey(server: &TestServer, alice: &Browser, bob: &Browser) -> Result<()> {
    let base = server.url("");

    // Alice opens a chat with bob from "New chat" and writes to him.
    chat::sign_in(alice, &base, ALICE.0, ALICE.1).await?;
    alice.goto(&format!("{base}/chats")).await?;
    // The person picker suggests bob as she types the start of his name.
    let person = alice.wait_for("#bc-person").await?;
    person.send_keys("bo").await?;
    alice
        .wait_until(
            "the person picker suggesting bob",
            r#"return document.querySelector('#bc-people option[value="bob"]') !== null;"#,
        )
        .await?;
    person.send_keys("b").await?;
    alice
        .wait_for(r#"form[action="/chats/direct"] button[type="submit"]"#)
        .await?
        .click()
        .await?;
    let room = in_room(alice).await?;
    chat::wait_connected(alice).await?;
    chat::post(
        alice,
        "hello bob, a minute for the launch?",
        SendWith::Enter,
    )
    .await?;
    chat::wait_for_message(alice, "a minute for the launch").await?;
    alice.screenshot("people-1-alice-writes").await?;

    // Bob signs in later: the bell counts the invitation, in words for
    // screen readers too.
    chat::sign_in(bob, &base, BOB.0, BOB.1).await?;
    bob.goto(&format!("{base}/")).await?;
    let bell = bob.wait_for("a.wiki-bell").await?;
    let label = bell.attr("aria-label").await?.unwrap_or_default();
    ensure!(
        label == "1 unread notification",
        "the bell should say one notification waits; it says {label:?}"
    );
    bob.screenshot("people-2-bob-bell").await?;
    bell.click().await?;
    bob.wait_for("#notifications").await?;
    let invitation = bob.wait_for("li.bc-invitation").await?.text().await?;
    ensure!(
        invitation.contains("alice") && invitation.contains("chat with you"),
        "the invitation should say alice wants to chat; it reads {invitation:?}"
    );
    bob.screenshot("people-3-bob-chats").await?;
    bob.wait_for(r#"li.bc-invitation form[action$="/accept"] button"#)
        .await?
        .click()
        .await?;

    // Accepting takes him into the room, where alice's message waits.
    let bobs_room = in_room(bob).await?;
    ensure!(bobs_room == room, "bob landed in {bobs_room}, not {room}");
    chat::wait_connected(bob).await?;
    chat::wait_for_message(bob, "a minute for the launch").await?;
    chat::post(bob, "sure, on my way", SendWith::Enter).await?;

    // Alice sees the answer live, without reloading, and her members panel
    // follows: bob is in, and here, no longer "invited".
    chat::wait_for_message(alice, "sure, on my way").await?;
    alice
        .wait_until(
            "bob shown as a present member in alice's members panel",
            r#"const li = document.querySelector('#bc-members li[data-user="bob"]');
               return li !== null && li.dataset.status === 'active';"#,
        )
        .await?;
    alice.screenshot("people-4-alice-sees-the-answer").await?;

    // Either side opening the chat again lands in the same room.
    for (browser, other) in [(alice, BOB.0), (bob, ALICE.0)] {
        browser.goto(&format!("{base}/chats")).await?;
        browser
            .wait_for("#bc-person")
            .await?
            .send_keys(other)
            .await?;
        browser
            .wait_for(r#"form[action="/chats/direct"] button[type="submit"]"#)
            .await?
            .click()
            .await?;
        let again = in_room(browser).await?;
        ensure!(
            again == room,
            "{} reopened the chat into {again}, not {room}",
            browser.who()
        );
    }
    Ok(())
}

/// Waits for `browser` to be in a room's popup; the room's id.
async fn in_room(browser: &Browser) -> Result<String> {
    browser.wait_for("body.bc-popup").await?;
    let url = browser.current_url().await?;
    let room = url
        .split("/rooms/")
        .nth(1)
        .map(|rest| {
            rest.split(['?', '#', '/'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|room| !room.is_empty())
        .with_context(|| format!("{} is not in a room: {url}", browser.who()))?;
    Ok(room)
}
