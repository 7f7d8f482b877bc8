//! Infrastructure the workspace's crates share, so each piece is written once:
//! the rule for a missing test prerequisite, where tests find PostgreSQL and
//! NATS, how Chromium is started, how SQLite and PostgreSQL schemas migrate,
//! the SQLite-to-PostgreSQL copy engine, and the harness that runs one store
//! contract on both databases.
//!
//! It knows nothing of chat or wiki: the plugin, the wiki, the end-to-end
//! tests, the bench and xtask use it, never the other way round. The default
//! build has no dependencies; storage pieces come with features.
//!
//! # Layout
//! - [`skip`]: `is_ci`, and the skip-or-fail rule for missing prerequisites.
//! - [`services`]: the PostgreSQL and NATS URLs tests use.
//! - [`chromium`]: Debian's Chromium and chromedriver, and the flags every headless run uses.
//! - `sqlite` (feature `sqlite`): `PRAGMA user_version` migrations.
//! - `postgres` (feature `postgres`): a schema per store, sqlx migrations of embedded steps.
//! - `copy` (feature `copy`): copying SQLite tables into PostgreSQL row for row.
//! - `suite` (feature `testing`): `store_suite!` and a fresh PostgreSQL schema per case.
#![forbid(unsafe_code)]

pub mod chromium;
pub mod services;
pub mod skip;

#[cfg(feature = "copy")]
pub mod copy;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod suite;
