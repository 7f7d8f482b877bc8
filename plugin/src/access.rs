//! Who may do what in a room, decided in one place for every transport:
//! a page room's reading and posting come from its page (asked of the host
//! at request time), a group or direct room's from membership, and an
//! owner's or moderator's role adds moderation on top of either.

use crate::error::AppError;
use crate::host::{Access, Caller};
use crate::state::AppState;
use crate::store::Room;
use protocol::{Role, RoomId, RoomKind};

/// A room the caller may at least read, with what they may do there.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub room: Room,
    pub access: Access,
}

/// Loads `room_id` if `caller` may read it. Unknown and unreadable rooms give
/// the same 404, so a room's existence never leaks.
pub async fn authorize(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Authorized, AppError> {
    let room = state
        .store
        .room(room_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let access = room_access(state, caller, &room).await?;
    if access < Access::Read {
        return Err(AppError::not_found());
    }
    Ok(Authorized { room, access })
}

/// What `caller` may do in `room`, evaluated now. A page room's reading and
/// posting come from its page; an owner or moderator role adds moderation
/// (Admin) on top. A group or direct room's come from membership: members
/// post, owners and moderators moderate, and anyone signed in may read a
/// public group room (and join it to post).
pub async fn room_access(
    state: &AppState,
    caller: Option<&Caller>,
    room: &Room,
) -> Result<Access, AppError> {
    let role = match caller {
        Some(caller) => state
            .store
            .member(&room.id, &caller.id)
            .await?
            .map(|member| member.role),
        None => None,
    };
    let moderates = role.is_some_and(|role| role >= Role::Moderator);
    Ok(match (&room.page, room.kind) {
        (Some(page), RoomKind::Page) => {
            let access = state.host.access(caller, page).await?;
            if access >= Access::Read && moderates {
                Access::Admin
            } else {
                access
            }
        }
        _ => match role {
            Some(_) if moderates => Access::Admin,
            Some(_) => Access::Write,
            None if room.is_public && caller.is_some() => Access::Read,
            None => Access::None,
        },
    })
}

/// [`authorize`] for callers that need only the access (posting,
/// long-poll): a page room once seen needs no database read, only the host.
pub async fn access_to(
    state: &AppState,
    caller: Option<&Caller>,
    room_id: &RoomId,
) -> Result<Access, AppError> {
    let access = match state.room_pages.get(room_id) {
        Some(page) => state.host.access(caller, &page).await?,
        None => {
            let authorized = authorize(state, caller, room_id).await?;
            state.room_pages.remember(&authorized.room);
            authorized.access
        }
    };
    if access < Access::Read {
        return Err(AppError::not_found());
    }
    Ok(access)
}
