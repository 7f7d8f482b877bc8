//! The Backchannel chat service as a library.
//!
//! A wiki embeds it by implementing [`Host`], building an [`AppState`]
//! (from [`Config::from_env`] in a binary), mounting [`app`]'s router beside
//! its own routes and calling [`start_background`] once it serves.
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
//! Each module imports only the ones listed before it in its group, and the
//! groups point down: transports -> operations -> state -> infrastructure
//! (`cargo xtask layers` checks that no two modules import each other).
//!
//! Infrastructure, knowing nothing of requests:
//! - [`host`]: the `Host` trait, the boundary to the wiki (callers, pages, access, links).
//! - [`store`]: the `Store` trait (one `messages` read with a `MessageQuery`),
//!   `StoreMaintenance` for the maintenance commands, and the SQLite
//!   (`store/sqlite/`) and PostgreSQL (`store/postgres/`) implementations, each
//!   split into schema, rows and queries.
//! - [`bus`]: the `Bus` trait (room events, no encoding), `NodeLink`, and the in-process bus.
//! - [`gossip`]: `PresenceGossip`, presence heartbeats between nodes.
//! - [`nats`]: the NATS bus, for several nodes sharing one PostgreSQL store.
//! - [`clock`]: `Clock`, the time messages are stamped with and days end by.
//! - [`config`]: `Config`, and the only reads of the environment (`Config::from_env`).
//! - [`error`]: `AppError`, the one error type handlers return.
//! - [`limit`]: per-user rate limits.
//! - [`origin`]: Origin checks against cross-site requests.
//! - [`render`]: message bodies as HTML, filled in as messages leave the server.
//! - [`sniff`]: what uploaded bytes really are (the allow-listed raster images).
//! - [`avatars`]: profile pictures: checked, cropped, resized to fixed sizes
//!   and encoded; the letter image for people without one.
//! - [`cache`]: `UserCache`, per-user values kept for a short time (profiles).
//! - [`presence`]: who is in a room now: heartbeats, expiry, invisibility.
//! - [`blobs`]: content-addressed blob storage for uploaded files.
//! - [`rooms`]: `RoomPages`, the page each room belongs to, remembered; a
//!   room's card; the other person of a direct room.
//! - [`publisher`]: publishing each day with activity as a child page of the host page.
//!
//! State and the work that runs beside it:
//! - [`state`]: `AppState`, the handle every handler receives; starts nothing.
//! - [`collector`]: removing file bytes no message references (after a
//!   delete, on a timer, after `chat prune`).
//! - [`background`]: `start_background`, presence expiry, the publisher and
//!   the blob collector, stopped on drop.
//! - [`extract`]: the shared extractors: `MaybeCaller`, `Json`, `Query`, `SameOrigin`.
//! - [`nojs`]: what the server-rendered pages share: their headers (CSP),
//!   the gate every form post passes (origin, signed in, CSRF token), the
//!   person field.
//! - [`profiles`]: profiles' rules (who may see and change what, the
//!   limits) and how people appear elsewhere: `face`/`faces` (name and
//!   picture URL), `with_display_name` (callers named by their display
//!   name, so new messages carry it).
//!
//! Operations every transport shares:
//! - [`access`]: who may do what in a room (page rules, membership, roles).
//! - [`notifications`]: per-user notifications: stored, capped, expired,
//!   sent live on the user's channel; those a new message makes.
//! - [`chat`]: authorize, post, edit, read, describe a room.
//! - [`history`]: windows of a room's history (latest, older, newer, around
//!   a message, a time range, a thread), shared by the API and the popup.
//! - [`feed`]: one room's event stream for a connection: backlog, live, resync.
//! - [`members`]: group and direct rooms, joining, leaving, roles, removal,
//!   settings, "my rooms" and the directory.
//! - [`invitations`]: invitations and their lifecycle; widening a direct room.
//! - [`direct`]: direct rooms, created on first use and found again from either side.
//! - [`commands`]: the room commands (`/me`, `/topic`, `/invite`, ...), one
//!   table every front end runs through the operations above.
//! - [`page_events`]: what a host page event (a deleted page) does to the chat.
//!
//! Transports and pages:
//! - [`api`]: the JSON HTTP API under `/api/rooms`.
//! - [`people_api`]: the JSON HTTP API for rooms with people (members,
//!   invitations, notifications, direct chats, the directory).
//! - [`files`]: uploads, listing and safe serving.
//! - [`profile_api`]: the JSON HTTP API for profiles under `/api/users/...`,
//!   and the pictures at `/users/{user}/avatar/{size}`.
//! - [`profile_page`]: `/users/{user}`, a person's profile without
//!   JavaScript, and the forms its owner edits it with.
//! - [`ws`]: the WebSocket transport at `/api/ws`.
//! - [`sse`]: the Server-Sent Events transport at `/api/rooms/{id}/stream`.
//! - [`poll`]: the long-poll transport at `/api/rooms/{id}/events`.
//! - [`chats_view`]: the markup of the `/chats` page (and the buttons the
//!   popup's people panel shares with it).
//! - [`chats_page`]: `/chats`, rooms with people without JavaScript: pending
//!   invitations, my rooms, new chat, new room, the directory and
//!   notifications, each a plain form under `/chats/...`.
//! - [`room_people`]: the popup's people panel: members, invite, settings,
//!   remove, "Message"; the forms it posts under `/rooms/{id}/...`.
//! - [`popup_view`]: the popup's markup, with the no-JavaScript controls.
//! - [`popup`]: the popup page `/rooms/{id}`, its history and thread pages.
//! - [`popup_forms`]: the forms the popup posts without JavaScript (message,
//!   reply, edit, delete, read mark, the people panel's).
//! - [`macro_table`]: the `{chat:Room}` macro's HTML table.
//! - [`assets`]: the popup's CSS, boot script and the wasm bundle.
//! - [`connect`]: `ConnectHost`, the `Host` for external wikis: signed (JWT) URLs, installs.
//! - `testing` (feature `testing`): `TestHost`, an in-memory `Host`, and
//!   `TestApp`, the real app on it, for the plugin's own tests.
#![forbid(unsafe_code)]

