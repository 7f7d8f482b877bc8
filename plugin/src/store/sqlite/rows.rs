//! Row mapping and the lookups the SQLite queries share: column lists,
//! times as milliseconds, and the binary search that turns a time into a seq.

use super::super::{Member, Room, StoredFile, StoredInvitation, StoredNotification};
use chrono::{DateTime, TimeZone, Utc};
use protocol::{InvitationStatus, Message, MessageId, PageId, Role, RoomId, RoomKind, UserId};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A seq or id for a bound parameter: SQLite integers are signed, and no
/// seq or id is near `i64::MAX`, so larger bounds ("no bound") clamp to it.
pub(super) fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(super) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(super) const ROOM_COLUMNS: &str = "id, page_id, name, topic, created_by, created_at, \
     last_seq, last_activity, kind, alias, avatar, is_public";

pub(super) fn room_from_row(row: &Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        id: RoomId(row.get(0)?),
        kind: RoomKind::parse(&row.get::<_, String>(8)?),
        page: row.get::<_, Option<String>>(1)?.map(PageId),
        alias: row.get(9)?,
        name: row.get(2)?,
        topic: row.get(3)?,
        avatar: row.get(10)?,
        is_public: row.get(11)?,
        created_by: UserId(row.get(4)?),
        created_at: from_millis(row.get(5)?),
        last_seq: row.get::<_, i64>(6)?.max(0) as u64,
        last_activity: row.get::<_, Option<i64>>(7)?.map(from_millis),
    })
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, room_id, seq, author, author_name, body, created_at, \
     edited_at, deleted_at, reply_to, client_msg_id, mentions, attachments";

pub(super) fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let mentions: String = row.get(11)?;
    Ok(Message {
        id: MessageId(row.get(0)?),
        room: RoomId(row.get(1)?),
        seq: row.get::<_, i64>(2)?.max(0) as u64,
        author: UserId(row.get(3)?),
        author_name: row.get(4)?,
        body: row.get(5)?,
        html: String::new(),
        created_at: from_millis(row.get(6)?),
        edited_at: row.get::<_, Option<i64>>(7)?.map(from_millis),
        deleted_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
        reply_to: row.get::<_, Option<i64>>(9)?.map(|s| s.max(0) as u64),
        client_msg_id: row.get(10)?,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        attachments: serde_json::from_str(&row.get::<_, String>(12)?).unwrap_or_default(),
    })
}

pub(super) fn stored_file_from_row(row: &Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        id: row.get(0)?,
        name: row.get(1)?,
        size: row.get::<_, i64>(2)?.max(0) as u64,
        content_type: row.get(3)?,
        sha256: row.get(4)?,
    })
}

pub(super) fn find_message(
    conn: &Connection,
    room: &str,
    seq: u64,
) -> rusqlite::Result<Option<Message>> {
    conn.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ?1 AND seq = ?2"),
        params![room, seq as i64],
        message_from_row,
    )
    .optional()
}

/// Runs a prepared message query and collects the rows.
pub(super) fn collect_messages(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Message>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, message_from_row)?;
    rows.collect()
}

/// How far outside the binary-searched seq bounds time-range reads still
/// look, filtering by time: messages stored before `append` kept times from
/// going backwards may be a little out of order.
pub(super) const TIME_ORDER_SLACK: i64 = 1_000;

/// The first seq of `room` stamped at or after `at_ms` (one past the last
/// message if none is). `append` never stamps a message earlier than the
/// room's previous one, so times follow seq order and this is a binary
/// search of point lookups on the primary key: about twenty for a million
/// messages, and no index on `created_at` for every write to update.
pub(super) fn first_seq_at(conn: &Connection, room: &str, at_ms: i64) -> rusqlite::Result<i64> {
    // Invariant: seqs below `low` are earlier than `at_ms`; `high` and above
    // are not (`high` starts one past the last message).
    let (mut low, mut high): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(MIN(seq), 1), COALESCE(MAX(seq), 0) + 1
             FROM messages WHERE room_id = ?1",
        )?
        .query_row([room], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut probe = conn.prepare_cached(
        "SELECT created_at FROM messages WHERE room_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 1",
    )?;
    while low < high {
        let middle = low + (high - low) / 2;
        let at: Option<i64> = probe
            .query_row(params![room, middle], |row| row.get(0))
            .optional()?;
        match at {
            Some(at) if at < at_ms => low = middle + 1,
            _ => high = middle,
        }
    }
    Ok(low)
}

