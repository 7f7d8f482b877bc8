//! Rooms with people (seeds 000 and 004): group rooms, direct rooms found
//! again from either side, joining and leaving, roles, removal, settings,
//! "my rooms" and the directory. Every right is checked here, so the JSON
//! API and the no-JavaScript forms share one set of rules.
//!
//! Rights (seed 000) come from the role: members read and write,
//! moderators also add and remove members, owners also change settings and
//! roles. In page rooms reading and writing still come from the page
//! ([`chat::room_access`]); roles only add moderators and owners.

use crate::bus::RoomEvent;
use crate::chat::{self, Authorized};
use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::rooms;
use crate::state::AppState;
use crate::store::{Claimed, Member, NewRoom, Room, RoomSettings};
use protocol::{
    ErrorCode, Event, MemberInfo, MemberStatus, MyRoom, PageId, Presence, Profile, Role, RoomCard,
    RoomId, RoomKind, UserId,
};

/// Longest alias.
pub const MAX_ALIAS: usize = 64;
/// Longest topic.
pub const MAX_TOPIC: usize = 500;
/// Most rooms one directory page lists.
pub const DIRECTORY_PAGE: usize = 50;

/// A group room as its creator asks for it.
#[derive(Debug, Clone, Default)]
pub struct GroupDraft {
    pub name: String,
    /// Derived from the name when absent.
    pub alias: Option<String>,
    pub topic: String,
    pub is_public: bool,
}

/// The alias of the direct room of `a` and `b`: `private:A:B`, ids sorted
/// bytewise, so either side finds the same room (seed 004).
pub fn direct_alias(a: &UserId, b: &UserId) -> String {
    let (first, second) = if a.as_str().as_bytes() <= b.as_str().as_bytes() {
        (a, b)
    } else {
        (b, a)
    };
    format!("private:{first}:{second}")
}

/// An alias as typed, checked: 2 to 64 of `a-z 0-9 . _ -`, lowercased;
/// `private:` is kept for direct rooms.
pub fn checked_alias(alias: &str) -> Result<String, AppError> {
    let alias = alias.trim().trim_start_matches('#').to_lowercase();
    let fits = (2..=MAX_ALIAS).contains(&alias.chars().count())
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !fits {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("an alias is 2 to {MAX_ALIAS} letters, digits, dots, dashes or underscores"),
        ));
    }
    Ok(alias)
}

/// An alias made from a room's name: `Team Planning!` -> `team-planning`.
fn alias_from_name(name: &str) -> String {
    let mut alias = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            alias.push(c);
        } else if !alias.ends_with('-') && !alias.is_empty() {
            alias.push('-');
        }
    }
    let alias: String = alias
        .trim_end_matches('-')
        .chars()
        .take(MAX_ALIAS)
        .collect();
    if alias.chars().count() < 2 {
        // Nothing usable (a name in another script): the caller can pick one.
        "room".to_owned()
    } else {
        alias
    }
}

fn checked_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > chat::MAX_ROOM_NAME || name.contains(['\n', '\r'])
    {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "a room name is 1 to {} characters on one line",
                chat::MAX_ROOM_NAME
            ),
        ));
    }
    Ok(name.to_owned())
}

fn checked_topic(topic: &str) -> Result<String, AppError> {
    let topic = topic.trim();
    if topic.chars().count() > MAX_TOPIC {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("a topic is at most {MAX_TOPIC} characters"),
        ));
    }
    Ok(topic.to_owned())
}

fn alias_taken(alias: &str) -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        format!("another room already has the alias #{alias}"),
    )
}

pub(crate) fn signed_in(caller: Option<&Caller>) -> Result<&Caller, AppError> {
    caller.ok_or_else(AppError::unauthenticated)
}

