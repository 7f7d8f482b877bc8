//! Issue 20's no-JavaScript acceptance in real, headless Chromium with
//! JavaScript switched off, against the real `backchannel` binary: in a
//! room of 1,000 messages alice pages back 500 messages, replies to one of
//! them (its quote shown), edits and deletes her own message, opens the
//! thread and a permalink to message 10, all by links and plain forms; bob,
//! reading over a WebSocket, sees every change arrive.
//!
//! Screenshots go to `target/e2e/nojs-*.png`; the server's output to
//! `target/e2e/nojs_browser-server.log`. Without Chromium or the binary this
//! prints `SKIPPED: ...` and passes, except under `CI=true`.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use backchannel_tests::api::{Api, Socket};
use backchannel_tests::browser::Browser;
use backchannel_tests::chat;
use backchannel_tests::journey::{self, Setup};
use backchannel_tests::server::TestServer;
use fantoccini::Locator;
use protocol::{Event, Message, ServerFrame};

const TEST: &str = "nojs_browser::every_popup_action_works_with_javascript_off";
const BUDGET: Duration = Duration::from_secs(240);
const ALICE: (&str, &str) = ("alice", "alice-nojs-browser-1");
const BOB: (&str, &str) = ("bob", "bob-nojs-browser-2");
/// Messages in the room before alice starts.
const HISTORY: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_popup_action_works_with_javascript_off() {
    let setup = Setup {
        test: TEST,
        name: "nojs_browser",
        env: &[("BACKCHANNEL_POST_LIMIT", "100000/1")],
        users: &[ALICE, BOB],
        who: "alice",
        javascript: false,
        budget: BUDGET,
    };
    journey::run(setup, |server, browser| Box::pin(steps(server, browser))).await;
}