pub(super) fn find_room(conn: &Connection, id: &str) -> rusqlite::Result<Option<Room>> {
    conn.query_row(
        &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"),
        [id],
        room_from_row,
    )
    .optional()
}

/// A new random room id: 16 lowercase hex digits (64 random bits).
pub(super) fn new_room_id() -> RoomId {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    RoomId(simple[..16].to_owned())
}

/// A member's columns, for [`member_from_row`]; in a join with `rooms` they
/// follow [`ROOM_COLUMNS`] (no name is in both tables).
pub(super) const MEMBER_COLUMNS: &str =
    "room_id, user_id, user_name, role, joined_at, last_read_seq, muted";

/// A member from [`MEMBER_COLUMNS`] starting at column `at`. Only rows with
/// a role are members: the query must select those.
pub(super) fn member_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Member> {
    let role: String = row.get(at + 3)?;
    Ok(Member {
        room: RoomId(row.get(at)?),
        user: UserId(row.get(at + 1)?),
        name: row.get(at + 2)?,
        role: Role::parse(&role)
            .ok_or_else(|| unknown(at + 3, format!("unknown member role {role:?}")))?,
        joined_at: from_millis(row.get(at + 4)?),
        last_read_seq: row.get::<_, i64>(at + 5)?.max(0) as u64,
        muted: row.get(at + 6)?,
    })
}

pub(super) const INVITATION_COLUMNS: &str =
    "id, room_id, invitee, invitee_name, inviter, inviter_name, comment, status, \
     response, created_at, updated_at, expires_at, starts_at";

pub(super) fn invitation_from_row(row: &Row<'_>) -> rusqlite::Result<StoredInvitation> {
    let status: String = row.get(7)?;
    Ok(StoredInvitation {
        id: row.get::<_, i64>(0)?.max(0) as u64,
        room: RoomId(row.get(1)?),
        invitee: UserId(row.get(2)?),
        invitee_name: row.get(3)?,
        inviter: UserId(row.get(4)?),
        inviter_name: row.get(5)?,
        comment: row.get(6)?,
        status: InvitationStatus::parse(&status)
            .ok_or_else(|| unknown(7, format!("unknown invitation status {status:?}")))?,
        response: row.get(8)?,
        created_at: from_millis(row.get(9)?),
        updated_at: from_millis(row.get(10)?),
        expires_at: row.get::<_, Option<i64>>(11)?.map(from_millis),
        starts_at: row.get::<_, Option<i64>>(12)?.map(from_millis),
    })
}

pub(super) const NOTIFICATION_COLUMNS: &str =
    "id, user_id, kind, room_id, invitation_id, payload, created_at, visible_at, read";

pub(super) fn notification_from_row(row: &Row<'_>) -> rusqlite::Result<StoredNotification> {
    Ok(StoredNotification {
        id: row.get::<_, i64>(0)?.max(0) as u64,
        user: UserId(row.get(1)?),
        kind: row.get(2)?,
        room: row.get::<_, Option<String>>(3)?.map(RoomId),
        invitation: row.get::<_, Option<i64>>(4)?.map(|id| id.max(0) as u64),
        payload: row.get(5)?,
        created_at: from_millis(row.get(6)?),
        visible_at: from_millis(row.get(7)?),
        read: row.get(8)?,
    })
}

/// A stored name this version does not know: an error, never a guess.
fn unknown(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, what.into())
}
