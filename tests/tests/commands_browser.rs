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
use backchannel_tests::browser::Browser;
use backchannel_tests::chat::{self, SendWith};
use backchannel_tests::journey::{self, Setup};
use backchannel_tests::server::TestServer;

const TEST: &str = "commands_browser::commands_run_from_the_popup";
const BUDGET: Duration = Duration::from_secs(120);
const ALICE: (&str, &str) = ("alice", "alice-commands-password-1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_from_the_popup() {
    let setup = Setup {
        test: TEST,
        name: "commands_browser",
        env: &[],
        users: &[ALICE],
        who: "alice",
        javascript: true,
        budget: BUDGET,
    };
    journey::run(setup, |server, browser| Box::pin(steps(server, browser))).await;
}

async fn steps(server: &TestServer, alice: &Browser) -> Result<()> {
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
