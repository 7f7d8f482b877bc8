//! The reference wiki host: a small real wiki (users, sessions, pages with
//! inherited permissions, macros from `manifest.json`) that embeds the chat
//! plugin in-process and ships as the single `backchannel` binary.
//!
//! ```text
//! browser ──HTTP──► web::app ─┬─► views  (/, /pages/{path}) ─► markdown + macros ─┐
//!                             ├─► edit, api, search, admin (forms, JSON)        │
//!                             ├─► login  (/login, /logout)                       │ oneshot
//!                             └─► plugin::app (/rooms, /api, /macro/chat) ◄──────┘
//!                                        │
//!                                   host::WikiHost ─► store (users, sessions, pages, acl)
//! ```
//!
//! # Layout
//! Imports point down this list, layer by layer (`cargo xtask layers` checks
//! that no two modules import each other, even through others).
//!
//! The binary and its commands:
//! - [`cli`]: the `backchannel` command line (`serve`, `user`, `group`, `page`,
//!   `transcripts`, `chat`, `site`, `migrate`).
//! - [`server`]: binding, serving and graceful shutdown.
//! - [`maintenance`]: `transcripts rebuild` and `chat prune`, with progress.
//! - [`import`]: `page import`, a folder of markdown files to a page tree.
//! - [`migrate`]: `migrate`, a SQLite install copied into PostgreSQL.
//! - [`backends`]: `--database-url`, `--nats-url`, `--node-id`, and the chat
//!   store and bus they open (shared by `serve` and the maintenance commands).
//! - [`install`]: the data directory (`wiki.db`, `chat.db`) and first-start
//!   bootstrap (the `admin` account, the Welcome page).
//!
//! The web surface:
//! - [`web`]: `app`, all routes (the wiki's merged with the plugin's).
//! - [`views`]: page views (`/`, `/pages/{path}`).
//! - [`edit`]: no-JavaScript forms to create, edit, move and delete pages,
//!   and the permissions form.
//! - [`history`]: a page's revision history, paged.
//! - [`api`]: JSON pages and permissions (`/api/pages/{path}`).
//! - [`search`]: full-text search, permission-filtered (`/search`,
//!   `/api/search`).
//! - [`admin`]: the admins' users and groups pages.
//! - [`login`]: signing in and out, with CSRF checks and throttling.
//! - [`host`]: `WikiHost`, the wiki as the plugin's `Host`.
//! - [`state`]: `Wiki`, the state every handler shares.
//! - [`error`]: `PageError`, how HTML pages refuse (404, 403, CSRF, sign in
//!   first, the logged 500), so handlers use `?`.
//! - [`key`]: `PageKey`, a page URL's `{*path}` parsed once.
//! - [`layout`]: the frame every wiki HTML page shares.
//! - [`markdown`]: page markdown to safe HTML with macros substituted in.
//! - [`macros`]: finding `{key:value}` macros and expanding them through
//!   the plugin's router.
//! - [`manifest`]: `manifest.json`, compiled in, parsed and validated.
//! - [`edge`]: how the wiki is reached (`--public-url`, `--trusted-proxy`,
//!   `--allowed-host`): secure cookies, the Host allow-list, and the
//!   security headers of wiki pages.
//! - [`throttle`]: sign-in slots per (address, username) and per address,
//!   reserved before each password check.
//! - [`client`]: the client's address, from the TCP peer or a trusted
//!   proxy's `X-Forwarded-For`.
//!
//! The wiki's rules, above the store:
//! - [`sessions`]: session cookies, bearer tokens and CSRF tokens.
//! - [`acl`]: page access evaluated along the ancestor chain, and the ACL
//!   epoch that tells open chat streams to recheck access.
//! - [`users`]: accounts, argon2 passwords, groups.
//! - [`hasher`]: the argon2 worker thread and its bounded queue.
//! - [`pages`]: the page tree: writing pages, ancestors, time zones.
//!
//! Storage and what it holds:
//! - [`store`]: the wiki's `Store` trait and its backends: SQLite
//!   (`wiki.db`, FTS5) by default, PostgreSQL (tsvector + GIN) with
//!   `--database-url`, each with its own migrations, each split by concern
//!   (users, pages, access, search).
//! - [`query`]: search queries parsed into terms, and snippets (what the
//!   store needs of search).
//! - [`model`]: the records: pages and paths, revisions, users, principals,
//!   permissions and the rules they decide access by.
#![forbid(unsafe_code)]

pub mod acl;
pub mod admin;
pub mod api;
pub mod backends;
pub mod cli;
pub mod client;
pub mod edge;
pub mod edit;
pub mod error;
pub mod hasher;
pub mod history;
pub mod host;
pub mod import;
pub mod install;
pub mod key;
pub mod layout;
pub mod login;
pub mod macros;
pub mod maintenance;
pub mod manifest;
pub mod markdown;
pub mod migrate;
pub mod model;
pub mod pages;
pub mod query;
pub mod search;
pub mod server;
pub mod sessions;
pub mod state;
pub mod store;
pub mod throttle;
pub mod users;
pub mod views;
pub mod web;
