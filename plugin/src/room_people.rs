//! The popup's people panel, for page, group and direct rooms alike: the
//! members (name, role, status) with a "Message" button beside each, a
//! remove button for those who manage members, the invite form (person,
//! comment, expiry, schedule) for those with the add right, and the
//! settings form for owners. [`popup`](crate::popup) shows it and routes
//! its forms here:
//!
//! - `POST /rooms/{id}/invitations`: `person`, `comment`, `hours`, `starts_at`
//! - `POST /rooms/{id}/settings`: `name`, `topic`, `alias`, `is_public`,
//!   `avatar`, `transcripts_page`, `no_transcripts`
//! - `POST /rooms/{id}/members/{user}/remove`
//!
//! Each passes [`nojs::gate`] and calls the operation the JSON API calls,
//! so the rights are the same (a forged form from someone without the
//! right is refused there). What is offered is only what the caller may do.

use crate::chat::Authorized;
use crate::chats_view::{button_form, csrf, message_button};
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::invitations::{self, InviteDraft};
use crate::members::{self, SettingsDraft};
use crate::nojs;
use crate::profiles::Face;
use crate::state::AppState;
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{html, Markup};
use protocol::{ErrorCode, MemberInfo, MemberStatus, RoomId, RoomKind, UserId};
use serde::Deserialize;
use std::collections::HashMap;

/// What the panel shows to one caller.
pub struct People {
    pub members: Vec<MemberInfo>,
    /// The invite form is offered.
    pub can_invite: bool,
    /// Remove buttons are offered (a moderator or owner, or a page admin).
    pub can_remove: bool,
    /// The settings form is offered.
    pub is_owner: bool,
    /// Images shared in the room (id, name), for the owner to pick as its
    /// avatar; empty unless `is_owner`.
    pub images: Vec<(String, String)>,
    /// How each member appears (their display name and picture now).
    pub faces: HashMap<UserId, Face>,
}

/// Loads the panel for `caller` in a room they may read.
pub async fn load(
    state: &AppState,
    caller: Option<&Caller>,
    authorized: &Authorized,
) -> Result<People, AppError> {
    let members = members::members(state, caller, &authorized.room.id).await?;
    let ids: Vec<UserId> = members.iter().map(|m| m.id.clone()).collect();
    let faces = crate::profiles::faces(state, &ids).await?;
    let Some(me) = caller else {
        return Ok(People {
            members,
            can_invite: false,
            can_remove: false,
            is_owner: false,
            images: Vec::new(),
            faces,
        });
    };
    let is_owner = members::owns(state, me, &authorized.room).await?;
    let images = if is_owner {
        state
            .store
            .files(&authorized.room.id, crate::chat::MAX_LISTED_FILES)
            .await?
            .into_iter()
            .filter(|entry| {
                entry
                    .file
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("image/"))
            })
            .map(|entry| (entry.file.id, entry.file.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(People {
        images,
        can_invite: invitations::may_invite(state, me, authorized).await?,
        can_remove: authorized.access >= Access::Admin
            || members::may_manage(state, me, authorized).await?,
        is_owner,
        members,
        faces,
    })
}

fn status_name(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Invited => "invited",
        MemberStatus::Active => "active",
        MemberStatus::Away => "away",
        MemberStatus::Idle => "idle",
        MemberStatus::Offline => "offline",
    }
}

/// The panel: members, then the invite and settings forms as allowed.
pub fn panel(people: &People, caller: Option<&Caller>, room: &crate::store::Room) -> Markup {
    let base = format!("/rooms/{}", room.id);
    html! {
        section #bc-people aria-labelledby="bc-people-h" {
            h2 #bc-people-h { "Members" }
            ul #bc-members {
                @for member in &people.members {
                    @let face = people.faces.get(&member.id);
                    li data-user=(member.id) data-status=(status_name(member.status)) {
                        @if let Some(face) = face.filter(|f| f.has_avatar) {
                            img.bc-face src=(face.avatar_url) alt="" width="20" height="20" loading="lazy";
                            " "
                        }
                        a.bc-member.bc-person href=(crate::profiles::page_url(&member.id)) {
                            (face.map_or(member.name.as_str(), |f| f.name.as_str()))
                        }
                        " " span.bc-role { (member.role.as_str()) }
                        " " span.bc-status { "(" (status_name(member.status)) ")" }
                        @if let Some(me) = caller.filter(|me| me.id != member.id) {
                            " " (message_button(me, &member.id, &member.name))
                            @if people.can_remove && member.status != MemberStatus::Invited {
                                " "
                                (button_form(me, &format!("{base}/members/{}/remove", member.id),
                                    &format!("Remove {}", member.name), "bc-danger"))
                            }
                        }
                    }
                }
                @if people.members.is_empty() { li.bc-none { "nobody has joined" } }
            }
            @if let Some(me) = caller.filter(|_| people.can_invite) {
                (invite_form(me, room, &base))
            }
            @if let Some(me) = caller.filter(|_| people.is_owner) {
                (settings_form(me, room, &base, &people.images))
            }
        }
    }
}

