//! The chat schema in PostgreSQL: embedded migrations for sqlx's migrator,
//! and the per-deployment (or per-test) schema they run in.

use anyhow::{bail, Context};
use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};
use std::borrow::Cow;

/// Schema versions, applied in order; sqlx records each by its number.
/// Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
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
];

/// Creates `schema` unless it exists. Its name goes into SQL unquoted, so
/// only lowercase letters, digits and `_` (at most 63) are accepted. The
/// wiki's PostgreSQL store keeps its tables the same way.
pub async fn ensure_schema(options: &PgConnectOptions, schema: &str) -> anyhow::Result<()> {
    check_schema_name(schema)?;
    let mut conn = PgConnection::connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    // Asking first keeps "already exists" notices out of every start's log.
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut conn)
            .await
            .with_context(|| format!("looking for schema {schema}"))?;
    if !exists {
        let created = conn
            .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await;
        // Two nodes creating the schema at once: one of them gets a
        // duplicate error although the schema now exists, which is fine.
        if let Err(e) = created {
            let duplicate = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|code| code == "42P06" || code == "23505");
            if !duplicate {
                return Err(e).with_context(|| format!("creating schema {schema}"));
            }
        }
    }
    conn.close().await.ok();
    Ok(())
}

/// Schema names go into SQL unquoted, so only the plainest are accepted.
fn check_schema_name(schema: &str) -> anyhow::Result<()> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if !plain {
        bail!("schema name {schema:?} must be lowercase letters, digits and _ (at most 63)");
    }
    Ok(())
}

/// [`MIGRATIONS`] as sqlx's migrator wants them.
#[derive(Debug)]
pub(super) struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}
