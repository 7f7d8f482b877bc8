//! The Backchannel chat service as a library.
//!
//! A wiki embeds it by implementing [`Host`], building an [`AppState`] and
//! mounting [`app`]'s router beside its own routes.
//!
//! ```text
//! browser ──HTTP/WS──► app() ─► handlers ─► chat (post, read, authorize)
//!                                              │            │
//!                                          Store (commit)  Bus (fan-out) ─► open connections
//!                                              │
//!                                            Host (who, which page, may they?)
//! ```
//!
//! # Layout
//! - [`host`]: the `Host` trait, the boundary to the wiki (callers, pages, access).
//! - [`connect`]: `ConnectHost`, the `Host` for external wikis: signed (JWT) URLs, installs.
//! - [`store`]: the `Store` trait (one `messages` read with a `MessageQuery`),
//!   `StoreMaintenance` for the maintenance commands, and the SQLite
//!   (`store/sqlite/`) and PostgreSQL (`store/postgres/`) implementations, each
//!   split into schema, rows and queries.
//! - [`bus`]: the `Bus` trait (room events, no encoding), `NodeLink`, and the in-process bus.
//! - [`gossip`]: `PresenceGossip`, presence heartbeats between nodes.
//! - [`nats`]: the NATS bus, for several nodes sharing one PostgreSQL store.
//! - [`chat`]: the operations every transport shares: authorize, post, read.
//! - [`clock`]: `Clock`, the time messages are stamped with and days end by.
//! - [`presence`]: who is in a room now: heartbeats, expiry, invisibility.
//! - [`transcripts`]: publishing each day with activity as a child page of the host page.
//! - [`state`]: `AppState` and `Config`.
//! - [`error`]: `AppError`, the one error type handlers return.
//! - [`limit`]: per-user rate limits.
//! - [`origin`]: Origin checks against cross-site requests.
//! - [`api`]: the JSON HTTP API under `/api/rooms`.
//! - [`feed`]: one room's event stream for a connection: backlog, live, resync.
//! - [`render`]: message bodies as HTML, filled in as messages leave the server.
//! - [`files`]: uploads, content-addressed blob storage, listing and safe serving.
//! - [`ws`]: the WebSocket transport at `/api/ws`.
//! - [`sse`]: the Server-Sent Events transport at `/api/rooms/{id}/stream`.
//! - [`poll`]: the long-poll transport at `/api/rooms/{id}/events`.
//! - [`popup`]: the popup page `/rooms/{id}`, with its no-JavaScript form.
//! - [`macro_table`]: the `{chat:Room}` macro's HTML table.
//! - [`assets`]: the popup's CSS, boot script and the wasm bundle.
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod bus;
pub mod chat;
pub mod clock;
pub mod connect;
pub mod error;
pub mod feed;
pub mod files;
pub mod gossip;
pub mod host;
pub mod limit;
pub mod macro_table;
pub mod nats;
pub mod origin;
pub mod poll;
pub mod popup;
pub mod presence;
pub mod render;
pub mod sse;
pub mod state;
pub mod store;
pub mod transcripts;
pub mod ws;

pub use bus::{Bus, LocalBus, NodeLink};
pub use clock::Clock;
pub use error::AppError;
pub use host::{Access, Caller, ChildPage, Host, HostPage, PutOutcome};
pub use state::{AppState, Config};
pub use store::{SqliteStore, Store, StoreMaintenance};

use axum::Router;

/// Every route the chat plugin serves. The host merges this router with its own.
pub fn app(state: AppState) -> Router {
    let max_upload = state.config.max_upload_bytes;
    Router::new()
        .merge(files::routes(max_upload))
        .merge(api::routes())
        .merge(ws::routes())
        .merge(sse::routes())
        .merge(poll::routes())
        .merge(popup::routes(max_upload))
        .merge(macro_table::routes())
        .merge(assets::routes())
        .with_state(state)
}