fn invite_form(me: &Caller, room: &crate::store::Room, base: &str) -> Markup {
    html! {
        h2 #bc-invite-h { "Invite someone" }
        form #bc-invite .bc-stack method="post" action=(format!("{base}/invitations"))
            aria-labelledby="bc-invite-h" {
            (csrf(me))
            @if room.kind == RoomKind::Direct {
                p.bc-hint { "Inviting a third person opens a new group room with all three and the recent messages." }
            }
            label for="bc-invite-person" { "Person (user name)" }
            input #bc-invite-person type="text" name="person" required autocomplete="off"
                list="bc-invite-people" data-picker;
            // Filled as they type by /assets/picker.js; empty without it.
            datalist #bc-invite-people {}
            label for="bc-invite-comment" { "Comment (optional)" }
            input #bc-invite-comment type="text" name="comment" maxlength="500";
            label for="bc-invite-hours" { "Expires after (hours, optional)" }
            input #bc-invite-hours type="number" name="hours" min="1" max=(invitations::MAX_TTL_DAYS * 24);
            label for="bc-invite-start" { "Scheduled start (UTC, optional)" }
            input #bc-invite-start type="datetime-local" name="starts_at";
            button type="submit" { "Invite" }
        }
    }
}

fn settings_form(
    me: &Caller,
    room: &crate::store::Room,
    base: &str,
    images: &[(String, String)],
) -> Markup {
    let named = room.kind != RoomKind::Page;
    let group = room.kind == RoomKind::Group;
    html! {
        h2 #bc-settings-h { "Room settings" }
        form #bc-settings .bc-stack method="post" action=(format!("{base}/settings"))
            aria-labelledby="bc-settings-h" {
            (csrf(me))
            @if named {
                label for="bc-settings-name" { "Name" }
                input #bc-settings-name type="text" name="name" required value=(room.name);
            }
            label for="bc-settings-topic" { "Topic" }
            input #bc-settings-topic type="text" name="topic" maxlength="500" value=(room.topic);
            @if group {
                label for="bc-settings-alias" { "Alias" }
                input #bc-settings-alias type="text" name="alias" maxlength="64" value=(room.alias.as_deref().unwrap_or_default());
                label.bc-check for="bc-settings-public" {
                    input #bc-settings-public type="checkbox" name="is_public" value="on"
                        checked[room.is_public];
                    " Public: listed in the directory"
                }
            }
            label for="bc-settings-avatar" { "Room image" }
            select #bc-settings-avatar name="avatar" {
                option value="keep" selected { "Keep as it is" }
                option value="" { "The stock icon" }
                @for (id, name) in images {
                    option value=(id) { (name) }
                }
            }
            @if images.is_empty() {
                p.bc-hint { "Share an image in the room to use it as the room's image." }
            }
            @if named {
                label for="bc-settings-transcripts" {
                    "Publish daily transcripts under this wiki page (its path; its readers will read them)"
                }
                input #bc-settings-transcripts type="text" name="transcripts_page"
                    placeholder=(if room.page.is_some() { "published; type another path to move" } else { "not published" });
                @if room.page.is_some() {
                    label.bc-check for="bc-settings-no-transcripts" {
                        input #bc-settings-no-transcripts type="checkbox" name="no_transcripts" value="on";
                        " Stop publishing transcripts"
                    }
                }
            }
            button type="submit" { "Save settings" }
        }
    }
}

