//! The Backchannel browser UI: Rust compiled to WebAssembly with wasm-bindgen
//! and web-sys, built with wasm-pack into `target/ui/` and served by the
//! plugin at `/assets/ui/`.
//!
//! It *enhances* pages the server already rendered, so everything keeps
//! working with JavaScript off. On load, [`start`] looks at the page:
//! `body.bc-popup` (the chat popup at `/rooms/{room_id}`) gets a [`Popup`]:
//! it connects (WebSocket first, then SSE, then long-poll when a transport
//! keeps failing, retrying the better one after a while on a lower rung),
//! subscribes from `body[data-last-seq]`, appends each
//! message once (by seq, in the server's markup) with date separators,
//! applies edits and deletes, keeps "Here now", participants and "is typing"
//! live, marks missed messages with a divider and read marks, counts unseen
//! messages in the title, beeps (mutable) and notifies mentions, loads older
//! history on scroll, and sends from the form through an outbox that goes
//! out once, in order, whenever a transport is up. My messages can be
//! edited (Up in the empty input), deleted and linked to; any message can be
//! replied to and its thread opened; `@` completes names; pasted code or
//! multi-line text becomes a fenced block. Files are shared with the attach
//! button, by dropping them on the popup or by pasting an image, one at a
//! time with a progress bar and Cancel, refused early when over the server's
//! cap (`body[data-max-upload]`). Other pages with
//! `table.bc-macro[data-room]` get [`table::Tables`], which keeps the macro
//! tables' last activity and participants fresh.
//!
//! The rules live in pure code ([`state`]: `enum Msg`, `fn update`, unit-tested
//! natively with `cargo test -p wasm-ui`); the rest is a thin layer that turns
//! DOM and connection events into messages and effects into DOM changes
//! (tested in a headless browser with `wasm-pack test --headless --chrome wasm-ui`).
//!
//! # Layout
//! - [`state`]: the popup's model, `enum Msg`, `enum Effect`, `fn update`;
//!   no web-sys. `state/mod.rs` holds those and hands each message to the
//!   part that owns it, each with its tests: `ladder` (connecting, backoff,
//!   the transport ladder), `timeline` (messages on screen, the cursor,
//!   history), `outbox` (sends), `people` (presence, participants, typing),
//!   `reading` (read marks, divider, unread count, beeps), `actions` (edit,
//!   delete, reply, threads), `mentions` (`@` completion), `uploads`, `text`
//!   (day labels, paste fencing); `testing` holds the tests' helpers.
//! - [`popup`]: the running app: owns listeners, timers and the connection;
//!   runs effects. `popup/mod.rs` dispatches and runs effects; `events`
//!   (listeners, clicks), `input` (keys, completion, paste), `files`
//!   (uploads, drag and drop), `requests` (the HTTP API).
//! - [`view`]: reads the server-rendered page, adds the live UI's elements
//!   (`#bc-typing`, `#bc-live`, `#bc-actions`, `#bc-reply`, `#bc-mentions`,
//!   `#bc-thread`, `#bc-tools`, `#bc-new-below`) and applies effects to the
//!   DOM: `view/mod.rs` (the handles, the input), `message` (messages and
//!   what hangs off them), `panels` (everything around them), `time`.
//! - [`transport`]: the ladder (`Transport`: WebSocket, SSE, long-poll) and
//!   `Climb`, the pure rule for when to try a better rung again; imported by
//!   `state` and `connection`, importing neither.
//! - [`connection`]: the transports behind one type that reports
//!   WebSocket-shaped frames.
//! - [`wire`]: reading server frames and events from JSON in one pass,
//!   without serde's buffering of internally tagged enums.
//! - [`http`]: `fetch` for the JSON API and its error shape, and uploads
//!   with progress (XMLHttpRequest: fetch reports no upload progress).
//! - [`table`]: the live macro table on wiki pages.
//! - [`window`]: Join Chat in a popup window of its own, reused when open,
//!   remembering its size.
//! - [`case`]: letter case for names, from the browser (Rust's case tables
//!   would add 10 KB to the bundle).
//! - [`dom`]: web-sys casts, owned listeners and timers that detach on drop.
//! - `tests/popup.rs`: the view layer in headless Chromium, run against
//!   `tests/fixtures/popup.html` (the server's popup markup).
#![forbid(unsafe_code)]

pub mod case;
pub mod connection;
pub mod dom;
pub mod http;
pub mod popup;
pub mod state;
pub mod table;
pub mod transport;
pub mod view;
pub mod window;
pub mod wire;

pub use popup::Popup;

use std::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;

/// What runs on this page. Held only to be dropped (see [`stop`]).
#[allow(dead_code)]
enum App {
    /// The room, and the listener keeping its window's size (in a popup window).
    Popup(Popup, Option<dom::Listener>),
    /// The live macro tables, and the listener sending Join clicks to a window.
    Tables(Option<table::Tables>, dom::Listener),
}

thread_local! {
    /// The app running on this page, kept for the page's lifetime. Dropping
    /// it (see [`stop`]) removes every listener, timer and connection it owns.
    static RUNNING: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// Entry point, run once when the module is instantiated (`await init()`).
#[wasm_bindgen(start)]
pub fn start() {
    let Ok(doc) = dom::document() else {
        return;
    };
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("backchannel: {info}").into());
    }));
    if doc.query_selector("body.bc-popup").ok().flatten().is_none() {
        // A wiki page: keep its chat tables live, if it has any, and open
        // Join Chat in a window of its own.
        let tables = table::Tables::start(&doc).unwrap_or_else(|err| {
            web_sys::console::warn_1(&format!("backchannel: {err}").into());
            None
        });
        match window::join_links(&doc) {
            Ok(joins) => RUNNING.with(|r| *r.borrow_mut() = Some(App::Tables(tables, joins))),
            Err(err) => web_sys::console::warn_1(&format!("backchannel: {err}").into()),
        }
        return;
    }
    let sized = dom::window()
        .and_then(|w| window::remember_size(&w))
        .unwrap_or_else(|err| {
            web_sys::console::warn_1(&format!("backchannel: {err}").into());
            None
        });
    match Popup::start(&doc) {
        Ok(popup) => RUNNING.with(|r| *r.borrow_mut() = Some(App::Popup(popup, sized))),
        // Without the app the server-rendered page still works (form POST, Refresh).
        Err(err) => web_sys::console::error_1(&format!("backchannel: not started: {err}").into()),
    }
}

/// Stops the running app: closes its connection and removes its listeners
/// and timers, so the page falls back to its no-JavaScript behaviour.
#[wasm_bindgen]
pub fn stop() {
    RUNNING.with(|r| r.borrow_mut().take());
}
