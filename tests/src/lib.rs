//! Harness for Backchannel's cross-crate and real-browser end-to-end tests.
//!
//! The tests in `tests/tests/` run the real `backchannel` binary (built by
//! `cargo build -p wiki --bin backchannel`, which `cargo xtask test` does
//! first) on a free loopback port with a throw-away data directory, and drive
//! headless Chromium through chromedriver as real users would.
//!
//! A missing browser or binary is a failure under `CI=true`; elsewhere browser
//! tests print a `SKIPPED: ... because ...` line and pass, so `cargo test`
//! works on a laptop without Chromium.
//!
//! # Layout
//! - [`workspace`]: where things are: the workspace root, cargo's target dir,
//!   the wasm bundle in `target/ui`, artifacts under `target/e2e`, free ports.
//! - `skip`: the CI rule (from the shared `infra` crate): skip with a visible line, or fail under `CI=true`.
//! - [`http`]: a tiny blocking HTTP/1.1 client for probes and simple API checks.
//! - [`server`]: [`server::TestServer`]: data dir, users via the CLI, spawn,
//!   wait for `/healthz`, restart on the same data, kill on drop.
//! - [`api`]: a script's view: JSON API, WebSocket, SSE, long-poll, bearer tokens.
//! - [`browser`]: [`browser::Chromedriver`] and [`browser::Browser`]: one
//!   chromedriver process, one headless Chromium session per user.
//! - [`journey`]: one person's journey in one Chromium session, with the
//!   skip rule, server, users, budget and failure screenshot around it.
//! - [`chat`]: the user's journey in page terms: sign in, open the Welcome
//!   page, Join Chat, wait for the live connection, post, read messages.
//! - [`backend`]: [`backend::Backend`], SQLite or a throw-away PostgreSQL
//!   database, so a suite runs on both stores.
//! - [`matrix`]: the authorization matrix's roles, phases, answers, the
//!   judge (refused answers must look like missing ones) and the failure table.
//! - [`routes`]: the routes the wiki and plugin sources declare, so a
//!   suite can insist its table covers every write route.
//! - [`session`]: signing in and out as a browser does (form, cookie,
//!   CSRF token), over async HTTP.
//! - [`vault`]: [`vault::Vault`], the matrix's fixture: a restricted page
//!   with a chat room holding one of everything a read path can show.
//! - [`xss`]: the XSS corpus (`tests/xss/payloads.txt`) and the detector run
//!   on every rendered page: dialog traps, WebDriver's alert state, a DOM scan.

#![forbid(unsafe_code)]

pub mod api;
pub mod backend;
pub mod browser;
pub mod chat;
pub mod http;
pub mod journey;
pub mod matrix;
pub mod routes;
pub mod server;
pub mod session;
pub mod vault;
pub mod workspace;
pub mod xss;

pub use infra::skip;
