//! Invitations (seed 004): made by someone who may add members, shown to
//! the invitee (not before a scheduled start, not after a TTL), accepted,
//! declined silently or with a message (the inviter hears only the
//! second), or cancelled by the inviter or a room admin. Each carries the
//! room's card and the inviter's profile, so a client needs nothing else.
//!
//! Inviting a third person into a direct room opens a new group room with
//! all three and the recent history, marked as inherited; the direct room
//! stays as it was (seed 004).

use crate::chat;
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::members;
use crate::notifications;
use crate::rooms;
use crate::state::AppState;
use crate::store::{
    Claimed, MessageQuery, NewInvitation, NewMessage, NewRoom, Room, StoredInvitation,
};
use chrono::{DateTime, Duration, Utc};
use protocol::{
    ErrorCode, Invitation, InvitationStatus, NotificationBody, Profile, Role, RoomCard, RoomId,
    RoomKind, UserId,
};

/// Longest invitation comment or decline message.
pub const MAX_COMMENT: usize = 500;
/// Longest TTL an invitation may be given.
pub const MAX_TTL_DAYS: i64 = 30;
/// How far ahead a chat may be scheduled.
pub const MAX_SCHEDULE_DAYS: i64 = 366;
/// What a group room made from a direct one inherits: the last this many
/// messages of the last [`INHERIT_HOURS`].
pub const INHERIT_MESSAGES: usize = 50;
pub const INHERIT_HOURS: i64 = 24;

/// An invitation as its sender asks for it.
#[derive(Debug, Clone, Default)]
pub struct InviteDraft {
    pub comment: String,
    /// Expires this long after it is made.
    pub ttl_secs: Option<u64>,
    /// Not shown before this.
    pub starts_at: Option<DateTime<Utc>>,
}

/// What [`invite`] made: the invitation, and the room it is into (a new
/// group room when the caller invited a third person into a direct room).
pub struct Invited {
    pub invitation: Invitation,
    pub room: Room,
}

/// Invites `invitee` into a room. Needs the add right (in a page room: edit
/// rights on the page, or a moderator role), and an invitee who may read a
/// page room's page.
pub async fn invite(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    invitee: &UserId,
    draft: InviteDraft,
) -> Result<Invited, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let authorized = chat::authorize(state, Some(caller), room_id).await?;
    let Some(profile) = state.host.user(invitee).await? else {
        return Err(AppError::new(ErrorCode::NotFound, "no such user"));
    };
    let room = authorized.room.clone();
    if room.kind == RoomKind::Direct {
        if state.store.member(&room.id, &caller.id).await?.is_none() {
            return Err(AppError::not_found());
        }
        let group = widen_direct(state, caller, &room).await?;
        let invitation = invite_into(state, caller, &group, &profile, draft).await?;
        return Ok(Invited {
            invitation,
            room: group,
        });
    }
    if !may_invite(state, caller, &authorized).await? {
        return Err(AppError::forbidden(
            "inviting people needs the add-members right (a moderator or an owner)",
        ));
    }
    if room.kind == RoomKind::Page {
        let as_invitee = Caller {
            id: profile.id.clone(),
            name: profile.name.clone(),
            csrf_token: None,
        };
        if chat::room_access(state, Some(&as_invitee), &room).await? < Access::Read {
            return Err(AppError::forbidden(format!(
                "{} may not read the page this room is on; share the page with them first",
                profile.name
            )));
        }
    }
    let invitation = invite_into(state, caller, &room, &profile, draft).await?;
    Ok(Invited { invitation, room })
}

/// Whether the caller may invite people into a room they may read: in a
/// direct room its two people (which widens it into a group room); in a
/// page room whoever may post (edit rights on the page) or manages its
/// members; in a group room a moderator or an owner.
pub async fn may_invite(
    state: &AppState,
    caller: &Caller,
    authorized: &chat::Authorized,
) -> Result<bool, AppError> {
    Ok(match authorized.room.kind {
        RoomKind::Direct => state
            .store
            .member(&authorized.room.id, &caller.id)
            .await?
            .is_some(),
        RoomKind::Page => {
            authorized.access >= Access::Write
                || members::may_manage(state, caller, authorized).await?
        }
        RoomKind::Group => members::may_manage(state, caller, authorized).await?,
    })
}

