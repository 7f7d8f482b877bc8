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
//! - [`cli`]: the `backchannel` command line (`serve`, `user`, `group`, `page`,
//!   `transcripts`, `chat`, `migrate`).
//! - [`import`]: `page import`, a folder of markdown files to a page tree.
//! - [`maintenance`]: `transcripts rebuild` and `chat prune`, with progress.
//! - [`migrate`]: `migrate`, a SQLite install copied into PostgreSQL.
//! - [`server`]: binding, serving and graceful shutdown.
//! - [`install`]: the data directory (`wiki.db`, `chat.db`) and first-start
//!   bootstrap (the `admin` account, the Welcome page).
//! - [`web`]: `Wiki`, the handlers' shared state, and `app`, all routes
//!   (the wiki's merged with the plugin's).
//! - [`views`]: page views and the layout every wiki page shares.
//! - [`edit`]: no-JavaScript forms to create, edit, move and delete pages,
//!   the revision history and the permissions form.
//! - [`api`]: JSON pages and permissions (`/api/pages/{path}`).
//! - [`search`]: full-text search, permission-filtered (`/search`,
//!   `/api/search`).
//! - [`admin`]: the admins' users and groups pages.
//! - [`login`]: signing in and out, with CSRF checks and throttling.
//! - [`throttle`]: failed-login counting per username and IP.
//! - [`sessions`]: session cookies, bearer tokens and CSRF tokens.
//! - [`users`]: accounts, argon2 passwords, groups.
//! - [`pages`]: the page tree: paths, content, revisions.
//! - [`acl`]: page permissions evaluated along the ancestor chain, and the
//!   ACL epoch that tells open chat streams to recheck access.
//! - [`markdown`]: page markdown to safe HTML with macros substituted in.
//! - [`macros`]: finding `{key:value}` macros and expanding them through
//!   the plugin's router.
//! - [`manifest`]: `manifest.json`, compiled in, parsed and validated.
//! - [`host`]: `WikiHost`, the wiki as the plugin's `Host`.
//! - [`store`]: the wiki's `Store` trait and its backends: SQLite
//!   (`wiki.db`, FTS5) by default, PostgreSQL (tsvector + GIN) with
//!   `--database-url`, each with its own migrations.
#![forbid(unsafe_code)]

pub mod acl;
pub mod admin;
pub mod api;
pub mod backends;
pub mod cli;
pub mod edit;
pub mod error;
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
