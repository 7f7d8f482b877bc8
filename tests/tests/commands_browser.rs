//! Room commands in the live popup (issue 21), in real headless Chromium
//! against the real `backchannel` binary: typing `/he` hints `/help` and
//! Tab completes it; `/help` answers above the input
//! with the commands alice may use, `/me waves` arrives as an action line
//! ("* alice waves"), and an unknown command is refused with its text put
//! back in the input, nothing posted.
//!
//! Without Chromium, the binary or the wasm bundle this prints
//! `SKIPPED: ...` and passes, except under `CI=true`.

use std::time::Duration;

use anyhow::{ensure, Result};
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat::{self, SendWith};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::{skip, workspace};

const TEST: &str = "commands_browser::commands_run_from_the_popup";
const BUDGET: Duration = Duration::from_secs(120);
const ALICE: (&str, &str) = ("alice", "alice-commands-password-1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_from_the_popup() {
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
    let server = TestServer::start("commands_browser", &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let outcome = tokio::time::timeout(BUDGET, journey(&server, &alice)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    if let Some(failure) = failure {
        if let Ok(path) = alice.screenshot("commands-failure").await {
            skip::announce(&format!("screenshot: {}", path.display()));
        }
        let _ = alice.close().await;
        panic!(
            "{failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
    alice.close().await.expect("the browser closes");
}

async fn journey(server: &TestServer, alice: &Browser) -> Result<()> {
    let base = server.url("");
    chat::sign_in(alice, &base, ALICE.0, ALICE.1).await?;
    chat::open_welcome(alice, &base).await?;
    let room = alice
        .eval(
            "return document.querySelector('table.bc-macro').dataset.room;",
            Vec::new(),
        )
        .await?;
    let room = room.as_str().unwrap_or_default().to_owned();
    alice.goto(&format!("{base}/rooms/{room}")).await?;
    chat::wait_connected(alice).await?;

    // Typing `/he` hints the commands that start so; Tab completes it.
    let input = alice.wait_for("#bc-input").await?;
    input.click().await?;
    input.send_keys("/he").await?;
    let hint = alice
        .wait_until(
            "the command hint",
            "const h = document.getElementById('bc-command-hint');
             return h && !h.hidden && h.textContent;",
        )
        .await?;
    ensure!(hint == "/help", "typing /he hints {hint}");
    input.send_keys("\u{e004}").await?; // Tab
    let completed = alice
        .wait_until(
            "Tab completing the command",
            "const v = document.getElementById('bc-input').value; return v === '/help ' && v;",
        )
        .await?;
    ensure!(completed == "/help ", "Tab made {completed}");
    input.send_keys("\u{e007}").await?; // Enter
    let help = alice
        .wait_until(
            "the /help answer",
            "const e = document.getElementById('bc-error'); return e && e.textContent;",
        )
        .await?;
    let help = help.as_str().unwrap_or_default();
    ensure!(
        help.contains("Commands you may use here") && help.contains("/me"),
        "/help answered {help:?}"
    );
    ensure!(
        !help.contains("/kick"),
        "alice may not kick in the Lobby: {help:?}"
    );

    chat::post(alice, "/me waves", SendWith::Enter).await?;
    let action = alice
        .wait_until(
            "the action line",
            "const li = document.querySelector('#bc-messages li.bc-action');
             return li && li.querySelector('.bc-body').textContent.trim();",
        )
        .await?;
    ensure!(action == "* alice waves", "the action line reads {action}");

    chat::post(alice, "/nope now", SendWith::Enter).await?;
    let refused = alice
        .wait_until(
            "the refusal, with the text back in the input",
            "const e = document.getElementById('bc-error');
             const input = document.getElementById('bc-input');
             return e && e.textContent.includes('/nope') && input.value === '/nope now' && e.textContent;",
        )
        .await?;
    ensure!(
        refused
            .as_str()
            .is_some_and(|t| t.contains("there is no /nope command")),
        "refused with {refused}"
    );
    let shown = chat::messages(alice).await?;
    ensure!(
        shown.len() == 1,
        "only the action line was posted: {} messages",
        shown.len()
    );
    alice.screenshot("commands-popup").await?;
    Ok(())
}