/// Stores the invitation and notifies the invitee (at its start, if
/// scheduled). No rights are checked here.
pub(crate) async fn invite_into(
    state: &AppState,
    caller: &Caller,
    room: &Room,
    invitee: &Profile,
    draft: InviteDraft,
) -> Result<Invitation, AppError> {
    if state.store.member(&room.id, &invitee.id).await?.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("{} is a member already", invitee.name),
        ));
    }
    let comment = checked_text(&draft.comment, "a comment")?;
    let now = state.config.clock.now();
    let expires_at = match draft.ttl_secs {
        None => None,
        Some(secs) if secs > 0 && secs <= (MAX_TTL_DAYS * 86_400) as u64 => {
            Some(now + Duration::seconds(secs as i64))
        }
        Some(_) => {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("ttl_secs is 1 second to {MAX_TTL_DAYS} days"),
            ))
        }
    };
    if let Some(start) = draft.starts_at {
        if start > now + Duration::days(MAX_SCHEDULE_DAYS) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("a chat is scheduled at most {MAX_SCHEDULE_DAYS} days ahead"),
            ));
        }
        if expires_at.is_some_and(|end| end <= start) {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "the invitation would expire before the chat starts",
            ));
        }
    }
    state.invite_limiter.admit(&caller.id, "invitations")?;
    let stored = state
        .store
        .invite(NewInvitation {
            room: room.id.clone(),
            invitee: invitee.id.clone(),
            invitee_name: invitee.name.clone(),
            inviter: caller.id.clone(),
            inviter_name: caller.name.clone(),
            comment,
            created_at: now,
            expires_at,
            starts_at: draft.starts_at.filter(|start| *start > now),
        })
        .await?;
    let invitation = shown(&stored, rooms::card(room), now);
    notifications::notify(
        state,
        &invitee.id,
        NotificationBody::Invitation {
            invitation: invitation.clone(),
        },
        Some(&room.id),
        Some(stored.id),
        stored.starts_at,
    )
    .await?;
    tracing::info!(room = %room.id, invitation = stored.id, to = %invitee.id, by = %caller.id, "invited");
    Ok(invitation)
}

fn checked_text(text: &str, what: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.chars().count() > MAX_COMMENT {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("{what} is at most {MAX_COMMENT} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// An invitation as its people see it.
pub fn shown(stored: &StoredInvitation, room: RoomCard, now: DateTime<Utc>) -> Invitation {
    Invitation {
        id: stored.id,
        room,
        inviter: Profile {
            id: stored.inviter.clone(),
            name: stored.inviter_name.clone(),
        },
        invitee: Profile {
            id: stored.invitee.clone(),
            name: stored.invitee_name.clone(),
        },
        comment: stored.comment.clone(),
        status: stored.status_at(now),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        expires_at: stored.expires_at,
        starts_at: stored.starts_at,
    }
}

/// A new group room holding the direct room's two people (as owners) and
/// its recent history, marked as inherited.
async fn widen_direct(state: &AppState, caller: &Caller, direct: &Room) -> Result<Room, AppError> {
    let people = state.store.members(&direct.id).await?;
    let now = state.config.clock.now();
    let name = format!("{} and others", direct.name);
    let alias = format!(
        "group-{}",
        &direct.id.as_str()[..direct.id.as_str().len().min(8)]
    );
    let owners: Vec<(UserId, String)> = people
        .iter()
        .map(|m| (m.user.clone(), m.name.clone()))
        .collect();
    let mut attempt = 0u32;
    let room = loop {
        let alias = if attempt == 0 {
            alias.clone()
        } else {
            format!("{alias}-{attempt}")
        };
        let created = state
            .store
            .create_room(
                NewRoom {
                    kind: RoomKind::Group,
                    alias,
                    name: name.chars().take(chat::MAX_ROOM_NAME).collect(),
                    topic: String::new(),
                    is_public: false,
                    created_by: caller.id.clone(),
                    created_at: now,
                },
                &owners,
                &[],
            )
            .await?;
        match created {
            Claimed::Done(room) => break *room,
            Claimed::AliasTaken if attempt < 20 => attempt += 1,
            Claimed::AliasTaken => {
                return Err(
                    anyhow::anyhow!("no free alias for a room widened from {}", direct.id).into(),
                )
            }
        }
    };
    // The recent history, oldest first, each marked as inherited.
    let since = now - Duration::hours(INHERIT_HOURS);
    let mut recent = state
        .store
        .messages(
            &direct.id,
            MessageQuery::Since {
                since,
                before: direct.last_seq.saturating_add(1),
            },
            INHERIT_MESSAGES,
        )
        .await?;
    recent.reverse();
    let copies: Vec<NewMessage> = recent
        .into_iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| NewMessage {
            room: room.id.clone(),
            created_at: now,
            author: m.author.clone(),
            author_name: m.author_name.clone(),
            body: format!(
                "{}\n\n*(inherited from the direct chat, {})*",
                m.body,
                m.created_at.format("%Y-%m-%d %H:%M UTC")
            ),
            client_msg_id: format!("inherited-{}-{}", direct.id, m.seq),
            reply_to: None,
            mentions: Vec::new(),
            files: Vec::new(),
        })
        .collect();
    for outcome in state.store.append_all(copies).await {
        outcome?;
    }
    tracing::info!(room = %room.id, from = %direct.id, by = %caller.id, "direct room widened into a group");
    let room = state
        .store
        .room(&room.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("room {} vanished", room.id))?;
    Ok(room)
}

/// The caller's pending invitations (started, not expired), newest first.
pub async fn pending(
    state: &AppState,
    caller: Option<&Caller>,
) -> Result<Vec<Invitation>, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let now = state.config.clock.now();
    let mut shown_ones = Vec::new();
    for stored in state.store.invitations_for(&caller.id).await? {
        if !stored.pending_at(now) {
            continue;
        }
        let Some(room) = state.store.room(&stored.room).await? else {
            continue;
        };
        if !invitee_may_see(state, caller, &room).await? {
            continue;
        }
        shown_ones.push(shown(&stored, rooms::card(&room), now));
    }
    Ok(shown_ones)
}

/// A room's open invitations, for those who may manage its members.
pub async fn of_room(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Vec<Invitation>, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let authorized = chat::authorize(state, Some(caller), room_id).await?;
    if !members::may_manage(state, caller, &authorized).await? {
        return Err(AppError::forbidden(
            "a room's invitations are for its moderators and owners",
        ));
    }
    let now = state.config.clock.now();
    let card = rooms::card(&authorized.room);
    Ok(state
        .store
        .invitations_to(room_id)
        .await?
        .iter()
        .filter(|stored| stored.status_at(now) == InvitationStatus::Invited)
        .map(|stored| shown(stored, card.clone(), now))
        .collect())
}

/// An invitation the caller may see: the invitee (once started), the
/// inviter, or someone who manages the room. Anyone else gets 404.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: u64,
) -> Result<(StoredInvitation, Room), AppError> {
    let missing = || AppError::new(ErrorCode::NotFound, "no such invitation");
    let stored = state.store.invitation(id).await?.ok_or_else(missing)?;
    let room = state.store.room(&stored.room).await?.ok_or_else(missing)?;
    let now = state.config.clock.now();
    let sees = if stored.invitee == caller.id {
        stored.starts_at.is_none_or(|start| start <= now)
            && invitee_may_see(state, caller, &room).await?
    } else if stored.inviter == caller.id {
        true
    } else {
        match chat::authorize(state, Some(caller), &room.id).await {
            Ok(authorized) => members::may_manage(state, caller, &authorized).await?,
            Err(_) => false,
        }
    };
    if !sees {
        return Err(missing());
    }
    Ok((stored, room))
}

