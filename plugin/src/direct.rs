//! Direct rooms (seed 004): two people, alias `private:A:B` (ids sorted
//! bytewise), created the first time either opens a chat with the other
//! (who is invited) and found again from either side after that.

use crate::error::AppError;
use crate::host::Caller;
use crate::invitations::{self, InviteDraft};
use crate::members::{direct_alias, signed_in};
use crate::state::AppState;
use crate::store::{Claimed, NewRoom, Room};
use protocol::{ErrorCode, RoomKind, UserId};

/// What [`open_direct`] found.
pub struct Direct {
    pub room: Room,
    /// True the first time: the other person has just been invited.
    pub created: bool,
}

/// The direct room of the caller and `other`, created the first time (the
/// other person is invited) and found again after that from either side.
/// Opening it as the invited person accepts the invitation.
pub async fn open_direct(
    state: &AppState,
    caller: Option<&Caller>,
    other: &UserId,
) -> Result<Direct, AppError> {
    let caller = signed_in(caller)?;
    if &caller.id == other {
        return Err(AppError::new(
            ErrorCode::InvalidInput,
            "a direct chat needs someone else",
        ));
    }
    let Some(profile) = state.host.user(other).await? else {
        return Err(AppError::new(ErrorCode::NotFound, "no such user"));
    };
    let alias = direct_alias(&caller.id, other);
    if let Some(room) = state.store.room_by_alias(&alias).await? {
        if state.store.member(&room.id, &caller.id).await?.is_none() {
            // The invited side opening it: that is accepting.
            invitations::accept_open(state, caller, &room).await?;
        }
        return Ok(Direct {
            room,
            created: false,
        });
    }
    state.invite_limiter.admit(&caller.id, "new chats")?;
    let created = state
        .store
        .create_room(
            NewRoom {
                kind: RoomKind::Direct,
                alias: alias.clone(),
                name: format!("{} and {}", caller.name, profile.name),
                topic: String::new(),
                is_public: false,
                created_by: caller.id.clone(),
                created_at: state.config.clock.now(),
            },
            &[],
            &[(caller.id.clone(), caller.name.clone())],
        )
        .await?;
    let room = match created {
        Claimed::Done(room) => room,
        // Both opened it at once: the other request made it.
        Claimed::AliasTaken => {
            let room = state
                .store
                .room_by_alias(&alias)
                .await?
                .ok_or_else(|| anyhow::anyhow!("direct room {alias} vanished"))?;
            return Ok(Direct {
                room,
                created: false,
            });
        }
    };
    invitations::invite_into(state, caller, &room, &profile, InviteDraft::default()).await?;
    tracing::info!(room = %room.id, by = %caller.id, with = %other, "direct room created");
    Ok(Direct {
        room: *room,
        created: true,
    })
}
