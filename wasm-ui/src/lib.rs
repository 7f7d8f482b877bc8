//! The Backchannel browser UI: Rust compiled to WebAssembly with wasm-bindgen
//! and web-sys, built with wasm-pack into `target/ui/` and served by the
//! plugin at `/assets/ui/`.
//!
//! It *enhances* pages the server already rendered, so everything keeps
//! working with JavaScript off. On load, [`start`] looks at the page:
//! `body.bc-popup` (the chat popup at `/rooms/{room_id}`) gets a [`Popup`]:
//! a WebSocket to `/api/ws` that subscribes from `body[data-last-seq]`, sets
//! `body[data-connected]`, appends each message once (by seq, in the server's
//! markup), sends from the form without a page load while subscribed (and
//! lets the plain form POST through when not), resends unacknowledged sends
//! after a reconnect, reconnects with backoff, and reloads the page on a
//! `reset`. Other pages are left alone (the live macro table,
//! `table.bc-macro[data-room]`, is issue 5).
//!
//! The rules live in pure code ([`state`]: `enum Msg`, `fn update`, unit-tested
//! natively with `cargo test -p wasm-ui`); the rest is a thin layer that turns
//! DOM and socket events into messages and effects into DOM changes (tested in
//! a headless browser with `wasm-pack test --headless --chrome wasm-ui`).
//!
//! # Layout
//! - [`state`]: the popup's model, `enum Msg`, `enum Effect`, `fn update`; no web-sys.
//! - [`popup`]: the running app: owns listeners, timers and the socket; runs effects.
//! - [`view`]: reads the server-rendered page and applies effects to the DOM.
//! - [`connection`]: one WebSocket, JSON frames in and out.
//! - [`dom`]: web-sys casts, owned listeners and timers that detach on drop.
//! - `tests/popup.rs`: the view layer in headless Chromium, run against
//!   `tests/fixtures/popup.html` (the server's popup markup).
#![forbid(unsafe_code)]

pub mod connection;
pub mod dom;
pub mod popup;
pub mod state;
pub mod view;

pub use popup::Popup;

use std::cell::RefCell;
use wasm_bindgen::prelude::wasm_bindgen;

thread_local! {
    /// The popup running on this page, kept for the page's lifetime. Dropping
    /// it (see [`stop`]) removes every listener, timer and socket it owns.
    static RUNNING: RefCell<Option<Popup>> = const { RefCell::new(None) };
}

/// Entry point, run once when the module is instantiated (`await init()`).
#[wasm_bindgen(start)]
pub fn start() {
    let Ok(doc) = dom::document() else {
        return;
    };
    if doc.query_selector("body.bc-popup").ok().flatten().is_none() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("backchannel: {info}").into());
    }));
    match Popup::start(&doc) {
        Ok(popup) => RUNNING.with(|r| *r.borrow_mut() = Some(popup)),
        // Without the app the server-rendered page still works (form POST, Refresh).
        Err(err) => web_sys::console::error_1(&format!("backchannel: not started: {err}").into()),
    }
}

/// Stops the running popup: closes its socket and removes its listeners, so
/// the page falls back to its no-JavaScript behaviour.
#[wasm_bindgen]
pub fn stop() {
    RUNNING.with(|r| r.borrow_mut().take());
}
