//! Row mapping for the PostgreSQL store, and the row lock an edit or a
//! delete takes on its message.

use super::super::{Member, Room, StoredFile, StoredInvitation, StoredNotification};
use chrono::{DateTime, Utc};
use protocol::{InvitationStatus, Message, MessageId, PageId, Role, RoomId, RoomKind, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

/// Seqs and limits are u64 in the API and BIGINT in the table.
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(n: i64) -> u64 {
    n.max(0) as u64
}

pub(super) fn room_from_row(row: &PgRow) -> Result<Room, sqlx::Error> {
    Ok(Room {
        id: RoomId(row.try_get("id")?),
        kind: RoomKind::parse(row.try_get("kind")?),
        page: row.try_get::<Option<String>, _>("page_id")?.map(PageId),
        alias: row.try_get("alias")?,
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        avatar: row.try_get("avatar")?,
        is_public: row.try_get("is_public")?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: row.try_get("created_at")?,
        last_seq: to_u64(row.try_get("last_seq")?),
        last_activity: row.try_get("last_activity")?,
    })
}

pub(super) fn message_from_row(row: &PgRow) -> Result<Message, sqlx::Error> {
    let mentions: Vec<String> = row.try_get("mentions")?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        room: RoomId(row.try_get("room_id")?),
        seq: to_u64(row.try_get("seq")?),
        author: UserId(row.try_get("author")?),
        author_name: row.try_get("author_name")?,
        body: row.try_get("body")?,
        html: String::new(),
        created_at: row.try_get("created_at")?,
        edited_at: row.try_get("edited_at")?,
        deleted_at: row.try_get("deleted_at")?,
        reply_to: row.try_get::<Option<i64>, _>("reply_to")?.map(to_u64),
        client_msg_id: row.try_get("client_msg_id")?,
        mentions: mentions.into_iter().map(UserId).collect(),
        attachments: serde_json::from_str(&row.try_get::<String, _>("attachments")?)
            .unwrap_or_default(),
    })
}

pub(super) fn stored_file_from_row(row: &PgRow) -> Result<StoredFile, sqlx::Error> {
    Ok(StoredFile {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        size: to_u64(row.try_get("size")?),
        content_type: row.try_get("content_type")?,
        sha256: row.try_get("sha256")?,
    })
}

/// A member from `member_columns!()`. Only rows with a role are members:
/// the query must select those.
pub(super) fn member_from_row(row: &PgRow) -> Result<Member, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(Member {
        room: RoomId(row.try_get("room_id")?),
        user: UserId(row.try_get("user_id")?),
        name: row.try_get("user_name")?,
        role: Role::parse(&role).ok_or_else(|| unknown(format!("member role {role:?}")))?,
        joined_at: row.try_get("joined_at")?,
        last_read_seq: to_u64(row.try_get("last_read_seq")?),
        muted: row.try_get("muted")?,
    })
}

pub(super) fn invitation_from_row(row: &PgRow) -> Result<StoredInvitation, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(StoredInvitation {
        id: to_u64(row.try_get("id")?),
        room: RoomId(row.try_get("room_id")?),
        invitee: UserId(row.try_get("invitee")?),
        invitee_name: row.try_get("invitee_name")?,
        inviter: UserId(row.try_get("inviter")?),
        inviter_name: row.try_get("inviter_name")?,
        comment: row.try_get("comment")?,
        status: InvitationStatus::parse(&status)
            .ok_or_else(|| unknown(format!("invitation status {status:?}")))?,
        response: row.try_get("response")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        expires_at: row.try_get("expires_at")?,
        starts_at: row.try_get("starts_at")?,
    })
}

pub(super) fn notification_from_row(row: &PgRow) -> Result<StoredNotification, sqlx::Error> {
    Ok(StoredNotification {
        id: to_u64(row.try_get("id")?),
        user: UserId(row.try_get("user_id")?),
        kind: row.try_get("kind")?,
        room: row.try_get::<Option<String>, _>("room_id")?.map(RoomId),
        invitation: row.try_get::<Option<i64>, _>("invitation_id")?.map(to_u64),
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
        visible_at: row.try_get("visible_at")?,
        read: row.try_get("read")?,
    })
}

/// A stored name this version does not know: an error, never a guess.
fn unknown(what: String) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what}").into())
}

/// A new random room id: 16 lowercase hex digits (64 random bits).
pub(super) fn new_room_id() -> RoomId {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    RoomId(simple[..16].to_owned())
}

/// What a locked message looks like before an edit or delete.
pub(super) enum Current {
    Missing,
    Deleted,
    Live,
}

/// Locks message `seq` of `room` for the rest of `tx`.
pub(super) async fn lock_message(
    tx: &mut PgConnection,
    room: &str,
    seq: u64,
) -> anyhow::Result<Current> {
    let row =
        sqlx::query("SELECT deleted_at FROM messages WHERE room_id = $1 AND seq = $2 FOR UPDATE")
            .bind(room)
            .bind(to_i64(seq))
            .fetch_optional(tx)
            .await?;
    Ok(match row {
        None => Current::Missing,
        Some(row) if row.try_get::<Option<DateTime<Utc>>, _>(0)?.is_some() => Current::Deleted,
        Some(_) => Current::Live,
    })
}
