//! [`Membership`] on SQLite: group and direct rooms, members,
//! invitations and notifications.
//!
//! Writes are jobs for the writer thread like the rest of the store, so a
//! check and the write it guards (an alias still free, an invitation still
//! open) run in one savepoint with no other writer in between.

use super::rows::{
    find_room, invitation_from_row, member_from_row, millis, new_room_id, notification_from_row,
    room_from_row, seq_param, INVITATION_COLUMNS, MEMBER_COLUMNS, NOTIFICATION_COLUMNS,
    ROOM_COLUMNS,
};
use super::SqliteStore;
use crate::store::membership::{
    contains_pattern, founders, Claimed, Member, Membered, Membership, NewInvitation,
    NewNotification, NewRoom, RoomSettings, StoredInvitation, StoredNotification,
};
use crate::store::Room;
use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::{InvitationStatus, Role, RoomId, UserId};
use rusqlite::{params, Connection, OptionalExtension};

/// Whether a room other than `except` holds `alias`.
fn alias_taken(conn: &Connection, alias: &str, except: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE alias = ?1 AND id <> ?2)",
        params![alias, except],
        |row| row.get(0),
    )
}

fn find_member(conn: &Connection, room: &str, user: &str) -> rusqlite::Result<Option<Member>> {
    conn.query_row(
        &format!(
            "SELECT {MEMBER_COLUMNS} FROM members
             WHERE room_id = ?1 AND user_id = ?2 AND role IS NOT NULL"
        ),
        params![room, user],
        |row| member_from_row(row, 0),
    )
    .optional()
}

fn find_invitation(conn: &Connection, id: u64) -> rusqlite::Result<Option<StoredInvitation>> {
    conn.query_row(
        &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = ?1"),
        [seq_param(id)],
        invitation_from_row,
    )
    .optional()
}

/// Open invitations matching `filter` (a condition on `?1`), newest first.
fn open_invitations(
    conn: &Connection,
    filter: &str,
    value: &str,
) -> rusqlite::Result<Vec<StoredInvitation>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations
         WHERE {filter} = ?1 AND status = 'invited' ORDER BY id DESC"
    ))?;
    let rows = statement.query_map([value], invitation_from_row)?;
    rows.collect()
}

/// Runs `sql` (a write on `?1` = user and `?2` = id) for each of `ids`, or
/// once for all the user's rows when `ids` is empty; `all` is `sql` without
/// the id condition. Returns how many rows changed.
fn for_ids(
    conn: &Connection,
    user: &str,
    ids: &[u64],
    sql: &str,
    all: &str,
) -> rusqlite::Result<u64> {
    if ids.is_empty() {
        return Ok(conn.execute(all, [user])? as u64);
    }
    let mut statement = conn.prepare_cached(sql)?;
    let mut changed = 0;
    for id in ids {
        changed += statement.execute(params![user, seq_param(*id)])? as u64;
    }
    Ok(changed)
}

