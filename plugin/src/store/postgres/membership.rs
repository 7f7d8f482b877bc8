//! [`Membership`] on PostgreSQL: group and direct rooms, members,
//! invitations and notifications.

use super::PostgresStore;
use crate::store::membership::*;
use crate::store::Room;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::{InvitationStatus, Role, RoomId, UserId};

#[async_trait]
impl Membership for PostgresStore {
    async fn create_room(
        &self,
        room: NewRoom,
        owners: &[(UserId, String)],
        members: &[(UserId, String)],
    ) -> anyhow::Result<Claimed> {
        anyhow::bail!("not implemented yet")
    }

    async fn room_by_alias(&self, alias: &str) -> anyhow::Result<Option<Room>> {
        anyhow::bail!("not implemented yet")
    }

    async fn update_room(&self, room: &RoomId, settings: RoomSettings) -> anyhow::Result<Claimed> {
        anyhow::bail!("not implemented yet")
    }

    async fn public_rooms(
        &self,
        query: &str,
        after: Option<(String, RoomId)>,
        limit: usize,
    ) -> anyhow::Result<Vec<Room>> {
        anyhow::bail!("not implemented yet")
    }

    async fn member(&self, _room: &RoomId, _user: &UserId) -> anyhow::Result<Option<Member>> {
        Ok(None)
    }

    async fn members(&self, room: &RoomId) -> anyhow::Result<Vec<Member>> {
        anyhow::bail!("not implemented yet")
    }

    async fn put_member(
        &self,
        room: &RoomId,
        user: &UserId,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Member> {
        anyhow::bail!("not implemented yet")
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<bool> {
        anyhow::bail!("not implemented yet")
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> anyhow::Result<bool> {
        anyhow::bail!("not implemented yet")
    }

    async fn rooms_of(&self, user: &UserId) -> anyhow::Result<Vec<Membered>> {
        anyhow::bail!("not implemented yet")
    }

    async fn invite(&self, invitation: NewInvitation) -> anyhow::Result<StoredInvitation> {
        anyhow::bail!("not implemented yet")
    }

    async fn invitation(&self, id: u64) -> anyhow::Result<Option<StoredInvitation>> {
        anyhow::bail!("not implemented yet")
    }

    async fn invitations_for(&self, invitee: &UserId) -> anyhow::Result<Vec<StoredInvitation>> {
        anyhow::bail!("not implemented yet")
    }

    async fn invitations_to(&self, room: &RoomId) -> anyhow::Result<Vec<StoredInvitation>> {
        anyhow::bail!("not implemented yet")
    }

    async fn settle_invitation(
        &self,
        id: u64,
        to: InvitationStatus,
        response: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<StoredInvitation>> {
        anyhow::bail!("not implemented yet")
    }

    async fn notify(
        &self,
        notification: NewNotification,
        cap: usize,
    ) -> anyhow::Result<StoredNotification> {
        anyhow::bail!("not implemented yet")
    }

    async fn notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredNotification>> {
        anyhow::bail!("not implemented yet")
    }

    async fn unread_notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        anyhow::bail!("not implemented yet")
    }

    async fn read_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        anyhow::bail!("not implemented yet")
    }

    async fn dismiss_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        anyhow::bail!("not implemented yet")
    }

    async fn expire_notifications(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        anyhow::bail!("not implemented yet")
    }
}
