//! The `{chat:Room Name}` macro: `GET /macro/chat?page=ID&room=NAME` returns
//! the HTML table the wiki inlines in the page (manifest.json declares the URL
//! template). Rendered on the server, so it works without JavaScript.
//!
//! Placing the macro on a page is what creates the room (seed 002), but a
//! page view is a read: only a signed-in caller who may post there (edit
//! rights on the page) creates it, the first time they see the page. Anyone
//! else sees the room if it exists, or an empty table without a Join link
//! ([`not_started`]); so an anonymous reader never writes, however many
//! macro names a page holds (the wiki also caps macros per page). Writers'
//! new rooms are rate-limited per user (`Config::room_limit`); past it the
//! table says so and creates nothing.

use crate::chat::{self, MAX_ROOM_NAME};
use crate::error::AppError;
use crate::extract::{MaybeCaller, Query};
use crate::host::Access;
use crate::profiles::Face;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use maud::{html, Markup};
use protocol::{ErrorCode, PageId, RoomInfo, UserId};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/macro/chat", get(chat_macro))
}

#[derive(Debug, Deserialize)]
struct MacroQuery {
    page: PageId,
    room: String,
}

async fn chat_macro(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<MacroQuery>,
) -> Result<Markup, AppError> {
    let name = query.room.trim();
    if name.is_empty() || name.chars().count() > MAX_ROOM_NAME {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("a room name must be 1 to {MAX_ROOM_NAME} characters"),
        ));
    }
    let access = state.host.access(caller.as_ref(), &query.page).await?;
    let page = state.host.page(&query.page).await?;
    let (Some(page), true) = (page, access >= Access::Read) else {
        return Err(AppError::not_found());
    };
    let room = match state.store.room_named(&page.id, name).await? {
        Some(room) => room,
        None => match caller.as_ref() {
            Some(writer) if access >= Access::Write => {
                // Creating rooms is a write: limited per user like the others.
                if state.room_limiter.admit(&writer.id, "new rooms").is_err() {
                    return Ok(not_started(name, TOO_MANY_ROOMS));
                }
                state.store.ensure_room(&page.id, name, &writer.id).await?
            }
            _ => return Ok(not_started(name, NOT_STARTED)),
        },
    };
    let info = chat::room_info(&state, &room).await?;
    let ids: Vec<UserId> = info.participants.iter().map(|p| p.id.clone()).collect();
    let faces = crate::profiles::faces(&state, &ids).await?;
    Ok(table(&info, &faces, page.time_zone))
}

/// Why a macro table has no room yet: nobody who may post has seen it.
const NOT_STARTED: &str = "This chat starts when someone who may post here opens the page.";
/// Why it has none yet: the viewer created too many rooms just now.
const TOO_MANY_ROOMS: &str =
    "You have started many chat rooms just now; reload in a minute to start this one.";

/// The table for a room that does not exist yet: its name and `why`, no
/// Join link (there is no room to join) and no `data-room` (the live table
/// updater skips it).
pub fn not_started(name: &str, why: &str) -> Markup {
    html! {
        table.bc-macro.bc-not-started {
            caption { "Chat room" }
            tbody {
                tr { th scope="row" { "Room" } td.bc-room-name { (name) } }
                tr {
                    th scope="row" { "Last activity" }
                    td.bc-last-activity { "no messages yet" }
                }
            }
            tfoot {
                tr {
                    td colspan="2" { (why) }
                }
            }
        }
    }
}

/// Whether a transcript link a host gave may be an `href`: http(s), or a
/// path on this site (not `//host` or `/\\host`, which browsers read as
/// another host). Anything else (`javascript:`, `data:`) is shown as text.
fn safe_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let path = url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\");
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    (path || web) && !url.chars().any(char::is_control)
}

/// The macro table: name, last activity, participants, files, transcripts
/// and the Join Chat link.
pub fn table(info: &RoomInfo, faces: &HashMap<UserId, Face>, zone: Tz) -> Markup {
    let join = format!("/rooms/{}", info.id);
    html! {
        table.bc-macro data-room=(info.id) {
            caption { "Chat room" }
            tbody {
                tr { th scope="row" { "Room" } td.bc-room-name { (info.name) } }
                tr {
                    th scope="row" { "Last activity" }
                    td.bc-last-activity {
                        @match info.last_activity {
                            Some(at) => {
                                time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
                                    (at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"))
                                }
                            }
                            None => "no messages yet",
                        }
                    }
                }
                tr {
                    th scope="row" { "Participants" }
                    td.bc-participants {
                        @if info.participants.is_empty() { "nobody yet" }
                        @for (i, person) in info.participants.iter().enumerate() {
                            @if i > 0 { ", " }
                            span.bc-person data-user=(person.id) {
                                @if let Some(face) = faces.get(&person.id).filter(|f| f.has_avatar) {
                                    img.bc-face src=(face.avatar_url) alt="" width="20" height="20" loading="lazy";
                                    " "
                                }
                                (person.name)
                            }
                        }
                    }
                }
                tr {
                    th scope="row" { "Files uploaded" }
                    td.bc-files {
                        @if info.files.is_empty() { "none" }
                        @for (i, file) in info.files.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(file.url) download=(file.name) { (file.name) }
                            " (" (protocol::size::human_size(file.size))
                            @if let Some(by) = &file.uploaded_by { ", " (by) }
                            ")"
                        }
                    }
                }
                tr {
                    th scope="row" { "Transcripts" }
                    td.bc-transcripts {
                        @if info.transcripts.is_empty() { "none yet" }
                        @for (i, day) in info.transcripts.iter().enumerate() {
                            @if i > 0 { ", " }
                            @if safe_link(&day.url) {
                                a href=(day.url) { (day.date) }
                            } @else {
                                (day.date)
                            }
                        }
                    }
                }
            }
            tfoot {
                tr {
                    td colspan="2" {
                        a.bc-join href=(join) target=(format!("bc-room-{}", info.id)) rel="opener" {
                            "Join Chat"
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_link;

    #[test]
    fn only_web_links_and_local_paths_become_hrefs() {
        for good in [
            "/pages/Team/Chat/2026-11-22",
            "https://wiki.example/p",
            "HTTP://w/x",
        ] {
            assert!(safe_link(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,x",
            "//evil.example/x",
            "/\\evil.example/x",
            "vbscript:x",
            "/pages/\nx",
            "",
        ] {
            assert!(!safe_link(bad), "{bad:?}");
        }
    }
}