/// Whether the invitee may still see an invitation into `room`: into a
/// group or direct room the invitation is what lets them in; into a page
/// room only while they may read the page (access can be taken away after
/// the invitation was made, and then its room card would tell too much).
async fn invitee_may_see(
    state: &AppState,
    invitee: &Caller,
    room: &Room,
) -> Result<bool, AppError> {
    Ok(room.kind != RoomKind::Page
        || chat::room_access(state, Some(invitee), room).await? >= Access::Read)
}

/// One invitation, as the caller may see it.
pub async fn get(
    state: &AppState,
    caller: Option<&Caller>,
    id: u64,
) -> Result<Invitation, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let (stored, room) = visible(state, caller, id).await?;
    Ok(shown(&stored, rooms::card(&room), state.config.clock.now()))
}

fn no_longer_open(status: InvitationStatus) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("this invitation is {} already", status.as_str()),
    )
}

/// Moves an invitation on, or says why it cannot.
async fn settle(
    state: &AppState,
    stored: &StoredInvitation,
    to: InvitationStatus,
    response: Option<String>,
) -> Result<StoredInvitation, AppError> {
    let now = state.config.clock.now();
    let status = stored.status_at(now);
    if status != InvitationStatus::Invited {
        return Err(no_longer_open(status));
    }
    match state
        .store
        .settle_invitation(stored.id, to, response, now)
        .await?
    {
        Some(settled) => Ok(settled),
        None => {
            let status = state
                .store
                .invitation(stored.id)
                .await?
                .map_or(InvitationStatus::Cancelled, |s| s.status_at(now));
            Err(no_longer_open(status))
        }
    }
}

/// The invitee accepts: they become a member.
pub async fn accept(state: &AppState, caller: Option<&Caller>, id: u64) -> Result<Room, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let (stored, room) = visible(state, caller, id).await?;
    if stored.invitee != caller.id {
        return Err(AppError::forbidden(
            "only the person invited accepts an invitation",
        ));
    }
    settle(state, &stored, InvitationStatus::Accepted, None).await?;
    members::add(state, &room, &caller.id, &caller.name, Role::Member).await?;
    tracing::info!(room = %room.id, invitation = id, by = %caller.id, "invitation accepted");
    Ok(room)
}

