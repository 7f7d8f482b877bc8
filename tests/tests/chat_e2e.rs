//! The acceptance test: two people chat live from a wiki page in real,
//! headless Chromium, against the real `backchannel` binary, and the
//! conversation survives a server restart.
//!
//! Screenshots go to `target/e2e/chat-*.png`; the server's output to
//! `target/e2e/chat_e2e-server.log`. Without Chromium, the binary or the wasm
//! bundle this prints `SKIPPED: ...` and passes, except under `CI=true`.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat::{self, ChatMessage, SendWith};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::{skip, workspace};

const TEST: &str = "chat_e2e::two_users_chat_live_and_history_survives_a_restart";
/// The whole journey must finish well within this, or the test fails
/// rather than hanging CI.
const BUDGET: Duration = Duration::from_secs(240);
/// How soon a message must show in the other user's open popup.
const LIVE_DELIVERY: Duration = Duration::from_secs(2);

const ALICE: (&str, &str) = ("alice", "alice-e2e-password-1");
const BOB: (&str, &str) = ("bob", "bob-e2e-password-2");

/// Alice's first message: the `<b>` must arrive as text, not markup.
const HELLO: &str = "Hello Bob, is <b>this</b> bold?";
const REPLY: &str = "Hi Alice, it is not bold";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_chat_live_and_history_survives_a_restart() {
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

    let mut server = TestServer::start("chat_e2e", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    server.add_user(BOB.0, BOB.1).expect("bob is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let bob = driver.browser("bob").await.expect("bob's browser");

    let outcome = tokio::time::timeout(BUDGET, journey(&mut server, &alice, &bob)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    if let Some(failure) = failure {
        for browser in [&alice, &bob] {
            let name = format!("chat-failure-{}", browser.who());
            if let Ok(path) = browser.screenshot(&name).await {
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

async fn journey(server: &mut TestServer, alice: &Browser, bob: &Browser) -> Result<()> {
    let base = server.url("");

    // Both sign in and find the Lobby chat on the Welcome page.
    for (browser, (user, password)) in [(alice, ALICE), (bob, BOB)] {
        chat::sign_in(browser, &base, user, password).await?;
        let table = chat::open_welcome(browser, &base).await?;
        ensure!(
            table.text.contains("Lobby"),
            "{user}: the Welcome page's chat table does not name the Lobby: {:?}",
            table.text
        );
        ensure!(
            !table.room_id.is_empty() && table.join_href == format!("/rooms/{}", table.room_id),
            "{user}: Join Chat should link to /rooms/<room id>; the table has room {:?} and \
             link {:?}",
            table.room_id,
            table.join_href
        );
        browser.screenshot(&format!("chat-{user}-welcome")).await?;
        chat::join_chat(browser).await?;
        chat::wait_connected(browser).await?;
        chat::plant_reload_marker(browser).await?;
    }
    let room_url = alice.current_url().await?;
    alice.screenshot("chat-alice-joined").await?;

    // Alice writes; Bob sees it arrive live, escaped, with her name and a time.
    chat::post(alice, HELLO, SendWith::Enter).await?;
    let sent_at = std::time::Instant::now();
    chat::wait_for_message(alice, HELLO).await?;
    ensure!(
        chat::still_same_page(alice).await?,
        "sending with Enter reloaded alice's popup; the wasm UI should send in place"
    );
    let seen = chat::wait_for_message(bob, HELLO)
        .await
        .context("bob did not see alice's message arrive live")?;
    let delivery = sent_at.elapsed();
    ensure!(
        delivery < LIVE_DELIVERY,
        "bob saw alice's message {delivery:?} after she sent it; it must arrive within {LIVE_DELIVERY:?}"
    );
    ensure!(
        chat::still_same_page(bob).await?,
        "bob's popup reloaded to show the message; it should arrive live"
    );
    check_shown(&seen, "alice", HELLO)?;
    ensure!(
        !seen.body_html.contains("<b>"),
        "alice's `<b>` became markup in bob's popup (body HTML: {:?})",
        seen.body_html
    );
    bob.screenshot("chat-bob-received").await?;

    // Bob replies with the Send button; Alice sees it live.
    chat::post(bob, REPLY, SendWith::Button).await?;
    chat::wait_for_message(bob, REPLY).await?;
    ensure!(
        chat::still_same_page(bob).await?,
        "sending with the Send button reloaded bob's popup; the wasm UI should send in place"
    );
    let reply = chat::wait_for_message(alice, REPLY)
        .await
        .context("alice did not see bob's reply arrive live")?;
    ensure!(
        chat::still_same_page(alice).await?,
        "alice's popup reloaded to show the reply; it should arrive live"
    );
    check_shown(&reply, "bob", REPLY)?;
    ensure!(
        reply.seq > seen.seq,
        "the reply's seq {} should follow the first message's {}",
        reply.seq,
        seen.seq
    );
    alice.screenshot("chat-alice-received").await?;

    // Restart on the same data; after a reload both still see both messages.
    server.restart().context("restarting the server")?;
    for browser in [alice, bob] {
        browser.goto(&room_url).await?;
        browser.wait_for("body.bc-popup").await?;
        let shown = chat::messages(browser).await?;
        for needle in [HELLO, REPLY] {
            ensure!(
                shown.iter().any(|m| m.body_text.contains(needle)),
                "{}: after the restart the popup lacks {needle:?}; it shows {:?}",
                browser.who(),
                shown.iter().map(|m| &m.body_text).collect::<Vec<_>>()
            );
        }
        chat::wait_connected(browser)
            .await
            .context("reconnecting after the restart")?;
        browser
            .screenshot(&format!("chat-{}-after-restart", browser.who()))
            .await?;
    }
    Ok(())
}

/// The message shows the author's name, a time, and the text as typed.
fn check_shown(message: &ChatMessage, author: &str, text: &str) -> Result<()> {
    ensure!(
        message.author_name.trim() == author,
        "the message {text:?} shows author {:?}, expected {author:?}",
        message.author_name
    );
    ensure!(
        !message.time_text.trim().is_empty() && !message.datetime.is_empty(),
        "the message {text:?} shows no time (text {:?}, datetime {:?})",
        message.time_text,
        message.datetime
    );
    ensure!(
        message.body_text.trim() == text,
        "the message body reads {:?}, expected {text:?}",
        message.body_text
    );
    Ok(())
}
