//! Safe chat markdown and daily transcript pages. Pure: no I/O. Live messages
//! are rendered with exactly the code that renders transcript pages: the
//! server fills each outgoing message's `html` with [`render_html`] (the wasm
//! UI inserts that rather than carry a markdown parser). It still builds for
//! `wasm32-unknown-unknown` (the UI's browser tests use it).
//!
//! ```
//! let html = transcript::render_html("**hi** <script>alert(1)</script>", &Default::default());
//! assert_eq!(html, "<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
//! ```
//!
//! A room-day becomes one markdown page:
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use protocol::{Message, MessageId, RoomId, UserId};
//!
//! let room = RoomId::new("r1");
//! let message = Message {
//!     id: MessageId::new("m1"),
//!     room: room.clone(),
//!     seq: 1,
//!     author: UserId::new("alice"),
//!     author_name: "Alice".into(),
//!     body: "Morning!".into(),
//!     html: String::new(),
//!     created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
//!     edited_at: None,
//!     deleted_at: None,
//!     reply_to: None,
//!     client_msg_id: None,
//!     mentions: vec![],
//!     attachments: vec![],
//! };
//! let page = transcript::render_day(&transcript::Day {
//!     room_name: "Lobby",
//!     room_id: &room,
//!     page_title: "Team",
//!     page_url: "/pages/Team",
//!     date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
//!     zone: chrono_tz::Europe::Berlin,
//!     messages: &[message],
//!     parents: &[],
//! });
//! assert_eq!(page.title, "Lobby — 2026-11-22");
//! assert_eq!(page.segments, ["Chat", "Lobby", "2026-11-22"]);
//! assert!(page.markdown.ends_with(
//!     "### [09:15](#m-1 \"2026-11-22 09:15:00 CET\") · Alice {#m-1}\n\n> Morning!\n"
//! ));
//! ```
//!
//! # Layout
//! - [`html`]: chat markdown -> safe HTML (raw HTML escaped, links limited to
//!   http, https, mailto and relative URLs, `[[Wiki Links]]`, optional
//!   `{#m-<seq>}` heading ids for transcript anchors).
//! - [`day`]: one room-day -> a transcript page ([`render_day`]): header,
//!   one anchored section per message, replies, edits, deletions, files.
//! - [`calendar`]: which local day an instant belongs to ([`local_date`],
//!   [`day_bounds`]), daylight-saving days included.
//! - `escape` (private): writing untrusted text into generated markdown so
//!   that it cannot leave its place (see its docs for the containment rules).
//!
//! The examples in `specs/*.txt` (input JSON, a separator line, the expected
//! markdown) are checked by `tests/specs.rs`.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod day;
mod escape;
pub mod html;

pub use calendar::{day_bounds, local_date};
pub use day::{day_segments, render_day, render_pages, Day, DayPage, TooBig, TranscriptPage};
pub use escape::code_ranges;
pub use html::{render_html, RenderOptions};
