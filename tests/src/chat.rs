//! The chat journey in the words a user would use, on top of [`Browser`]:
//! sign in, open the Welcome page, read its chat table, Join Chat, wait for
//! the live connection, post, and read the conversation.
//!
//! Selectors are the contract with `plugin` (server-rendered popup and macro
//! table) and `wasm-ui` (which sets `body[data-connected]` and appends
//! messages with the same markup).
//!
//! The checks after the journey steps ([`check_shown`], [`wait_delivered`],
//! [`check_once_in_order`], [`wait_transport`], ...) say what a user would
//! notice: who wrote a message, that it shows once and in order, which
//! transport the popup is on.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{Browser, WAIT};

/// WebDriver's code for the Enter key.
const ENTER: &str = "\u{E007}";

/// The chat table a `{chat:...}` macro renders on a page.
#[derive(Debug, Clone)]
pub struct MacroTable {
    /// `table.bc-macro[data-room]`.
    pub room_id: String,
    /// The table's visible text (room name, activity, participants, ...).
    pub text: String,
    /// The Join Chat link's `href` as written, e.g. `/rooms/<id>`.
    pub join_href: String,
}

/// One `li.bc-msg` in the popup, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `data-seq`: the room's order.
    pub seq: u64,
    /// `data-author`: the author's user id.
    pub author: String,
    /// `.bc-author`'s text: the name shown.
    pub author_name: String,
    /// `time`'s text, e.g. `14:03`.
    pub time_text: String,
    /// `time[datetime]`, RFC 3339.
    pub datetime: String,
    /// `.bc-body`'s text.
    pub body_text: String,
    /// `.bc-body`'s inner HTML, to check escaping.
    pub body_html: String,
}

/// How a message is sent from the popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendWith {
    /// Type, then press Enter in the text area.
    Enter,
    /// Type, then click the Send button.
    Button,
}