/// Creates a group room with the caller as its owner.
pub async fn create_group(
    state: &AppState,
    caller: Option<&Caller>,
    draft: GroupDraft,
) -> Result<Room, AppError> {
    let caller = signed_in(caller)?;
    let name = checked_name(&draft.name)?;
    let alias = match &draft.alias {
        Some(alias) if !alias.trim().is_empty() => checked_alias(alias)?,
        _ => alias_from_name(&name),
    };
    let topic = checked_topic(&draft.topic)?;
    state.invite_limiter.admit(&caller.id, "new rooms")?;
    let created = state
        .store
        .create_room(
            NewRoom {
                kind: RoomKind::Group,
                alias: alias.clone(),
                name,
                topic,
                is_public: draft.is_public,
                created_by: caller.id.clone(),
                created_at: state.config.clock.now(),
            },
            &[(caller.id.clone(), caller.name.clone())],
            &[],
        )
        .await?;
    match created {
        Claimed::Done(room) => {
            tracing::info!(room = %room.id, alias, by = %caller.id, "group room created");
            Ok(*room)
        }
        Claimed::AliasTaken => Err(alias_taken(&alias)),
    }
}

/// Joins a public group room, or a page room the caller may read (to be
/// listed among its members and in "my rooms").
pub async fn join(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Member, AppError> {
    let caller = signed_in(caller)?;
    let Authorized { room, .. } = chat::authorize(state, Some(caller), room_id).await?;
    if let Some(member) = state.store.member(&room.id, &caller.id).await? {
        return Ok(member);
    }
    let open = match room.kind {
        RoomKind::Page => true,
        RoomKind::Group => room.is_public,
        RoomKind::Direct => false,
    };
    if !open {
        return Err(AppError::forbidden("this room is by invitation only"));
    }
    add(state, &room, &caller.id, &caller.name, Role::Member).await
}

/// Makes someone a member (or changes their role) and tells the room.
pub(crate) async fn add(
    state: &AppState,
    room: &Room,
    user: &UserId,
    name: &str,
    role: Role,
) -> Result<Member, AppError> {
    let member = state
        .store
        .put_member(&room.id, user, name, role, state.config.clock.now())
        .await?;
    announce(state, &room.id, user, name, Some(role)).await;
    Ok(member)
}

async fn announce(state: &AppState, room: &RoomId, user: &UserId, name: &str, role: Option<Role>) {
    state
        .bus
        .publish(
            room,
            RoomEvent::new(
                room.clone(),
                Event::Membership {
                    user: user.clone(),
                    name: name.to_owned(),
                    role,
                },
            ),
        )
        .await;
}

/// The caller leaves. The last owner of a room others are still in must
/// hand ownership on first.
pub async fn leave(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<(), AppError> {
    let caller = signed_in(caller)?;
    let Some(me) = state.store.member(room_id, &caller.id).await? else {
        return Err(AppError::not_found());
    };
    if me.role == Role::Owner {
        let members = state.store.members(room_id).await?;
        let owners = members.iter().filter(|m| m.role == Role::Owner).count();
        if owners == 1 && members.len() > 1 {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "you are this room's only owner: make someone else an owner first",
            ));
        }
    }
    state.store.remove_member(room_id, &caller.id).await?;
    announce(state, room_id, &caller.id, &caller.name, None).await;
    Ok(())
}

/// The caller's role in a room they may read, `None` if they are not a member.
async fn role_of(
    state: &AppState,
    room: &RoomId,
    caller: &Caller,
) -> Result<Option<Role>, AppError> {
    Ok(state.store.member(room, &caller.id).await?.map(|m| m.role))
}

/// Whether the caller may add (and remove) members: a moderator or owner;
/// in a page room also whoever administers the page.
pub(crate) async fn may_manage(
    state: &AppState,
    caller: &Caller,
    authorized: &Authorized,
) -> Result<bool, AppError> {
    if authorized.access >= Access::Admin {
        return Ok(true);
    }
    Ok(role_of(state, &authorized.room.id, caller)
        .await?
        .is_some_and(|role| role.rights().add))
}