pub mod access;
pub mod api;
pub mod assets;
pub mod avatars;
pub mod background;
pub mod blobs;
pub mod bus;
pub mod cache;
pub mod chat;
pub mod chats_page;
pub mod chats_view;
pub mod clock;
pub mod collector;
pub mod commands;
pub mod config;
pub mod connect;
pub mod direct;
pub mod error;
pub mod extract;
pub mod feed;
pub mod files;
pub mod gossip;
pub mod history;
pub mod host;
pub mod invitations;
pub mod limit;
pub mod macro_table;
pub mod members;
pub mod nats;
pub mod nojs;
pub mod notifications;
pub mod origin;
pub mod page_events;
pub mod people_api;
pub mod poll;
pub mod popup;
pub mod popup_forms;
pub mod popup_view;
pub mod presence;
pub mod profile_api;
pub mod profile_page;
pub mod profiles;
pub mod publisher;
pub mod render;
pub mod room_people;
pub mod rooms;
pub mod sniff;
pub mod sse;
pub mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod ws;

pub use background::{start_background, Background};
pub use bus::{Bus, LocalBus, NodeLink};
pub use clock::Clock;
pub use config::Config;
pub use error::AppError;
pub use host::{Access, Caller, ChildPage, Host, HostPage, PageEvent, PageLink, PutOutcome};
pub use state::AppState;
pub use store::{SqliteStore, Store, StoreMaintenance};

use axum::Router;

/// Every route the chat plugin serves. The host merges this router with its own.
pub fn app(state: AppState) -> Router {
    let max_upload = state.config.max_upload_bytes;
    Router::new()
        .merge(files::routes(max_upload))
        .merge(api::routes())
        .merge(people_api::routes())
        .merge(profile_api::routes())
        .merge(profile_page::routes(state.config.avatar_max_bytes))
        .merge(ws::routes())
        .merge(sse::routes())
        .merge(poll::routes())
        .merge(chats_page::routes())
        .merge(popup::routes())
        .merge(popup_forms::routes(max_upload))
        .merge(macro_table::routes())
        .merge(assets::routes())
        .with_state(state)
}
