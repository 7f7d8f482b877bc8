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
];