#[async_trait]
impl Membership for SqliteStore {
    async fn create_room(
        &self,
        room: NewRoom,
        owners: &[(UserId, String)],
        members: &[(UserId, String)],
    ) -> anyhow::Result<Claimed> {
        let people = founders(owners, members);
        self.write(move |conn| {
            if alias_taken(conn, &room.alias, "")? {
                return Ok(Claimed::AliasTaken);
            }
            let id = new_room_id();
            let at = millis(room.created_at);
            conn.execute(
                "INSERT INTO rooms (id, kind, alias, name, topic, is_public, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id.0,
                    room.kind.as_str(),
                    room.alias,
                    room.name,
                    room.topic,
                    room.is_public,
                    room.created_by.0,
                    at
                ],
            )?;
            let mut add = conn.prepare_cached(
                "INSERT INTO members (room_id, user_id, user_name, role, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (user, name, role) in &people {
                add.execute(params![id.0, user.0, name, role.as_str(), at])?;
            }
            let stored = find_room(conn, &id.0)?
                .ok_or_else(|| anyhow!("room {id} vanished while it was created"))?;
            Ok(Claimed::Done(Box::new(stored)))
        })
        .await
    }

    async fn room_by_alias(&self, alias: &str) -> anyhow::Result<Option<Room>> {
        let alias = alias.to_owned();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE alias = ?1"),
                    [alias],
                    room_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn update_room(&self, room: &RoomId, settings: RoomSettings) -> anyhow::Result<Claimed> {
        let id = room.0.clone();
        self.write(move |conn| {
            if find_room(conn, &id)?.is_none() {
                anyhow::bail!("no room {id} to update");
            }
            if let Some(alias) = &settings.alias {
                if alias_taken(conn, alias, &id)? {
                    return Ok(Claimed::AliasTaken);
                }
            }
            let (new_avatar, avatar) = match settings.avatar {
                Some(avatar) => (true, avatar),
                None => (false, None),
            };
            let (new_page, page) = match settings.page {
                Some(page) => (true, page.map(|page| page.0)),
                None => (false, None),
            };
            conn.execute(
                "UPDATE rooms SET name = COALESCE(?2, name),
                                  topic = COALESCE(?3, topic),
                                  alias = COALESCE(?4, alias),
                                  is_public = COALESCE(?5, is_public),
                                  avatar = CASE WHEN ?6 THEN ?7 ELSE avatar END,
                                  page_id = CASE WHEN ?8 AND kind != 'page' THEN ?9 ELSE page_id END
                 WHERE id = ?1",
                params![
                    id,
                    settings.name,
                    settings.topic,
                    settings.alias,
                    settings.is_public,
                    new_avatar,
                    avatar,
                    new_page,
                    page
                ],
            )?;
            let stored =
                find_room(conn, &id)?.ok_or_else(|| anyhow!("room {id} vanished in an update"))?;
            Ok(Claimed::Done(Box::new(stored)))
        })
        .await
    }

    async fn directory_rooms(
        &self,
        query: &str,
        after: Option<(String, RoomId)>,
        limit: usize,
        page_rooms: bool,
    ) -> anyhow::Result<Vec<Room>> {
        let pattern = contains_pattern(query);
        let (after_name, after_id) = after.map(|(name, id)| (name, id.0)).unzip();
        self.read(move |conn| {
            // LIKE ignores case for ASCII letters only (SQLite has no
            // Unicode case folding built in); PostgreSQL's ILIKE folds all.
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {ROOM_COLUMNS} FROM rooms
                 WHERE ((kind = 'group' AND is_public = 1) OR (?5 AND kind = 'page'))
                   AND (name LIKE ?1 ESCAPE '\\' OR alias LIKE ?1 ESCAPE '\\')
                   AND (?2 IS NULL OR (name, id) > (?2, ?3))
                 ORDER BY name, id LIMIT ?4"
            ))?;
            let rows = statement.query_map(
                params![
                    pattern,
                    after_name,
                    after_id,
                    seq_param(limit as u64),
                    page_rooms
                ],
                room_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<Option<Member>> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.read(move |conn| Ok(find_member(conn, &room, &user)?))
            .await
    }

    async fn members(&self, room: &RoomId) -> anyhow::Result<Vec<Member>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {MEMBER_COLUMNS} FROM members
                 WHERE room_id = ?1 AND role IS NOT NULL
                 ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,
                          user_name, user_id"
            ))?;
            let rows = statement.query_map([room], |row| member_from_row(row, 0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn put_member(
        &self,
        room: &RoomId,
        user: &UserId,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Member> {
        let (room, user, name) = (room.0.clone(), user.0.clone(), name.to_owned());
        self.write(move |conn| {
            // A row without a role is only a reader's read mark: it becomes
            // a member now. A member keeps when they joined.
            Ok(conn.query_row(
                &format!(
                    "INSERT INTO members (room_id, user_id, user_name, role, joined_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (room_id, user_id) DO UPDATE SET
                         user_name = excluded.user_name,
                         role = excluded.role,
                         joined_at = CASE WHEN members.role IS NULL
                                          THEN excluded.joined_at ELSE members.joined_at END
                     RETURNING {MEMBER_COLUMNS}"
                ),
                params![room, user, name, role.as_str(), millis(now)],
                |row| member_from_row(row, 0),
            )?)
        })
        .await
    }

    async fn remove_member(&self, room: &RoomId, user: &UserId) -> anyhow::Result<bool> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.write(move |conn| {
            // The read mark stays; being muted was part of the membership.
            let changed = conn.execute(
                "UPDATE members SET role = NULL, muted = 0
                 WHERE room_id = ?1 AND user_id = ?2 AND role IS NOT NULL",
                params![room, user],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn set_muted(&self, room: &RoomId, user: &UserId, muted: bool) -> anyhow::Result<bool> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE members SET muted = ?3
                 WHERE room_id = ?1 AND user_id = ?2 AND role IS NOT NULL",
                params![room, user, muted],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn rooms_of(&self, user: &UserId) -> anyhow::Result<Vec<Membered>> {
        let user = user.0.clone();
        self.read(move |conn| {
            // No column name is in both tables, so the lists need no prefix.
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {ROOM_COLUMNS}, {MEMBER_COLUMNS}
                 FROM members JOIN rooms ON rooms.id = members.room_id
                 WHERE members.user_id = ?1 AND members.role IS NOT NULL
                 ORDER BY COALESCE(rooms.last_activity, rooms.created_at) DESC, rooms.id"
            ))?;
            let rooms = ROOM_COLUMNS.split(',').count();
            let rows = statement.query_map([user], |row| {
                Ok(Membered {
                    room: room_from_row(row)?,
                    member: member_from_row(row, rooms)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn invite(&self, invitation: NewInvitation) -> anyhow::Result<StoredInvitation> {
        let new = invitation;
        self.write(move |conn| {
            // The unique index on open invitations (room, invitee) makes a
            // second invite update the first, keeping its id.
            Ok(conn.query_row(
                &format!(
                    "INSERT INTO invitations (room_id, invitee, invitee_name, inviter,
                         inviter_name, comment, status, created_at, updated_at,
                         expires_at, starts_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'invited', ?7, ?7, ?8, ?9)
                     ON CONFLICT (room_id, invitee) WHERE status = 'invited' DO UPDATE SET
                         invitee_name = excluded.invitee_name,
                         inviter = excluded.inviter,
                         inviter_name = excluded.inviter_name,
                         comment = excluded.comment,
                         updated_at = excluded.updated_at,
                         expires_at = excluded.expires_at,
                         starts_at = excluded.starts_at
                     RETURNING {INVITATION_COLUMNS}"
                ),
                params![
                    new.room.0,
                    new.invitee.0,
                    new.invitee_name,
                    new.inviter.0,
                    new.inviter_name,
                    new.comment,
                    millis(new.created_at),
                    new.expires_at.map(millis),
                    new.starts_at.map(millis)
                ],
                invitation_from_row,
            )?)
        })
        .await
    }

    async fn invitation(&self, id: u64) -> anyhow::Result<Option<StoredInvitation>> {
        self.read(move |conn| Ok(find_invitation(conn, id)?)).await
    }

    async fn invitations_for(&self, invitee: &UserId) -> anyhow::Result<Vec<StoredInvitation>> {
        let invitee = invitee.0.clone();
        self.read(move |conn| Ok(open_invitations(conn, "invitee", &invitee)?))
            .await
    }

    async fn invitations_to(&self, room: &RoomId) -> anyhow::Result<Vec<StoredInvitation>> {
        let room = room.0.clone();
        self.read(move |conn| Ok(open_invitations(conn, "room_id", &room)?))
            .await
    }

    async fn settle_invitation(
        &self,
        id: u64,
        to: InvitationStatus,
        response: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<StoredInvitation>> {
        self.write(move |conn| {
            let settled = conn
                .query_row(
                    &format!(
                        "UPDATE invitations SET status = ?2, response = ?3, updated_at = ?4
                         WHERE id = ?1 AND status = 'invited'
                         RETURNING {INVITATION_COLUMNS}"
                    ),
                    params![seq_param(id), to.as_str(), response, millis(now)],
                    invitation_from_row,
                )
                .optional()?;
            if settled.is_some() {
                conn.execute(
                    "DELETE FROM notifications WHERE invitation_id = ?1",
                    [seq_param(id)],
                )?;
            }
            Ok(settled)
        })
        .await
    }

    async fn notify(
        &self,
        notification: NewNotification,
        cap: usize,
    ) -> anyhow::Result<StoredNotification> {
        let new = notification;
        // The one just stored always stays.
        let keep = seq_param(cap.max(1) as u64);
        self.write(move |conn| {
            let stored = conn.query_row(
                &format!(
                    "INSERT INTO notifications (user_id, kind, room_id, invitation_id, payload,
                                                created_at, visible_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     RETURNING {NOTIFICATION_COLUMNS}"
                ),
                params![
                    new.user.0,
                    new.kind,
                    new.room.map(|room| room.0),
                    new.invitation.map(seq_param),
                    new.payload,
                    millis(new.created_at),
                    millis(new.visible_at)
                ],
                notification_from_row,
            )?;
            conn.prepare_cached(
                "DELETE FROM notifications WHERE user_id = ?1 AND id <=
                     (SELECT id FROM notifications WHERE user_id = ?1
                      ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )?
            .execute(params![stored.user.0, keep])?;
            Ok(stored)
        })
        .await
    }

    async fn notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredNotification>> {
        let user = user.0.clone();
        let before = before.map_or(i64::MAX, seq_param);
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications
                 WHERE user_id = ?1 AND visible_at <= ?2 AND created_at > ?3 AND id < ?4
                 ORDER BY id DESC LIMIT ?5"
            ))?;
            let rows = statement.query_map(
                params![
                    user,
                    millis(now),
                    millis(created_after),
                    before,
                    seq_param(limit as u64)
                ],
                notification_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn unread_notifications(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let user = user.0.clone();
        self.read(move |conn| {
            let count: i64 = conn.query_row(
                "SELECT COUNT(*) FROM notifications
                 WHERE user_id = ?1 AND visible_at <= ?2 AND created_at > ?3 AND read = 0",
                params![user, millis(now), millis(created_after)],
                |row| row.get(0),
            )?;
            Ok(count.max(0) as u64)
        })
        .await
    }

    async fn read_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        let (user, ids) = (user.0.clone(), ids.to_vec());
        self.write(move |conn| {
            Ok(for_ids(
                conn,
                &user,
                &ids,
                "UPDATE notifications SET read = 1 WHERE user_id = ?1 AND id = ?2 AND read = 0",
                "UPDATE notifications SET read = 1 WHERE user_id = ?1 AND read = 0",
            )?)
        })
        .await
    }

    async fn dismiss_notifications(&self, user: &UserId, ids: &[u64]) -> anyhow::Result<u64> {
        let (user, ids) = (user.0.clone(), ids.to_vec());
        self.write(move |conn| {
            Ok(for_ids(
                conn,
                &user,
                &ids,
                "DELETE FROM notifications WHERE user_id = ?1 AND id = ?2",
                "DELETE FROM notifications WHERE user_id = ?1",
            )?)
        })
        .await
    }

    async fn expire_notifications(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let before = millis(before);
        self.write(move |conn| {
            Ok(conn.execute("DELETE FROM notifications WHERE created_at < ?1", [before])? as u64)
        })
        .await
    }
}
