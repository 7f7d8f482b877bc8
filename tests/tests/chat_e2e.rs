//! The acceptance tests of the chat popup: two people chat from a wiki page
//! in real, headless Chromium, against the real `backchannel` binary.
//!
//! Each test is one journey issue 5 asks for: chatting live and history
//! surviving a restart; the open popup reconnecting by itself after a
//! restart (nothing lost, nothing doubled, the outbox sent once, and back on
//! the WebSocket after falling down the ladder); the missed-messages
//! divider; a reply quoting its parent; an edit seen by the other user; and
//! a multi-line paste sent as a preformatted block. They share [`Scene`]:
//! one server, one chromedriver and alice's and bob's browsers, both signed
//! in with the Lobby popup open.
//!
//! The tests take turns (see [`SERIAL`]): each drives two Chromiums, and
//! the delivery-time checks would measure the machine, not the chat, if
//! five journeys shared two cores.
//!
//! Screenshots go to `target/e2e/chat-*.png`; each server's output to
//! `target/e2e/chat_e2e-*-server.log`. Without Chromium, the binary or the
//! wasm bundle each test prints `SKIPPED: ...` and passes, except under
//! `CI=true`.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use backchannel_tests::api::Api;
use backchannel_tests::browser::{self, Browser, Chromedriver};
use backchannel_tests::chat::{
    self, check_once_in_order, check_shown, delivered, open_editor, transport, wait_delivered,
    wait_no_pending, wait_transport, SendWith,
};
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::{skip, workspace};
use serde_json::{json, Value};

/// A journey must finish well within this, or the test fails rather than
/// hanging CI.
const BUDGET: Duration = Duration::from_secs(240);
/// How soon a message must show in the other user's open popup.
const LIVE_DELIVERY: Duration = Duration::from_secs(2);
/// How long a popup that fell down the transport ladder may take to climb
/// back to the WebSocket (the UI tries after 15 s on a lower rung, then
/// once more from the rung between).
const CLIMB_BACK: Duration = Duration::from_secs(60);

const ALICE: (&str, &str) = ("alice", "alice-e2e-password-1");
const BOB: (&str, &str) = ("bob", "bob-e2e-password-2");

/// WebDriver's code for the Enter key.
const ENTER: &str = "\u{E007}";