/// Accepts the caller's open invitation into `room`, if there is one
/// (opening a direct room someone started with you).
pub(crate) async fn accept_open(
    state: &AppState,
    caller: &Caller,
    room: &Room,
) -> Result<(), AppError> {
    let now = state.config.clock.now();
    let open = state
        .store
        .invitations_for(&caller.id)
        .await?
        .into_iter()
        .find(|stored| stored.room == room.id && stored.pending_at(now));
    match open {
        Some(stored) => {
            settle(state, &stored, InvitationStatus::Accepted, None).await?;
        }
        // Left it, or declined earlier: only a direct room's own two
        // people may come back, and the caller is one (the alias says so).
        None if room.kind == RoomKind::Direct => {}
        None => return Err(AppError::not_found()),
    }
    members::add(state, room, &caller.id, &caller.name, Role::Member).await?;
    Ok(())
}

/// The invitee declines, silently or with a message (then the inviter is told).
pub async fn decline(
    state: &AppState,
    caller: Option<&Caller>,
    id: u64,
    message: Option<String>,
) -> Result<(), AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let (stored, room) = visible(state, caller, id).await?;
    if stored.invitee != caller.id {
        return Err(AppError::forbidden(
            "only the person invited declines an invitation",
        ));
    }
    let message = checked_text(message.as_deref().unwrap_or_default(), "a decline message")?;
    let said = (!message.is_empty()).then_some(message);
    settle(state, &stored, InvitationStatus::Declined, said.clone()).await?;
    if let Some(message) = said {
        notifications::notify(
            state,
            &stored.inviter,
            NotificationBody::Declined {
                invitation_id: stored.id,
                room: rooms::card(&room),
                by: Profile {
                    id: caller.id.clone(),
                    name: caller.name.clone(),
                },
                message,
            },
            Some(&room.id),
            None,
            None,
        )
        .await?;
    }
    tracing::info!(room = %room.id, invitation = id, by = %caller.id, "invitation declined");
    Ok(())
}

/// The inviter, or someone who manages the room, takes an invitation back.
pub async fn cancel(state: &AppState, caller: Option<&Caller>, id: u64) -> Result<(), AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let (stored, room) = visible(state, caller, id).await?;
    let may = stored.inviter == caller.id
        || match chat::authorize(state, Some(caller), &room.id).await {
            Ok(authorized) => members::may_manage(state, caller, &authorized).await?,
            Err(_) => false,
        };
    if !may {
        return Err(AppError::forbidden(
            "only the inviter or a room's moderator or owner cancels an invitation",
        ));
    }
    settle(state, &stored, InvitationStatus::Cancelled, None).await?;
    tracing::info!(room = %room.id, invitation = id, by = %caller.id, "invitation cancelled");
    Ok(())
}

/// The scheduled chat of an invitation as an iCalendar file (RFC 5545), for
/// the invitee's or inviter's calendar. 404 without a schedule.
pub async fn calendar(
    state: &AppState,
    caller: Option<&Caller>,
    id: u64,
    site: &str,
) -> Result<String, AppError> {
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    let (stored, room) = visible(state, caller, id).await?;
    let Some(start) = stored.starts_at else {
        return Err(AppError::new(
            ErrorCode::NotFound,
            "this invitation has no schedule",
        ));
    };
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let url = format!("{site}/rooms/{}", room.id);
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Backchannel//Chat invitation//EN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:invitation-{}@backchannel", stored.id),
        format!("DTSTAMP:{}", stamp(stored.updated_at)),
        format!("DTSTART:{}", stamp(start)),
        format!("DTEND:{}", stamp(start + Duration::hours(1))),
        format!("SUMMARY:{}", ics_text(&format!("Chat: {}", room.name))),
        format!(
            "DESCRIPTION:{}",
            ics_text(&format!(
                "{} invites you. {}\n{url}",
                stored.inviter_name, stored.comment
            ))
        ),
        format!("URL:{}", ics_text(&url)),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let folded: Vec<String> = lines.drain(..).map(|line| fold(&line)).collect();
    Ok(folded.join("\r\n") + "\r\n")
}

/// RFC 5545 TEXT: backslash, semicolon, comma and newline escaped.
fn ics_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 folding: lines of at most 75 octets, continued after CRLF and a
/// space, never splitting a character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_text_is_escaped_and_folded() {
        assert_eq!(ics_text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        for line in folded.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        assert_eq!(folded.replace("\r\n ", ""), long);
    }
}