/// The invite form's fields.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    comment: String,
    /// Hours until it expires; empty for never.
    #[serde(default)]
    hours: String,
    /// A `datetime-local` value, read as UTC; empty for now.
    #[serde(default)]
    starts_at: String,
}

/// A `datetime-local` value (`2026-05-01T14:30`, seconds optional) as UTC.
fn starts_at(value: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| Some(naive.and_utc()))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidInput,
                "the scheduled start is a date and time like 2026-05-01T14:30",
            )
        })
}

fn ttl_secs(hours: &str) -> Result<Option<u64>, AppError> {
    let hours = hours.trim();
    if hours.is_empty() {
        return Ok(None);
    }
    let max = invitations::MAX_TTL_DAYS as u64 * 24;
    match hours.parse::<u64>() {
        Ok(h) if (1..=max).contains(&h) => Ok(Some(h * 3600)),
        _ => Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("an invitation expires after 1 to {max} hours"),
        )),
    }
}

/// Invites the person named; goes to the room they were invited into (a
/// new group room when the room was a direct one).
pub async fn invite(
    state: &AppState,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    room: &RoomId,
    form: InviteForm,
) -> Result<String, AppError> {
    let me = nojs::gate(headers, caller, &form.csrf)?;
    let draft = InviteDraft {
        comment: form.comment,
        ttl_secs: ttl_secs(&form.hours)?,
        starts_at: starts_at(&form.starts_at)?,
    };
    let person = nojs::person(state, &form.person).await?;
    let invited = invitations::invite(state, Some(me), room, &person.id, draft).await?;
    Ok(format!("/rooms/{}#bc-people", invited.room.id))
}

/// The settings form's fields; absent ones are left as they are.
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    topic: Option<String>,
    alias: Option<String>,
    /// Present (any value) when ticked; only group rooms' forms have the
    /// alias field, and so say whether the box was there.
    is_public: Option<String>,
    /// A page path to publish transcripts under; empty leaves it as it is.
    transcripts_page: Option<String>,
    /// An image file's id, `""` for the stock icon, `keep` (or absent) to
    /// leave it.
    avatar: Option<String>,
    /// Present when "Stop publishing transcripts" is ticked.
    no_transcripts: Option<String>,
}

pub async fn settings(
    state: &AppState,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    room: &RoomId,
    form: SettingsForm,
) -> Result<String, AppError> {
    let me = nojs::gate(headers, caller, &form.csrf)?;
    let group_form = form.alias.is_some();
    let draft = SettingsDraft {
        name: form.name,
        topic: form.topic,
        alias: form.alias.filter(|a| !a.trim().is_empty()),
        is_public: group_form.then_some(form.is_public.is_some()),
        avatar: form.avatar.filter(|avatar| avatar != "keep"),
        transcripts_page: if form.no_transcripts.is_some() {
            Some(String::new())
        } else {
            form.transcripts_page.filter(|path| !path.trim().is_empty())
        },
    };
    members::update_settings(state, Some(me), room, draft).await?;
    Ok(format!("/rooms/{room}#bc-people"))
}

/// The remove button's one field.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

pub async fn remove(
    state: &AppState,
    caller: Option<&Caller>,
    headers: &HeaderMap,
    room: &RoomId,
    user: &UserId,
    form: RemoveForm,
) -> Result<String, AppError> {
    let me = nojs::gate(headers, caller, &form.csrf)?;
    members::remove(state, Some(me), room, user).await?;
    Ok(format!("/rooms/{room}#bc-people"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_and_expiries_are_read_or_refused() {
        let at = starts_at("2026-05-01T14:30").unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-05-01T14:30:00+00:00");
        assert!(starts_at("").unwrap().is_none());
        assert!(starts_at("tomorrow").is_err());
        assert_eq!(ttl_secs("2").unwrap(), Some(7200));
        assert_eq!(ttl_secs(" ").unwrap(), None);
        assert!(ttl_secs("0").is_err());
        assert!(ttl_secs("100000").is_err());
    }
}
