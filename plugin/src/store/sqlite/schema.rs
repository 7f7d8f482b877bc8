//! The chat schema in SQLite: migrations applied in order by
//! [`infra::sqlite::migrate`], counted by `PRAGMA user_version`.

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE rooms (
    id            TEXT PRIMARY KEY,
    page_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    topic         TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    last_activity INTEGER,
    UNIQUE (page_id, name)
);
CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms(id),
    seq           INTEGER NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL,
    author_name   TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    edited_at     INTEGER,
    deleted_at    INTEGER,
    reply_to      INTEGER,
    client_msg_id TEXT,
    mentions      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_idempotency
    ON messages (room_id, author, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_author ON messages (room_id, author, seq);
"#,
    r#"
CREATE TABLE message_revisions (
    room_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    replaced_at INTEGER NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
CREATE INDEX message_revisions_by_message ON message_revisions (room_id, seq);
CREATE INDEX messages_replies ON messages (room_id, reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_created ON messages (room_id, created_at);
CREATE TABLE members (
    room_id       TEXT NOT NULL REFERENCES rooms(id),
    user_id       TEXT NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
CREATE INDEX files_by_room ON files (room_id, seq);
CREATE TABLE transcripts (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    day     TEXT NOT NULL,
    path    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (room_id, day)
) WITHOUT ROWID;
"#,
    // Times never go backwards within a room, so seq order is time order and
    // time ranges are found by binary search over seq (`first_seq_at`); the
    // index was a fourth page every message dirtied in its room.
    r#"
DROP INDEX IF EXISTS messages_created;
"#,
    // A day bigger than the host's page limit is published as several
    // pages; how many is remembered so a day that shrinks empties the rest.
    r#"
ALTER TABLE transcripts ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
"#,
    // Where each part starts (comma-separated seqs), so publishing a busy
    // day rewrites its last part only; '' for days published before.
    r#"
ALTER TABLE transcripts ADD COLUMN part_starts TEXT NOT NULL DEFAULT '';
"#,
    // Rooms with people: group and direct rooms have no page, an alias
    // and a public flag (the table is rebuilt, SQLite cannot drop NOT
    // NULL); members gain roles; invitations and notifications.
    r#"
CREATE TABLE rooms_new (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL DEFAULT 'page',
    page_id       TEXT,
    alias         TEXT UNIQUE,
    name          TEXT NOT NULL,
    topic         TEXT NOT NULL DEFAULT '',
    avatar        TEXT,
    is_public     INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    last_activity INTEGER,
    UNIQUE (page_id, name)
);
INSERT INTO rooms_new (id, page_id, name, topic, created_by, created_at, last_seq, last_activity)
    SELECT id, page_id, name, topic, created_by, created_at, last_seq, last_activity FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_new RENAME TO rooms;
CREATE INDEX rooms_public ON rooms (name, id) WHERE is_public = 1;
ALTER TABLE members ADD COLUMN role TEXT;
ALTER TABLE members ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN joined_at INTEGER;
ALTER TABLE members ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX members_by_user ON members (user_id, room_id) WHERE role IS NOT NULL;
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id      TEXT NOT NULL REFERENCES rooms(id),
    invitee      TEXT NOT NULL,
    invitee_name TEXT NOT NULL,
    inviter      TEXT NOT NULL,
    inviter_name TEXT NOT NULL,
    comment      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    response     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    starts_at    INTEGER
);
CREATE INDEX invitations_by_invitee ON invitations (invitee, status);
CREATE INDEX invitations_by_room ON invitations (room_id, status);
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    room_id       TEXT,
    invitation_id INTEGER,
    payload       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    read          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_by_invitation ON notifications (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX notifications_by_time ON notifications (created_at);
"#,
    // At most one open invitation per invitee and room: a second invite
    // replaces the first (`Membership::invite` upserts on this), also when
    // two PostgreSQL nodes invite at once; kept alike here.
    r#"
CREATE UNIQUE INDEX invitations_open ON invitations (room_id, invitee) WHERE status = 'invited';
"#,
    // Profiles: what people say about themselves, and their pictures (a
    // few KB per size, kept here so the blob collector never sees them).
    r#"
CREATE TABLE profiles (
    user_id        TEXT PRIMARY KEY,
    display_name   TEXT,
    status_text    TEXT,
    status_until   INTEGER,
    time_zone      TEXT,
    email          TEXT,
    phone          TEXT,
    xmpp           TEXT,
    avatar_version INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE avatars (
    user_id      TEXT NOT NULL REFERENCES profiles (user_id),
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (user_id, size)
) WITHOUT ROWID;
"#,
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::store::{Membership, MessageQuery, SqliteStore, Store};
    use protocol::{PageId, RoomId, RoomKind, UserId};

    /// Migrations before rooms with people (the last is `part_starts`).
    const BEFORE_PEOPLE: usize = 6;

    /// A database written before rooms with people keeps its rooms as page
    /// rooms with their messages, and its read marks as read marks, not
    /// memberships.
    #[tokio::test]
    async fn an_older_database_keeps_its_rooms_as_page_rooms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            infra::sqlite::migrate(&mut conn, "chat", &MIGRATIONS[..BEFORE_PEOPLE]).unwrap();
            conn.execute_batch(
                "INSERT INTO rooms (id, page_id, name, topic, created_by, created_at,
                                    last_seq, last_activity)
                     VALUES ('r1', 'p1', 'Lobby', 'old topic', 'alice', 1000, 1, 2000);
                 INSERT INTO messages (room_id, seq, id, author, author_name, body, created_at)
                     VALUES ('r1', 1, 'm1', 'alice', 'Alice', 'hello', 2000);
                 INSERT INTO members (room_id, user_id, last_read_seq) VALUES ('r1', 'bob', 1);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(infra::sqlite::version(&conn).unwrap(), MIGRATIONS.len());

        let id = RoomId::new("r1");
        let room = store.room(&id).await.unwrap().unwrap();
        assert_eq!(
            (
                room.kind,
                room.page.clone(),
                room.alias.clone(),
                room.avatar.clone()
            ),
            (RoomKind::Page, Some(PageId::new("p1")), None, None)
        );
        assert!(!room.is_public);
        assert_eq!(
            (room.name.as_str(), room.topic.as_str()),
            ("Lobby", "old topic")
        );
        assert_eq!((room.last_seq, room.created_by.as_str()), (1, "alice"));
        let page = PageId::new("p1");
        let found = store
            .ensure_room(&page, "Lobby", &UserId::new("x"))
            .await
            .unwrap();
        assert_eq!(found, room, "the page still names its room");
        let said = store
            .messages(&id, MessageQuery::After(0), 10)
            .await
            .unwrap();
        assert_eq!(said.len(), 1);
        assert_eq!(said[0].body, "hello");

        let bob = UserId::new("bob");
        assert_eq!(store.last_read(&id, &bob).await.unwrap(), 1);
        assert_eq!(store.member(&id, &bob).await.unwrap(), None);
        assert!(store.rooms_of(&bob).await.unwrap().is_empty());
    }
}