/// Signs in through `/login` with the form a person would fill in, and waits
/// to be sent on.
pub async fn sign_in(browser: &Browser, base: &str, user: &str, password: &str) -> Result<()> {
    browser.goto(&format!("{base}/login")).await?;
    let name = browser.wait_for(r#"input[name="username"]"#).await?;
    name.send_keys(user).await?;
    let secret = browser.wait_for(r#"input[name="password"]"#).await?;
    secret.send_keys(password).await?;
    // The login form, not (say) a search form in the page header.
    let submit = browser
        .wait_for(
            r#"form:has(input[name="password"]) button[type="submit"],
               form:has(input[name="password"]) input[type="submit"],
               form:has(input[name="password"]) button:not([type])"#,
        )
        .await?;
    submit.click().await?;
    browser
        .wait_until(
            "leaving the login page after signing in",
            "return location.pathname !== '/login'",
        )
        .await
        .with_context(|| format!("{user} could not sign in (still on /login)"))?;
    Ok(())
}

/// Opens the wiki's home (the Welcome page) and reads its chat table.
pub async fn open_welcome(browser: &Browser, base: &str) -> Result<MacroTable> {
    browser.goto(&format!("{base}/")).await?;
    let table = browser.wait_for("table.bc-macro").await?;
    let room_id = table.attr("data-room").await?.unwrap_or_default();
    let text = table.text().await?;
    let join = browser.wait_for("a.bc-join").await?;
    let join_href = join.attr("href").await?.unwrap_or_default();
    Ok(MacroTable {
        room_id,
        text,
        join_href,
    })
}

/// Clicks Join Chat on the current page and follows the popup, whether it
/// opens in a new window (the link has a `target`) or in place.
pub async fn join_chat(browser: &Browser) -> Result<()> {
    let client = browser.client();
    let before = client.windows().await?;
    browser.wait_for("a.bc-join").await?.click().await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let windows = client.windows().await?;
        if let Some(popup) = windows.iter().find(|window| !before.contains(window)) {
            client.switch_to_window(popup.clone()).await?;
            break;
        }
        if browser.current_url().await?.contains("/rooms/") {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{}: clicking Join Chat opened no popup within {WAIT:?}",
                browser.who()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_for("body.bc-popup").await?;
    Ok(())
}

/// Waits until the popup's live connection is up (`body[data-connected=true]`,
/// set by the wasm UI once its WebSocket is subscribed).
pub async fn wait_connected(browser: &Browser) -> Result<()> {
    let waited = browser
        .wait_until(
            "the popup connecting (body[data-connected=\"true\"])",
            "return document.body && document.body.dataset.connected === 'true'",
        )
        .await;
    if let Err(error) = waited {
        let state = browser
            .eval(
                "const b = document.body; const c = document.getElementById('bc-conn');
                 return 'data-connected=' + (b && b.dataset.connected) +
                        ', #bc-conn=' + (c && c.textContent);",
                Vec::new(),
            )
            .await
            .unwrap_or_default();
        bail!("{error:#}; the popup shows {state}");
    }
    Ok(())
}

/// Types `text` into the popup's input and sends it.
pub async fn post(browser: &Browser, text: &str, with: SendWith) -> Result<()> {
    let input = browser.wait_for("#bc-input").await?;
    input.click().await?;
    input.send_keys(text).await?;
    match with {
        SendWith::Enter => input.send_keys(ENTER).await?,
        SendWith::Button => {
            browser
                .client()
                .find(Locator::Css("#bc-send"))
                .await?
                .click()
                .await?;
        }
    }
    Ok(())
}

/// The conversation as shown, in page order.
pub async fn messages(browser: &Browser) -> Result<Vec<ChatMessage>> {
    let value = browser
        .eval(
            "return Array.from(document.querySelectorAll('#bc-messages li.bc-msg')).map(li => {
                const text = (sel, prop) => { const e = li.querySelector(sel); return e ? e[prop] || '' : ''; };
                const time = li.querySelector('time');
                return {
                    seq: Number(li.dataset.seq || 0),
                    author: li.dataset.author || '',
                    author_name: text('.bc-author', 'textContent'),
                    time_text: time ? time.textContent : '',
                    datetime: time ? time.getAttribute('datetime') || '' : '',
                    body_text: text('.bc-body', 'textContent'),
                    body_html: text('.bc-body', 'innerHTML'),
                };
            });",
            Vec::new(),
        )
        .await?;
    let Value::Array(items) = value else {
        bail!("reading messages returned {value}");
    };
    Ok(items.iter().map(ChatMessage::from_json).collect())
}

/// Waits until a message whose text contains `needle` is shown, and returns it.
pub async fn wait_for_message(browser: &Browser, needle: &str) -> Result<ChatMessage> {
    let deadline = Instant::now() + WAIT;
    loop {
        let shown = messages(browser).await?;
        if let Some(found) = shown.iter().find(|m| m.body_text.contains(needle)) {
            return Ok(found.clone());
        }
        if Instant::now() > deadline {
            let bodies: Vec<&str> = shown.iter().map(|m| m.body_text.trim()).collect();
            bail!(
                "{}: no message containing {needle:?} within {WAIT:?}; the popup shows {bodies:?}",
                browser.who()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sets a marker on the page's `window`; a navigation or reload clears it,
/// so [`still_same_page`] tells whether the page updated in place.
pub async fn plant_reload_marker(browser: &Browser) -> Result<()> {
    browser
        .eval("window.__bcNoReload = true; return true;", Vec::new())
        .await?;
    Ok(())
}

/// True if the marker from [`plant_reload_marker`] is still there.
pub async fn still_same_page(browser: &Browser) -> Result<bool> {
    let value = browser
        .eval("return window.__bcNoReload === true;", Vec::new())
        .await?;
    Ok(value == Value::Bool(true))
}

impl ChatMessage {
    fn from_json(item: &Value) -> Self {
        let text = |key: &str| item[key].as_str().unwrap_or_default().to_string();
        ChatMessage {
            seq: item["seq"].as_u64().unwrap_or_default(),
            author: text("author"),
            author_name: text("author_name"),
            time_text: text("time_text"),
            datetime: text("datetime"),
            body_text: text("body_text"),
            body_html: text("body_html"),
        }
    }
}

/// WebDriver's code for the Up arrow.
const ARROW_UP: &str = "\u{E013}";

/// The message shows the author's name, a time, and the text as typed.
pub fn check_shown(message: &ChatMessage, author: &str, text: &str) -> Result<()> {
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

/// The messages the server has stored, as shown: placeholders of sends still
/// on their way (`li.bc-pending`, no seq) left out.
pub async fn delivered(browser: &Browser) -> Result<Vec<ChatMessage>> {
    Ok(messages(browser)
        .await?
        .into_iter()
        .filter(|m| m.seq > 0)
        .collect())
}

/// Waits until a stored message (not a "sending…" placeholder) containing
/// `needle` is shown, and returns it.
pub async fn wait_delivered(browser: &Browser, needle: &str) -> Result<ChatMessage> {
    let started = Instant::now();
    loop {
        let shown = delivered(browser).await?;
        if let Some(found) = shown.iter().find(|m| m.body_text.contains(needle)) {
            return Ok(found.clone());
        }
        if started.elapsed() > WAIT {
            let bodies: Vec<&str> = shown.iter().map(|m| m.body_text.trim()).collect();
            bail!(
                "{}: no delivered message containing {needle:?} within {:?}; the popup shows \
                 {bodies:?}",
                browser.who(),
                WAIT
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each of `texts` is shown exactly once, in this order, and the page's
/// order is the room's seq order.
pub async fn check_once_in_order(browser: &Browser, texts: &[&str]) -> Result<()> {
    let shown = delivered(browser).await?;
    let bodies: Vec<&str> = shown.iter().map(|m| m.body_text.trim()).collect();
    let mut seqs = Vec::new();
    for text in texts {
        let hits: Vec<&ChatMessage> = shown
            .iter()
            .filter(|m| m.body_text.contains(text))
            .collect();
        ensure!(
            hits.len() == 1,
            "{}: {text:?} is shown {} times; the popup shows {bodies:?}",
            browser.who(),
            hits.len()
        );
        seqs.push(hits[0].seq);
    }
    ensure!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{}: {texts:?} should appear in this order; their seqs are {seqs:?}",
        browser.who()
    );
    let page_order: Vec<u64> = shown.iter().map(|m| m.seq).collect();
    ensure!(
        page_order.windows(2).all(|w| w[0] < w[1]),
        "{}: the popup's messages are not in seq order (or a seq shows twice): {page_order:?}",
        browser.who()
    );
    Ok(())
}

/// Waits until no "sending…" placeholder is left.
pub async fn wait_no_pending(browser: &Browser) -> Result<()> {
    browser
        .wait_until(
            "every \"sending…\" placeholder being replaced by its message",
            "return document.querySelectorAll('li.bc-pending').length === 0",
        )
        .await
        .map(drop)
}

/// The transport the popup uses, from `#bc-conn[data-transport]`.
pub async fn transport(browser: &Browser) -> Result<String> {
    let value = browser
        .eval(
            "const c = document.getElementById('bc-conn');
             return c ? c.dataset.transport || '' : '';",
            Vec::new(),
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Waits up to `within` until the popup is connected over `name`.
pub async fn wait_transport(browser: &Browser, name: &str, within: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let now = transport(browser).await?;
        let connected = browser
            .eval(
                "return document.body.dataset.connected === 'true'",
                Vec::new(),
            )
            .await?
            == Value::Bool(true);
        if now == name && connected {
            return Ok(());
        }
        if started.elapsed() > within {
            bail!(
                "{}: not connected over {name} within {within:?}; it is on {now:?} (connected: \
                 {connected})",
                browser.who()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Presses Up in the empty input and returns the inline editor it opens on
/// my message `seq`. The message's source comes with the history refetch
/// after subscribing; until then the UI says "still loading", so retry.
pub async fn open_editor(browser: &Browser, seq: u64) -> Result<fantoccini::elements::Element> {
    let started = Instant::now();
    loop {
        let input = browser.wait_for("#bc-input").await?;
        input.send_keys(ARROW_UP).await?;
        let found = browser
            .eval(
                "return !!document.querySelector('#m-' + arguments[0] + '.bc-editing .bc-edit-input')",
                vec![json!(seq)],
            )
            .await?;
        if found == Value::Bool(true) {
            return browser.wait_for(&format!("#m-{seq} .bc-edit-input")).await;
        }
        if started.elapsed() > WAIT {
            bail!(
                "{}: Up in the empty input did not open the editor on message #{seq}",
                browser.who()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
