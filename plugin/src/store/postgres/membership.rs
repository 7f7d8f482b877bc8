//! [`Membership`] on PostgreSQL: group and direct rooms, members,
//! invitations and notifications.
//!
//! Every check that guards a write is part of the write, so two nodes
//! racing agree: an alias is claimed by `INSERT … ON CONFLICT (alias) DO
//! NOTHING` (the loser waits for the winner's commit, then inserts
//! nothing) or by an `UPDATE` whose unique violation is the answer; a
//! second invite upserts on the unique index of open invitations; an
//! invitation settles by `UPDATE … WHERE status = 'invited'`, which the
//! second of two racing nodes re-checks after the first one's commit.
//! Times are kept to the millisecond, like SQLite's.

use super::rows::{
    invitation_from_row, member_from_row, new_room_id, notification_from_row, room_from_row,
    to_i64, to_u64,
};
use super::PostgresStore;
use crate::store::membership::{
    contains_pattern, founders, Claimed, Member, Membered, Membership, NewInvitation,
    NewNotification, NewRoom, RoomSettings, StoredInvitation, StoredNotification,
};
use crate::store::Room;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use protocol::{InvitationStatus, Role, RoomId, UserId};

/// The unique constraint `ADD COLUMN alias TEXT UNIQUE` made.
const ALIAS_CONSTRAINT: &str = "rooms_alias_key";

/// Ids for a `bigint[]` parameter.
fn id_array(ids: &[u64]) -> Vec<i64> {
    ids.iter().copied().map(to_i64).collect()
}