/// Removes `user` from the room: their open streams end and the room
/// answers them 404 from then on (unless it is public or a page room they
/// may read). Needs the remove right; only an owner removes an owner.
pub async fn remove(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    user: &UserId,
) -> Result<(), AppError> {
    let caller = signed_in(caller)?;
    let authorized = chat::authorize(state, Some(caller), room_id).await?;
    if &caller.id == user {
        return leave(state, Some(caller), room_id).await;
    }
    if !may_manage(state, caller, &authorized).await? {
        return Err(AppError::forbidden(
            "removing members needs a moderator or an owner",
        ));
    }
    let Some(target) = state.store.member(room_id, user).await? else {
        return Err(AppError::new(ErrorCode::NotFound, "no such member"));
    };
    let mine = role_of(state, room_id, caller).await?;
    if target.role == Role::Owner && mine != Some(Role::Owner) {
        return Err(AppError::forbidden("only an owner removes an owner"));
    }
    state.store.remove_member(room_id, user).await?;
    announce(state, room_id, user, &target.name, None).await;
    tracing::info!(room = %room_id, user = %user, by = %caller.id, "member removed");
    Ok(())
}

/// Gives a member another role. Owners only; the last owner stays one.
pub async fn set_role(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    user: &UserId,
    role: Role,
) -> Result<Member, AppError> {
    let caller = signed_in(caller)?;
    let Authorized { room, .. } = chat::authorize(state, Some(caller), room_id).await?;
    if !owns(state, caller, &room).await? {
        return Err(AppError::forbidden("only an owner changes roles"));
    }
    let Some(target) = state.store.member(room_id, user).await? else {
        return Err(AppError::new(ErrorCode::NotFound, "no such member"));
    };
    // A page room's page admins stand behind it, so it may have no owner.
    if target.role == Role::Owner && role != Role::Owner && room.kind != RoomKind::Page {
        let owners = state
            .store
            .members(room_id)
            .await?
            .iter()
            .filter(|m| m.role == Role::Owner)
            .count();
        if owners == 1 {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "a room keeps at least one owner",
            ));
        }
    }
    add(state, &room, user, &target.name, role).await
}

/// Whether the caller has an owner's rights in `room`: the owner role, or,
/// in a page room, admin rights on the page itself (not lifted by a room
/// role: a moderator does not make owners).
pub(crate) async fn owns(state: &AppState, caller: &Caller, room: &Room) -> Result<bool, AppError> {
    if role_of(state, &room.id, caller).await? == Some(Role::Owner) {
        return Ok(true);
    }
    Ok(match (&room.page, room.kind) {
        (Some(page), RoomKind::Page) => {
            state.host.access(Some(caller), page).await? >= Access::Admin
        }
        _ => false,
    })
}

/// A room's settings as an owner changes them. `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct SettingsDraft {
    pub name: Option<String>,
    pub topic: Option<String>,
    pub alias: Option<String>,
    pub is_public: Option<bool>,
    /// A file id shared in this room, or "" for the stock icon.
    pub avatar: Option<String>,
    /// A group or direct room's transcripts: the path of the wiki page they
    /// are published under (its readers will read them), or "" to stop.
    pub transcripts_page: Option<String>,
}