/// One journey at a time (see the module docs). A tokio mutex, so waiting
/// for a turn blocks no runtime thread; each test has its own runtime.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_chat_live_and_history_survives_a_restart() {
    run(
        "chat_e2e::two_users_chat_live_and_history_survives_a_restart",
        "chat",
        |scene| Box::pin(chat_and_reload_after_restart(scene)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_popup_reconnects_by_itself_after_a_restart_losing_and_doubling_nothing() {
    run(
        "chat_e2e::the_open_popup_reconnects_by_itself_after_a_restart_losing_and_doubling_nothing",
        "chat-reconnect",
        |scene| Box::pin(reconnect_after_restart(scene)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coming_back_shows_a_divider_before_the_first_missed_message() {
    run(
        "chat_e2e::coming_back_shows_a_divider_before_the_first_missed_message",
        "chat-divider",
        |scene| Box::pin(missed_messages_divider(scene)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_quotes_its_parent_for_both_users() {
    run(
        "chat_e2e::a_reply_quotes_its_parent_for_both_users",
        "chat-reply",
        |scene| Box::pin(reply_quotes_parent(scene)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_seen_live_by_the_other_user() {
    run(
        "chat_e2e::an_edit_is_seen_live_by_the_other_user",
        "chat-edit",
        |scene| Box::pin(edit_seen_by_other(scene)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_code_is_sent_as_a_preformatted_block() {
    run(
        "chat_e2e::pasted_code_is_sent_as_a_preformatted_block",
        "chat-paste",
        |scene| Box::pin(paste_as_block(scene)),
    )
    .await;
}

// ---------------------------------------------------------------------------
// The journeys.

/// Alice's first message: the `<b>` must arrive as text, not markup.
const HELLO: &str = "Hello Bob, is <b>this</b> bold?";
const REPLY: &str = "Hi Alice, it is not bold";

async fn chat_and_reload_after_restart(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);

    // Alice writes; Bob sees it arrive live, escaped, with her name and a time.
    chat::post(alice, HELLO, SendWith::Enter).await?;
    let sent_at = Instant::now();
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
    scene.server.restart().context("restarting the server")?;
    for browser in [&scene.alice, &scene.bob] {
        browser.goto(&scene.room_url).await?;
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

const BEFORE_OUTAGE: &str = "Before the outage";
const TYPED_OFFLINE: &str = "Typed by alice while the server was down";
const MISSED_BY_POPUPS: &str = "Posted by bob while the popups were reconnecting";
const AFTER_RESTART: &str = "Bob, live again after the restart";
const AFTER_CLIMB: &str = "Alice, back on the WebSocket";

async fn reconnect_after_restart(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);
    chat::post(alice, BEFORE_OUTAGE, SendWith::Enter).await?;
    chat::wait_for_message(bob, BEFORE_OUTAGE).await?;

    // The server goes away; both popups notice and say so.
    scene.server.stop();
    for browser in [alice, bob] {
        browser
            .wait_until(
                "the popup showing it is not connected",
                "return document.body.dataset.connected !== 'true'",
            )
            .await?;
    }
    // Alice types anyway: it waits as "sending…" in the outbox.
    chat::post(alice, TYPED_OFFLINE, SendWith::Enter).await?;
    alice
        .wait_until(
            "alice's offline message waiting as a placeholder",
            &format!(
                "return Array.from(document.querySelectorAll('li.bc-pending'))
                        .some(li => li.textContent.includes({}))",
                json!(TYPED_OFFLINE)
            ),
        )
        .await?;
    alice.screenshot("chat-reconnect-alice-offline").await?;
    // Long enough for the popups' retries to fail and fall down the ladder.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let fell_to = [transport(alice).await?, transport(bob).await?];

    scene
        .server
        .restart()
        .context("starting the server again")?;
    // Bob posts from a script at once: the popups are most likely still
    // waiting to retry, so they must catch up from their cursors.
    let api = Api::sign_in(scene.server.port(), BOB.0, BOB.1).await?;
    api.say(&scene.room_id, MISSED_BY_POPUPS, "e2e-missed-1")
        .await
        .context("bob posting through the API after the restart")?;
    for browser in [alice, bob] {
        chat::wait_connected(browser)
            .await
            .context("the popup reconnecting by itself after the restart")?;
    }
    chat::post(bob, AFTER_RESTART, SendWith::Enter).await?;

    // Alice's outbox and Bob's script race for the next seq after the
    // restart, so those two may come in either order; each must come once,
    // between what was before and what came after, in seq order.
    let orders = [
        [BEFORE_OUTAGE, TYPED_OFFLINE, AFTER_RESTART],
        [BEFORE_OUTAGE, MISSED_BY_POPUPS, AFTER_RESTART],
    ];
    for browser in [alice, bob] {
        for needle in orders.concat() {
            chat::wait_for_message(browser, needle).await?;
        }
        wait_no_pending(browser).await?;
        for order in &orders {
            check_once_in_order(browser, order).await?;
        }
        ensure!(
            chat::still_same_page(browser).await?,
            "{}: the popup reloaded; it should have reconnected in place",
            browser.who()
        );
        browser
            .screenshot(&format!("chat-reconnect-{}-after", browser.who()))
            .await?;
    }

    // Whatever rung a popup fell to while the server was down, it climbs
    // back to the WebSocket by itself, and still delivers once.
    for browser in [alice, bob] {
        wait_transport(browser, "websocket", CLIMB_BACK)
            .await
            .with_context(|| {
                format!(
                    "while the server was down the popups fell to {fell_to:?}; they should \
                     climb back"
                )
            })?;
        chat::wait_connected(browser).await?;
    }
    chat::post(alice, AFTER_CLIMB, SendWith::Enter).await?;
    let orders = [
        [BEFORE_OUTAGE, TYPED_OFFLINE, AFTER_RESTART, AFTER_CLIMB],
        [BEFORE_OUTAGE, MISSED_BY_POPUPS, AFTER_RESTART, AFTER_CLIMB],
    ];
    for browser in [alice, bob] {
        chat::wait_for_message(browser, AFTER_CLIMB).await?;
        wait_no_pending(browser).await?;
        for order in &orders {
            check_once_in_order(browser, order).await?;
        }
        ensure!(
            chat::still_same_page(browser).await?,
            "{}: the popup reloaded while climbing back to the WebSocket",
            browser.who()
        );
        browser
            .screenshot(&format!("chat-reconnect-{}-websocket-again", browser.who()))
            .await?;
    }
    skip::announce(&format!(
        "chat_e2e: during the outage the popups fell to {fell_to:?} and climbed back to websocket"
    ));
    Ok(())
}

const SEEN_BEFORE: &str = "Bob reads this one before he leaves";
const MISSED: [&str; 3] = [
    "First thing bob missed",
    "Second thing bob missed",
    "Third thing bob missed",
];

async fn missed_messages_divider(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);
    chat::post(alice, SEEN_BEFORE, SendWith::Enter).await?;
    let seen = chat::wait_for_message(bob, SEEN_BEFORE).await?;
    // Bob's popup marks what he has read by itself (throttled, hence the wait).
    let read_url = format!("/api/rooms/{}/read", scene.room_id);
    bob.wait_until(
        "bob's read mark reaching the message he saw",
        &format!(
            "return fetch({}, {{credentials: 'same-origin'}})
                 .then(r => r.json())
                 .then(u => u.last_read_seq >= {})",
            json!(read_url),
            seen.seq
        ),
    )
    .await?;
    ensure!(
        bob.eval(
            "return document.getElementById('bc-divider') === null",
            Vec::new()
        )
        .await?
            == Value::Bool(true),
        "bob's popup shows a divider although he has read everything"
    );

    // Bob leaves for the wiki; alice goes on talking.
    bob.goto(&scene.server.url("/")).await?;
    for text in MISSED {
        chat::post(alice, text, SendWith::Enter).await?;
        chat::wait_for_message(alice, text).await?;
    }
    wait_no_pending(alice).await?;

    // Bob comes back: the divider sits right before the first one he missed.
    bob.goto(&scene.room_url).await?;
    bob.wait_for("body.bc-popup").await?;
    chat::wait_connected(bob).await?;
    bob.wait_for("#bc-divider").await?;
    let layout = bob
        .eval(
            "const items = Array.from(document.querySelectorAll(
                 '#bc-messages > li.bc-msg, #bc-messages > li.bc-divider'));
             return items.map(li => li.classList.contains('bc-divider')
                 ? {divider: li.textContent.trim(), count: document.querySelectorAll('.bc-divider').length}
                 : {text: (li.querySelector('.bc-body') || li).textContent.trim()});",
            Vec::new(),
        )
        .await?;
    let items = layout.as_array().cloned().unwrap_or_default();
    let position = items
        .iter()
        .position(|item| item.get("divider").is_some())
        .context("no divider among the messages")?;
    let divider = &items[position];
    ensure!(
        divider["count"] == json!(1) && divider["divider"].as_str() == Some("New messages"),
        "expected one \"New messages\" divider, found {divider}"
    );
    let text_at = |i: usize| items.get(i).and_then(|v| v["text"].as_str()).unwrap_or("");
    ensure!(
        position > 0 && text_at(position - 1) == SEEN_BEFORE,
        "the message just above the divider should be the last one bob read ({SEEN_BEFORE:?}); \
         the popup shows {items:?}"
    );
    let after: Vec<&str> = (position + 1..items.len()).map(text_at).collect();
    ensure!(
        after == MISSED,
        "below the divider bob should see exactly what he missed, in order: {MISSED:?}; he sees \
         {after:?}"
    );
    // The view opens at the divider: it is on screen.
    let visible = bob
        .eval(
            "const d = document.getElementById('bc-divider').getBoundingClientRect();
             return d.top >= 0 && d.bottom <= window.innerHeight;",
            Vec::new(),
        )
        .await?;
    ensure!(
        visible == Value::Bool(true),
        "the divider is off screen when bob comes back"
    );
    bob.screenshot("chat-divider-bob-returns").await?;
    Ok(())
}

const PARENT: &str = "Shall we ship on Friday?";
const CHILD: &str = "Yes, after the demo";

async fn reply_quotes_parent(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);
    chat::post(alice, PARENT, SendWith::Enter).await?;
    let parent = chat::wait_for_message(bob, PARENT).await?;

    // Bob points at alice's message and presses Reply in its toolbar.
    let item = format!("#m-{}", parent.seq);
    bob.wait_for(&format!("{item} .bc-body"))
        .await?
        .click()
        .await?;
    bob.wait_for(&format!("{item} #bc-actions button[data-action=reply]"))
        .await?
        .click()
        .await
        .context("bob clicking Reply on alice's message")?;
    let composing = bob
        .wait_for("#bc-reply:not([hidden])")
        .await?
        .text()
        .await?;
    ensure!(
        composing.contains(PARENT),
        "above bob's input the reply box should quote {PARENT:?}; it reads {composing:?}"
    );
    bob.screenshot("chat-reply-bob-composing").await?;
    chat::post(bob, CHILD, SendWith::Enter).await?;
    bob.wait_until(
        "the reply box closing after the send",
        "const r = document.getElementById('bc-reply'); return !r || r.hidden;",
    )
    .await?;

    for browser in [alice, bob] {
        let reply = wait_delivered(browser, CHILD).await?;
        check_shown(&reply, "bob", CHILD)?;
        let quote = browser
            .eval(
                "const a = document.querySelector('#m-' + arguments[0] + ' .bc-reply-to');
                 return a ? {text: a.textContent, href: a.getAttribute('href')} : null;",
                vec![json!(reply.seq)],
            )
            .await?;
        ensure!(
            quote["href"].as_str() == Some(&format!("#m-{}", parent.seq))
                && quote["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("alice") && t.contains(PARENT)),
            "{}: bob's reply should quote alice's {PARENT:?} and link to it; its quote is {quote}",
            browser.who()
        );
        check_once_in_order(browser, &[PARENT, CHILD]).await?;
        browser
            .screenshot(&format!("chat-reply-{}", browser.who()))
            .await?;
    }
    Ok(())
}

const ORIGINAL: &str = "The meeting is on Tuesday";
const CORRECTED: &str = "The meeting is on Thursday";

async fn edit_seen_by_other(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);
    chat::post(alice, ORIGINAL, SendWith::Enter).await?;
    let original = chat::wait_for_message(bob, ORIGINAL).await?;
    wait_no_pending(alice).await?;
    let count_before = delivered(bob).await?.len();

    // Up in the empty input edits my last message; Enter saves.
    let input = alice.wait_for("#bc-input").await?;
    input.click().await?;
    let editor = open_editor(alice, original.seq).await?;
    editor.clear().await?;
    editor.send_keys(CORRECTED).await?;
    alice.screenshot("chat-edit-alice-editing").await?;
    editor.send_keys(ENTER).await?;

    for browser in [bob, alice] {
        let started = Instant::now();
        let edited = loop {
            let shown = delivered(browser).await?;
            if let Some(m) = shown.iter().find(|m| m.seq == original.seq) {
                if m.body_text.trim() == CORRECTED {
                    break m.clone();
                }
            }
            if started.elapsed() > browser::WAIT {
                bail!(
                    "{}: message #{} still reads {:?}, not the edit {CORRECTED:?}",
                    browser.who(),
                    original.seq,
                    shown
                        .iter()
                        .find(|m| m.seq == original.seq)
                        .map(|m| &m.body_text)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        check_shown(&edited, "alice", CORRECTED)?;
        let marked = browser
            .eval(
                "const e = document.querySelector('#m-' + arguments[0] + ' .bc-edited');
                 return e ? e.textContent : '';",
                vec![json!(original.seq)],
            )
            .await?;
        ensure!(
            marked.as_str().is_some_and(|t| t.contains("edited")),
            "{}: the edited message carries no \"(edited)\" mark",
            browser.who()
        );
        let shown = delivered(browser).await?;
        ensure!(
            !shown.iter().any(|m| m.body_text.contains(ORIGINAL)),
            "{}: the old text is still shown somewhere",
            browser.who()
        );
        if browser.who() == "bob" {
            ensure!(
                shown.len() == count_before,
                "bob's popup had {count_before} messages before the edit and {} after; an \
                 edit must change the message in place",
                shown.len()
            );
            ensure!(
                chat::still_same_page(bob).await?,
                "bob's popup reloaded to show the edit; it should arrive live"
            );
        }
        browser
            .screenshot(&format!("chat-edit-{}", browser.who()))
            .await?;
    }
    Ok(())
}

/// Two lines of code with indentation and a `<`: a block must keep all of it.
const PASTED: &str = "fn main() {\n    if 1 < 2 {\n        println!(\"hi\");\n    }\n}";

async fn paste_as_block(scene: &mut Scene) -> Result<()> {
    let (alice, bob) = (&scene.alice, &scene.bob);
    let input = alice.wait_for("#bc-input").await?;
    input.click().await?;
    // A real Ctrl+V needs the system clipboard, which headless Chromium
    // under WebDriver does not share; the page gets the same `paste` event
    // a browser fires, with the text in its clipboardData.
    let value = alice
        .eval(
            "const input = document.getElementById('bc-input');
             const data = new DataTransfer();
             data.setData('text/plain', arguments[0]);
             const e = new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true});
             input.dispatchEvent(e);
             return input.value;",
            vec![json!(PASTED)],
        )
        .await?;
    let value = value.as_str().unwrap_or_default().to_owned();
    ensure!(
        value.starts_with("```") && value.contains(PASTED),
        "pasting code should put a fenced block in the input; it holds {value:?}"
    );
    alice.screenshot("chat-paste-alice-input").await?;
    input.send_keys(ENTER).await?;

    for browser in [bob, alice] {
        let first_line = PASTED.lines().next().unwrap_or_default();
        wait_delivered(browser, first_line).await?;
        let block = browser
            .eval(
                "const items = Array.from(document.querySelectorAll('#bc-messages li.bc-msg:not(.bc-pending)'));
                 const li = items.find(li => li.textContent.includes(arguments[0]));
                 const pre = li && li.querySelector('.bc-body pre');
                 return pre ? {text: pre.textContent, tag: pre.firstElementChild && pre.firstElementChild.tagName} : null;",
                vec![json!(first_line)],
            )
            .await?;
        let text = block["text"].as_str().unwrap_or_default();
        ensure!(
            text.trim_end() == PASTED,
            "{}: the pasted code should show as a preformatted block with its lines and \
             indentation intact; the message's <pre> is {block}",
            browser.who()
        );
        ensure!(
            !text.contains("```"),
            "{}: the fences show as text: {text:?}",
            browser.who()
        );
        browser
            .screenshot(&format!("chat-paste-{}", browser.who()))
            .await?;
    }
    check_once_in_order(bob, &[PASTED.lines().next().unwrap_or_default()]).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The shared scene and checks.

/// One server, one chromedriver, and alice's and bob's browsers with the
/// Lobby popup open and connected.
struct Scene {
    server: TestServer,
    /// Dropped after the browsers; its drop ends any session left open.
    _driver: Chromedriver,
    alice: Browser,
    bob: Browser,
    /// `http://127.0.0.1:PORT/rooms/ID`.
    room_url: String,
    room_id: String,
}

/// Runs `journey` in a fresh [`Scene`] within [`BUDGET`]. A failure saves
/// both users' screenshots and panics with the server log's tail; missing
/// prerequisites skip (see the module docs).
async fn run<F>(test: &str, name: &str, journey: F)
where
    F: for<'a> FnOnce(&'a mut Scene) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + 'a>>,
{
    let _turn = SERIAL.lock().await;
    let Some(binary) = skip::require(test, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(test, browser::find_chromium()) else {
        return;
    };
    if skip::require(
        test,
        workspace::require_ui_bundle().map_err(|error| format!("{error:#}")),
    )
    .is_none()
    {
        return;
    }

    let server =
        TestServer::start(&format!("chat_e2e-{name}"), &binary).expect("the server starts");
    server.add_user(ALICE.0, ALICE.1).expect("alice is created");
    server.add_user(BOB.0, BOB.1).expect("bob is created");
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let alice = driver.browser("alice").await.expect("alice's browser");
    let bob = driver.browser("bob").await.expect("bob's browser");
    let mut scene = Scene {
        server,
        _driver: driver,
        alice,
        bob,
        room_url: String::new(),
        room_id: String::new(),
    };

    let outcome = tokio::time::timeout(BUDGET, async {
        enter_lobby(&mut scene, name).await?;
        journey(&mut scene).await
    })
    .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {BUDGET:?}")),
    };
    let Scene {
        server,
        _driver,
        alice,
        bob,
        ..
    } = scene;
    if let Some(failure) = failure {
        for browser in [&alice, &bob] {
            let shot = format!("{name}-failure-{}", browser.who());
            if let Ok(path) = browser.screenshot(&shot).await {
                skip::announce(&format!("screenshot: {}", path.display()));
            }
        }
        let _ = alice.close().await;
        let _ = bob.close().await;
        panic!(
            "{test}: {failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(30)
        );
    }
    alice.close().await.expect("alice's browser closes");
    bob.close().await.expect("bob's browser closes");
}

/// Both users sign in, find the Lobby's table on the Welcome page, Join Chat
/// and wait for the live connection; the scene learns the popup's URL and room id.
async fn enter_lobby(scene: &mut Scene, name: &str) -> Result<()> {
    let base = scene.server.url("");
    let mut room_id = String::new();
    for (browser, (user, password)) in [(&scene.alice, ALICE), (&scene.bob, BOB)] {
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
        room_id = table.room_id;
        browser
            .screenshot(&format!("{name}-{user}-welcome"))
            .await?;
        chat::join_chat(browser).await?;
        chat::wait_connected(browser).await?;
        chat::plant_reload_marker(browser).await?;
    }
    scene.room_url = scene.alice.current_url().await?;
    scene.room_id = room_id;
    scene
        .alice
        .screenshot(&format!("{name}-alice-joined"))
        .await?;
    Ok(())
}