async fn steps(server: &TestServer, alice: &Browser) -> Result<()> {
    let base = server.url("");
    let bob = Api::sign_in(server.port(), BOB.0, BOB.1).await?;
    let room = bob.lobby().await?;
    let posted = bob.say_many(&room, HISTORY, "history").await?;
    let tenth = posted[9].seq;
    let mut reader = bob.websocket().await?;
    reader
        .subscribe(&room, Some(bob.last_seq(&room).await?))
        .await?;

    chat::sign_in(alice, &base, ALICE.0, ALICE.1).await?;
    let popup = format!("{base}/rooms/{room}");
    alice.goto(&popup).await?;
    // JavaScript really is off: <noscript> content is on the page, and no
    // script connected the popup.
    let reply = alice
        .wait_for("#bc-messages li.bc-msg span.bc-msg-actions a")
        .await?;
    ensure!(
        reply.is_displayed().await?,
        "the no-JavaScript controls are hidden: is JavaScript on?"
    );
    let connected = alice.wait_for("body").await?.attr("data-connected").await?;
    ensure!(
        connected.as_deref() == Some("false"),
        "the popup connected: {connected:?}"
    );

    // Page back 500 messages, 50 at a time.
    for _ in 0..10 {
        click(alice, "a.bc-older").await?;
    }
    let shown = seqs(alice).await?;
    let expect_first = posted[HISTORY - 550].seq;
    ensure!(
        shown.first() == Some(&expect_first) && shown.len() == 50,
        "after ten pages back the page shows {:?}..{:?} ({} messages), not from {expect_first}",
        shown.first(),
        shown.last(),
        shown.len()
    );
    let parent = shown[0];
    alice.screenshot("nojs-older").await?;

    // Reply to the oldest message on that page: its quote is shown above
    // the text, and the reply reaches bob.
    click(
        alice,
        &format!("#m-{parent} a[aria-label='Reply to message {parent}']"),
    )
    .await?;
    let quote = alice.wait_for("blockquote.bc-quote").await?.text().await?;
    ensure!(
        quote.contains(&format!("history {}", HISTORY - 550)),
        "the quote shows {quote:?}"
    );
    alice
        .wait_for("#bc-input")
        .await?
        .send_keys("a reply without JavaScript")
        .await?;
    click(alice, "#bc-send").await?;
    let replied = next_message(&mut reader).await?;
    ensure!(
        replied.reply_to == Some(parent) && replied.body == "a reply without JavaScript",
        "bob got {replied:?}"
    );
    ensure!(
        alice
            .current_url()
            .await?
            .ends_with(&format!("#m-{}", replied.seq)),
        "after sending, alice is not at her message"
    );

    // Edit it.
    click(
        alice,
        &format!(
            "#m-{} a[aria-label='Edit message {}']",
            replied.seq, replied.seq
        ),
    )
    .await?;
    let area = alice.wait_for("form.bc-edit-form textarea").await?;
    area.clear().await?;
    area.send_keys("a reply, edited without JavaScript").await?;
    click(alice, "form.bc-edit-form #bc-send").await?;
    match next_event(&mut reader).await? {
        Event::Edited { message } if message.body == "a reply, edited without JavaScript" => {}
        other => bail!("bob expected the edit, got {other:?}"),
    }

    // The thread page holds the parent and the reply.
    click(alice, &format!("#m-{} a.bc-reply-to", replied.seq)).await?;
    let thread = seqs(alice).await?;
    ensure!(
        thread == vec![parent, replied.seq],
        "the thread page shows {thread:?}"
    );
    ensure!(
        alice
            .current_url()
            .await?
            .contains(&format!("/threads/{parent}")),
        "the reply link did not lead to the thread page"
    );
    alice.screenshot("nojs-thread").await?;

    // Delete her reply from the thread page; she stays there.
    click(
        alice,
        &format!(
            "#m-{} button[aria-label='Delete message {}']",
            replied.seq, replied.seq
        ),
    )
    .await?;
    match next_event(&mut reader).await? {
        Event::Deleted { message } if message.seq == replied.seq => {}
        other => bail!("bob expected the deletion, got {other:?}"),
    }
    ensure!(
        alice
            .current_url()
            .await?
            .contains(&format!("/threads/{parent}")),
        "deleting from the thread page left it"
    );
    let gone = alice
        .wait_for(&format!("#m-{} .bc-deleted", replied.seq))
        .await?;
    ensure!(
        gone.is_displayed().await?,
        "the deleted reply is not shown as deleted"
    );

    // A permalink to message 10 of 1,000.
    alice.goto(&format!("{popup}?at={tenth}#m-{tenth}")).await?;
    let tenth_item = alice.wait_for(&format!("#m-{tenth}")).await?;
    ensure!(tenth_item.is_displayed().await?, "message 10 is not shown");
    ensure!(
        tenth_item.text().await?.contains("history 9"),
        "the permalink shows the wrong message"
    );
    alice.screenshot("nojs-permalink").await?;
    Ok(())
}

/// Clicks the element `css` and waits for the page it leads to.
async fn click(browser: &Browser, css: &str) -> Result<()> {
    let element = browser.wait_for(css).await?;
    element
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    // A click that navigates replaces the document: wait for the new one.
    browser
        .client()
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("body.bc-popup"))
        .await?;
    Ok(())
}

/// The seqs of the messages the page shows, in order.
async fn seqs(browser: &Browser) -> Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for item in browser
        .client()
        .find_all(Locator::Css("#bc-messages li.bc-msg"))
        .await?
    {
        let seq = item.attr("data-seq").await?.unwrap_or_default();
        seqs.push(seq.parse().with_context(|| format!("data-seq {seq:?}"))?);
    }
    Ok(seqs)
}

/// The next room event bob's socket gets.
async fn next_event(reader: &mut Socket) -> Result<Event> {
    loop {
        match reader.next(Duration::from_secs(10)).await? {
            Some(ServerFrame::Event { event, .. }) => match event {
                Event::Message { .. } | Event::Edited { .. } | Event::Deleted { .. } => {
                    return Ok(event)
                }
                _ => {}
            },
            Some(_) => {}
            None => bail!("bob's WebSocket got nothing within 10 s"),
        }
    }
}

async fn next_message(reader: &mut Socket) -> Result<Message> {
    match next_event(reader).await? {
        Event::Message { message } => Ok(message),
        other => bail!("bob expected a new message, got {other:?}"),
    }
}
