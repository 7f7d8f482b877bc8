//! The chat schema in PostgreSQL: embedded migrations, which
//! [`infra::postgres::migrate`] hands to sqlx's migrator.

/// Schema versions, applied in order; sqlx records each by its number.
/// Never edit one that has shipped: add the next.
pub(super) const MIGRATIONS: &[infra::postgres::Step] = &[
    (
        1,
        "chat schema",
        r#"
CREATE TABLE rooms (
    id            TEXT PRIMARY KEY,
    page_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    topic         TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    last_activity TIMESTAMPTZ,
    UNIQUE (page_id, name)
);
CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    seq           BIGINT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL,
    author_name   TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    edited_at     TIMESTAMPTZ,
    deleted_at    TIMESTAMPTZ,
    reply_to      BIGINT,
    client_msg_id TEXT,
    mentions      TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (room_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency
    ON messages (room_id, author, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_author ON messages (room_id, author, seq);
CREATE INDEX messages_replies ON messages (room_id, reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_created ON messages (room_id, created_at);
CREATE INDEX messages_created_all ON messages (created_at);
CREATE TABLE message_revisions (
    id          BIGSERIAL PRIMARY KEY,
    room_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    body        TEXT NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX message_revisions_by_message ON message_revisions (room_id, seq);
CREATE TABLE members (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    user_id       TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
"#,
    ),
    (
        2,
        "transcripts",
        r#"
CREATE TABLE transcripts (
    room_id TEXT NOT NULL REFERENCES rooms (id),
    day     DATE NOT NULL,
    path    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (room_id, day)
);
"#,
    ),
    (
        3,
        "files",
        r#"
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX files_by_room ON files (room_id, seq);
"#,
    ),
    (
        4,
        "transcript parts",
        r#"
ALTER TABLE transcripts ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
"#,
    ),
    (
        5,
        "transcript part starts",
        r#"
ALTER TABLE transcripts ADD COLUMN part_starts BIGINT[] NOT NULL DEFAULT '{}';
"#,
    ),
    (
        6,
        "rooms with people",
        r#"
ALTER TABLE rooms ALTER COLUMN page_id DROP NOT NULL;
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'page';
ALTER TABLE rooms ADD COLUMN alias TEXT UNIQUE;
ALTER TABLE rooms ADD COLUMN avatar TEXT;
ALTER TABLE rooms ADD COLUMN is_public BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX rooms_public ON rooms (name, id) WHERE is_public;
ALTER TABLE members ADD COLUMN role TEXT;
ALTER TABLE members ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN joined_at TIMESTAMPTZ;
ALTER TABLE members ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX members_by_user ON members (user_id, room_id) WHERE role IS NOT NULL;
CREATE TABLE invitations (
    id           BIGSERIAL PRIMARY KEY,
    room_id      TEXT NOT NULL REFERENCES rooms (id),
    invitee      TEXT NOT NULL,
    invitee_name TEXT NOT NULL,
    inviter      TEXT NOT NULL,
    inviter_name TEXT NOT NULL,
    comment      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    response     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    starts_at    TIMESTAMPTZ
);
CREATE INDEX invitations_by_invitee ON invitations (invitee, status);
CREATE INDEX invitations_by_room ON invitations (room_id, status);
CREATE TABLE notifications (
    id            BIGSERIAL PRIMARY KEY,
    user_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    room_id       TEXT,
    invitation_id BIGINT,
    payload       TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    visible_at    TIMESTAMPTZ NOT NULL,
    read          BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_by_invitation ON notifications (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX notifications_by_time ON notifications (created_at);
"#,
    ),
    (
        7,
        "one open invitation per invitee and room",
        // `Membership::invite` upserts on it, so two nodes inviting the
        // same person at once leave one invitation, not two.
        r#"
CREATE UNIQUE INDEX invitations_open ON invitations (room_id, invitee) WHERE status = 'invited';
"#,
    ),
    (
        8,
        "profiles and pictures",
        // Pictures live here, not in the blob store: a few KB per size,
        // shared by every node, never seen by the blob collector.
        r#"
CREATE TABLE profiles (
    user_id        TEXT PRIMARY KEY,
    display_name   TEXT,
    status_text    TEXT,
    status_until   TIMESTAMPTZ,
    time_zone      TEXT,
    email          TEXT,
    phone          TEXT,
    xmpp           TEXT,
    avatar_version BIGINT NOT NULL DEFAULT 0,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE avatars (
    user_id      TEXT NOT NULL REFERENCES profiles (user_id),
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (user_id, size)
);
"#,
    ),
];