/// Changes a group or direct room's settings (an owner), or a page room's
/// topic (an owner of it).
pub async fn update_settings(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    draft: SettingsDraft,
) -> Result<Room, AppError> {
    let caller = signed_in(caller)?;
    let Authorized { room, .. } = chat::authorize(state, Some(caller), room_id).await?;
    if !owns(state, caller, &room).await? {
        return Err(AppError::forbidden(
            "only an owner changes a room's settings",
        ));
    }
    let page_room = room.kind == RoomKind::Page;
    if page_room && (draft.name.is_some() || draft.alias.is_some() || draft.is_public.is_some()) {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "a page room's name comes from its macro; only its topic and image change here",
        ));
    }
    let avatar = match draft.avatar {
        None => None,
        Some(file) if file.is_empty() => Some(None),
        Some(file) => match state.store.file(room_id, &file).await? {
            Some(found)
                if found
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("image/")) =>
            {
                Some(Some(found.id))
            }
            _ => {
                return Err(AppError::new(
                    ErrorCode::InvalidInput,
                    "the avatar must be an image shared in this room",
                ))
            }
        },
    };
    let page = match draft.transcripts_page.as_deref().map(str::trim) {
        None => None,
        Some(_) if page_room => {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                "a page room publishes its transcripts under its own page",
            ))
        }
        Some("") => Some(None),
        Some(path) => Some(Some(transcripts_page(state, caller, path).await?)),
    };
    let alias = draft.alias.as_deref().map(checked_alias).transpose()?;
    let settings = RoomSettings {
        name: draft.name.as_deref().map(checked_name).transpose()?,
        topic: draft.topic.as_deref().map(checked_topic).transpose()?,
        alias: alias.clone(),
        is_public: draft.is_public.filter(|_| room.kind == RoomKind::Group),
        avatar,
        page: page.clone(),
    };
    if let Some(page) = &page {
        tracing::info!(room = %room_id, page = ?page, by = %caller.id, "transcripts page set");
    }
    match state.store.update_room(room_id, settings).await? {
        Claimed::Done(room) => Ok(*room),
        Claimed::AliasTaken => Err(alias_taken(alias.as_deref().unwrap_or_default())),
    }
}

/// The page an owner picked for a room's transcripts: it must exist and
/// they must be able to edit it (they are putting pages under it). A page
/// they may not read answers as a missing one does.
async fn transcripts_page(
    state: &AppState,
    caller: &Caller,
    path: &str,
) -> Result<PageId, AppError> {
    let missing = || AppError::new(ErrorCode::NotFound, format!("no wiki page at {path}"));
    let page = state.host.page_at(path).await?.ok_or_else(missing)?;
    let access = state.host.access(Some(caller), &page.id).await?;
    if access < Access::Read {
        return Err(missing());
    }
    if access < Access::Write {
        return Err(AppError::forbidden(
            "publishing transcripts under a page needs edit rights on it",
        ));
    }
    Ok(page.id)
}