#[async_trait]
impl Membership for PostgresStore {
    async fn create_room(
        &self,
        room: NewRoom,
        owners: &[(UserId, String)],
        members: &[(UserId, String)],
    ) -> anyhow::Result<Claimed> {
        let people = founders(owners, members);
        let created_at = room.created_at.trunc_subsecs(3);
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(concat!(
            "INSERT INTO rooms (id, kind, alias, name, topic, is_public, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (alias) DO NOTHING RETURNING ",
            room_columns!()
        ))
        .bind(new_room_id().0)
        .bind(room.kind.as_str())
        .bind(&room.alias)
        .bind(&room.name)
        .bind(&room.topic)
        .bind(room.is_public)
        .bind(&room.created_by.0)
        .bind(created_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = created else {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(Claimed::AliasTaken);
        };
        let stored = room_from_row(&row)?;
        let users: Vec<&str> = people.iter().map(|(user, _, _)| user.0.as_str()).collect();
        let names: Vec<&str> = people.iter().map(|(_, name, _)| name.as_str()).collect();
        let roles: Vec<&str> = people.iter().map(|(_, _, role)| role.as_str()).collect();
        sqlx::query(
            "INSERT INTO members (room_id, user_id, user_name, role, joined_at)
             SELECT $1, u, n, r, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t (u, n, r)",
        )
        .bind(&stored.id.0)
        .bind(&users)
        .bind(&names)
        .bind(&roles)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.context("committing a new room")?;
        Ok(Claimed::Done(Box::new(stored)))
    }

    async fn room_by_alias(&self, alias: &str) -> anyhow::Result<Option<Room>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms WHERE alias = $1"
        ))
        .bind(alias)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
    }

    async fn update_room(&self, room: &RoomId, settings: RoomSettings) -> anyhow::Result<Claimed> {
        let (new_avatar, avatar) = match settings.avatar {
            Some(avatar) => (true, avatar),
            None => (false, None),
        };
        let (new_page, page) = match settings.page {
            Some(page) => (true, page.map(|page| page.0)),
            None => (false, None),
        };
        let updated = sqlx::query(concat!(
            "UPDATE rooms SET name = COALESCE($2, name),
                              topic = COALESCE($3, topic),
                              alias = COALESCE($4, alias),
                              is_public = COALESCE($5, is_public),
                              avatar = CASE WHEN $6 THEN $7 ELSE avatar END,
                              page_id = CASE WHEN $8 AND kind <> 'page' THEN $9 ELSE page_id END
             WHERE id = $1 RETURNING ",
            room_columns!()
        ))
        .bind(&room.0)
        .bind(&settings.name)
        .bind(&settings.topic)
        .bind(&settings.alias)
        .bind(settings.is_public)
        .bind(new_avatar)
        .bind(&avatar)
        .bind(new_page)
        .bind(&page)
        .fetch_optional(&self.pool)
        .await;
        match updated {
            Ok(Some(row)) => Ok(Claimed::Done(Box::new(room_from_row(&row)?))),
            Ok(None) => Err(anyhow::anyhow!("no room {room} to update")),
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation() && e.constraint() == Some(ALIAS_CONSTRAINT) =>
            {
                Ok(Claimed::AliasTaken)
            }
            Err(e) => Err(e).with_context(|| format!("updating room {room}")),
        }
    }

    async fn directory_rooms(
        &self,
        query: &str,
        after: Option<(String, RoomId)>,
        limit: usize,
        page_rooms: bool,
    ) -> anyhow::Result<Vec<Room>> {
        let (after_name, after_id) = after.map(|(name, id)| (name, id.0)).unzip();
        // Byte order ("C"), as SQLite sorts: both stores list alike, and the
        // (name, id) cursor compares the way the list is sorted.
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            r#" FROM rooms
              WHERE ((kind = 'group' AND is_public) OR ($5 AND kind = 'page'))
                AND (name ILIKE $1 ESCAPE '\' OR alias ILIKE $1 ESCAPE '\')
                AND ($2::text IS NULL
                     OR (name COLLATE "C", id COLLATE "C") > ($2::text, $3::text))
              ORDER BY name COLLATE "C", id COLLATE "C" LIMIT $4"#
        ))
        .bind(contains_pattern(query))
        .bind(after_name)
        .bind(after_id)
        .bind(to_i64(limit as u64))
        .bind(page_rooms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(room_from_row).collect::<Result<_, _>>()?)
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<Option<Member>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            member_columns!(),
            " FROM members WHERE room_id = $1 AND user_id = $2 AND role IS NOT NULL"
        ))
        .bind(&room.0)
        .bind(&user.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(member_from_row).transpose()?)
    }

    async fn members(&self, room: &RoomId) -> anyhow::Result<Vec<Member>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            member_columns!(),
            r#" FROM members WHERE room_id = $1 AND role IS NOT NULL
              ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,
                       user_name COLLATE "C", user_id COLLATE "C""#
        ))
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(member_from_row).collect::<Result<_, _>>()?)
    }

    async fn put_member(
        &self,
        room: &RoomId,
        user: &UserId,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Member> {
        // A row without a role is only a reader's read mark: it becomes a
        // member now. A member keeps when they joined.
        let row = sqlx::query(concat!(
            "INSERT INTO members (room_id, user_id, user_name, role, joined_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (room_id, user_id) DO UPDATE SET
                 user_name = EXCLUDED.user_name,
                 role = EXCLUDED.role,
                 joined_at = CASE WHEN members.role IS NULL
                                  THEN EXCLUDED.joined_at ELSE members.joined_at END
             RETURNING ",
            member_columns!()
        ))
        .bind(&room.0)
        .bind(&user.0)
        .bind(name)
        .bind(role.as_str())
        .bind(now.trunc_subsecs(3))
        .fetch_one(&self.pool)
        .await?;
        Ok(member_from_row(&row)?)
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<bool> {
        // The read mark stays; being muted was part of the membership.
        let done = sqlx::query(
            "UPDATE members SET role = NULL, muted = FALSE
             WHERE room_id = $1 AND user_id = $2 AND role IS NOT NULL",
        )
        .bind(&room.0)
        .bind(&user.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE members SET muted = $3
             WHERE room_id = $1 AND user_id = $2 AND role IS NOT NULL",
        )
        .bind(&room.0)
        .bind(&user.0)
        .bind(muted)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn rooms_of(&self, user: &UserId) -> anyhow::Result<Vec<Membered>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            ", ",
            member_columns!(),
            " FROM members JOIN rooms ON rooms.id = members.room_id
              WHERE members.user_id = $1 AND members.role IS NOT NULL
              ORDER BY COALESCE(rooms.last_activity, rooms.created_at) DESC, rooms.id"
        ))
        .bind(&user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Membered {
                    room: room_from_row(row)?,
                    member: member_from_row(row)?,
                })
            })
            .collect()
    }

    async fn invite(&self, invitation: NewInvitation) -> anyhow::Result<StoredInvitation> {
        let new = invitation;
        let row = sqlx::query(concat!(
            "INSERT INTO invitations (room_id, invitee, invitee_name, inviter, inviter_name,
                                      comment, status, created_at, updated_at,
                                      expires_at, starts_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'invited', $7, $7, $8, $9)
             ON CONFLICT (room_id, invitee) WHERE status = 'invited' DO UPDATE SET
                 invitee_name = EXCLUDED.invitee_name,
                 inviter = EXCLUDED.inviter,
                 inviter_name = EXCLUDED.inviter_name,
                 comment = EXCLUDED.comment,
                 updated_at = EXCLUDED.updated_at,
                 expires_at = EXCLUDED.expires_at,
                 starts_at = EXCLUDED.starts_at
             RETURNING ",
            invitation_columns!()
        ))
        .bind(&new.room.0)
        .bind(&new.invitee.0)
        .bind(&new.invitee_name)
        .bind(&new.inviter.0)
        .bind(&new.inviter_name)
        .bind(&new.comment)
        .bind(new.created_at.trunc_subsecs(3))
        .bind(new.expires_at.map(|t| t.trunc_subsecs(3)))
        .bind(new.starts_at.map(|t| t.trunc_subsecs(3)))
        .fetch_one(&self.pool)
        .await?;
        Ok(invitation_from_row(&row)?)
    }

    async fn invitation(&self, id: u64) -> anyhow::Result<Option<StoredInvitation>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE id = $1"
        ))
        .bind(to_i64(id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(invitation_from_row).transpose()?)
    }

    async fn invitations_for(&self, invitee: &UserId) -> anyhow::Result<Vec<StoredInvitation>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE invitee = $1 AND status = 'invited' ORDER BY id DESC"
        ))
        .bind(&invitee.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(invitation_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn invitations_to(&self, room: &RoomId) -> anyhow::Result<Vec<StoredInvitation>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE room_id = $1 AND status = 'invited' ORDER BY id DESC"
        ))
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(invitation_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn settle_invitation(
        &self,
        id: u64,
        to: InvitationStatus,
        response: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<StoredInvitation>> {
        let mut tx = self.pool.begin().await?;
        let settled = sqlx::query(concat!(
            "UPDATE invitations SET status = $2, response = $3, updated_at = $4
             WHERE id = $1 AND status = 'invited' RETURNING ",
            invitation_columns!()
        ))
        .bind(to_i64(id))
        .bind(to.as_str())
        .bind(&response)
        .bind(now.trunc_subsecs(3))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = settled else {
            return Ok(None);
        };
        let invitation = invitation_from_row(&row)?;
        sqlx::query("DELETE FROM notifications WHERE invitation_id = $1")
            .bind(to_i64(id))
            .execute(&mut *tx)
            .await?;
        tx.commit()
            .await
            .context("committing a settled invitation")?;
        Ok(Some(invitation))
    }

    async fn notify(
        &self,
        notification: NewNotification,
        cap: usize,
    ) -> anyhow::Result<StoredNotification> {
        let new = notification;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO notifications (user_id, kind, room_id, invitation_id, payload,
                                        created_at, visible_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            notification_columns!()
        ))
        .bind(&new.user.0)
        .bind(&new.kind)
        .bind(new.room.as_ref().map(|room| room.0.as_str()))
        .bind(new.invitation.map(to_i64))
        .bind(&new.payload)
        .bind(new.created_at.trunc_subsecs(3))
        .bind(new.visible_at.trunc_subsecs(3))
        .fetch_one(&mut *tx)
        .await?;
        let stored = notification_from_row(&row)?;
        // The one just stored always stays.
        sqlx::query(
            "DELETE FROM notifications WHERE user_id = $1 AND id <=
                 (SELECT id FROM notifications WHERE user_id = $1
                  ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(&new.user.0)
        .bind(to_i64(cap.max(1) as u64))
        .execute(&mut *tx)
        .await?;
        tx.commit().await.context("committing a notification")?;
        Ok(stored)
    }

    async fn notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredNotification>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            notification_columns!(),
            " FROM notifications
              WHERE user_id = $1 AND visible_at <= $2 AND created_at > $3 AND id < $4
              ORDER BY id DESC LIMIT $5"
        ))
        .bind(&user.0)
        .bind(now)
        .bind(created_after)
        .bind(before.map_or(i64::MAX, to_i64))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(notification_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn unread_notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications
             WHERE user_id = $1 AND visible_at <= $2 AND created_at > $3 AND NOT read",
        )
        .bind(&user.0)
        .bind(now)
        .bind(created_after)
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(count))
    }

    async fn read_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read = TRUE
             WHERE user_id = $1 AND NOT read
               AND (cardinality($2::bigint[]) = 0 OR id = ANY($2))",
        )
        .bind(&user.0)
        .bind(id_array(ids))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn dismiss_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM notifications
             WHERE user_id = $1 AND (cardinality($2::bigint[]) = 0 OR id = ANY($2))",
        )
        .bind(&user.0)
        .bind(id_array(ids))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn expire_notifications(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM notifications WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