/// A room's members, owners first, each with their live status; people
/// invited and not yet in are listed as `invited`.
pub async fn members(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Vec<MemberInfo>, AppError> {
    let Authorized { room, .. } = chat::authorize(state, caller, room_id).await?;
    let present = state.presence.present(&room.id);
    let mut listed: Vec<MemberInfo> = state
        .store
        .members(&room.id)
        .await?
        .into_iter()
        .map(|member| {
            let status =
                present
                    .iter()
                    .find(|p| p.id == member.user)
                    .map_or(MemberStatus::Offline, |p| match p.presence {
                        Some(Presence::Away) => MemberStatus::Away,
                        Some(Presence::Idle) => MemberStatus::Idle,
                        Some(Presence::Invisible) => MemberStatus::Offline,
                        Some(Presence::Active) | None => MemberStatus::Active,
                    });
            MemberInfo {
                id: member.user,
                name: member.name,
                role: member.role,
                status,
                joined_at: Some(member.joined_at),
            }
        })
        .collect();
    let now = state.config.clock.now();
    for invitation in state.store.invitations_to(&room.id).await? {
        if invitation.pending_at(now) && !listed.iter().any(|m| m.id == invitation.invitee) {
            listed.push(MemberInfo {
                id: invitation.invitee,
                name: invitation.invitee_name,
                role: Role::Member,
                status: MemberStatus::Invited,
                joined_at: None,
            });
        }
    }
    Ok(listed)
}

/// The rooms the caller is a member of, most recent activity first, with
/// unread counts; rooms they may no longer read are left out.
pub async fn my_rooms(state: &AppState, caller: Option<&Caller>) -> Result<Vec<MyRoom>, AppError> {
    let caller = signed_in(caller)?;
    let mut mine = Vec::new();
    for membered in state.store.rooms_of(&caller.id).await? {
        let room = membered.room;
        if chat::room_access(state, Some(caller), &room).await? < Access::Read {
            continue;
        }
        let with = match room.kind {
            RoomKind::Direct => direct_partner(state, &room, &caller.id).await?,
            _ => None,
        };
        mine.push(MyRoom {
            unread: room.last_seq.saturating_sub(membered.member.last_read_seq),
            role: membered.member.role,
            muted: membered.member.muted,
            room: rooms::card(&room),
            with,
        });
    }
    Ok(mine)
}

/// The other person of a direct room, with their profile.
pub(crate) async fn direct_partner(
    state: &AppState,
    room: &Room,
    me: &UserId,
) -> Result<Option<Profile>, AppError> {
    let Some(other) = rooms::direct_partner(room, me) else {
        return Ok(None);
    };
    Ok(Some(state.host.user(&other).await?.unwrap_or(Profile {
        name: other.as_str().to_owned(),
        id: other,
    })))
}

/// Mutes or unmutes a room for the caller (no notifications from it).
pub async fn set_muted(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
    muted: bool,
) -> Result<(), AppError> {
    let caller = signed_in(caller)?;
    if !state.store.set_muted(room_id, &caller.id, muted).await? {
        return Err(AppError::not_found());
    }
    Ok(())
}

/// A directory cursor as clients hold it: the last room's name and id
/// joined by a NUL, meaningless to them; they pass back what they got.
pub fn directory_cursor((name, id): &(String, RoomId)) -> String {
    format!("{name}\u{0}{id}")
}

/// A cursor [`directory_cursor`] made, read back.
pub fn parse_directory_cursor(after: &str) -> Result<(String, RoomId), AppError> {
    let (name, id) = after
        .split_once('\u{0}')
        .ok_or_else(|| AppError::bad_request("after is not a cursor this server gave"))?;
    Ok((name.to_owned(), RoomId::new(id)))
}

/// Rows the directory reads per request at most, so a wiki with many page
/// rooms the caller may not read costs a bounded amount per page; the
/// cursor then resumes after the last one read.
const DIRECTORY_SCAN: usize = 1_000;

/// A page of the directory: public group rooms and the page rooms whose
/// page the caller may read, matching `query`, by name; and where the next
/// page starts (`None` at the end).
pub async fn directory(
    state: &AppState,
    caller: Option<&Caller>,
    query: &str,
    mut after: Option<(String, RoomId)>,
) -> Result<(Vec<RoomCard>, Option<(String, RoomId)>), AppError> {
    let caller = signed_in(caller)?;
    let query: String = query.trim().chars().take(chat::MAX_ROOM_NAME).collect();
    let mut listed = Vec::new();
    let mut scanned = 0;
    loop {
        let batch = state
            .store
            .directory_rooms(&query, after.clone(), DIRECTORY_PAGE, true)
            .await?;
        let exhausted = batch.len() < DIRECTORY_PAGE;
        for room in batch {
            scanned += 1;
            after = Some((room.name.clone(), room.id.clone()));
            let shown = room.kind != RoomKind::Page
                || chat::room_access(state, Some(caller), &room).await? >= Access::Read;
            if shown {
                listed.push(rooms::card(&room));
                if listed.len() == DIRECTORY_PAGE {
                    return Ok((listed, after));
                }
            }
        }
        if exhausted {
            return Ok((listed, None));
        }
        if scanned >= DIRECTORY_SCAN {
            return Ok((listed, after));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_aliases_sort_bytewise_from_either_side() {
        let (a, b) = (UserId::new("bob"), UserId::new("Alice"));
        assert_eq!(direct_alias(&a, &b), "private:Alice:bob");
        assert_eq!(direct_alias(&b, &a), "private:Alice:bob");
    }

    #[test]
    fn aliases_are_checked_and_derived() {
        assert_eq!(checked_alias("#Team-Plans").unwrap(), "team-plans");
        assert!(checked_alias("a").is_err());
        assert!(checked_alias("has space").is_err());
        assert!(checked_alias(&"x".repeat(MAX_ALIAS + 1)).is_err());
        assert_eq!(alias_from_name("Team Planning!"), "team-planning");
        assert_eq!(alias_from_name("Ä"), "room");
    }
}
