//! The multi-node `Store`: PostgreSQL, shared by every `backchannel` node.
//!
//! Same semantics as [`SqliteStore`](super::SqliteStore), method for method;
//! `store::suite` runs one test suite against both.
//!
//! # Why the seq stays gapless and ordered across nodes
//! [`append`](Store::append) assigns the seq with
//! `UPDATE rooms SET last_seq = last_seq + 1 … RETURNING last_seq` inside the
//! transaction that inserts the message. The UPDATE row-locks the room until
//! COMMIT or ROLLBACK, so appends to one room are serialised whichever node
//! runs them: the next writer waits for the lock and, under READ COMMITTED,
//! then reads the committed counter. A rolled-back append rolls its increment
//! back too (no gap), and seq order is commit order, so a reader that sees
//! seq `n` committed can always read `1..n` from the store too (what
//! `feed`'s gap refill relies on). Appends to different rooms do not contend.
//! The message's `created_at` is the posting node's clock reading
//! ([`NewMessage::created_at`]), raised to the room's `last_activity` under
//! that lock if it is earlier, so time order follows seq order in a room
//! even when node clocks disagree (a node running behind stamps its message
//! with the previous one's time rather than an earlier one). The nodes'
//! clocks are the chat's clock, not the database's, so that day boundaries
//! and message times come from one [`Clock`](crate::clock::Clock).
//!
//! # Idempotency under a race
//! A unique index on (room, author, client_msg_id) backs the key. An append
//! first looks the key up (the cheap retry path); if two nodes race past
//! that, the second one's insert meets the first one's row
//! (`ON CONFLICT … DO NOTHING` returns nothing), so it rolls back, taking its
//! seq increment with it, and answers with the committed row as
//! [`Appended::Duplicate`].
//!
//! # What is acknowledged when
//! Every write method returns only after its COMMIT has returned (PostgreSQL's
//! default `synchronous_commit = on`: the WAL is flushed), so a message the
//! caller acknowledges survives a crash of the database server.
//!
//! # Schemas
//! [`PostgresStore::connect`] uses the connection's default `search_path`;
//! [`PostgresStore::connect_with_schema`] creates a schema and points every
//! pooled connection at it (a startup parameter, so there is no window where a
//! connection uses another schema). Tests use a fresh schema each. Migrations
//! are embedded SQL, versioned by sqlx's migrator in `_sqlx_migrations` of
//! that schema, behind an advisory lock so nodes starting together migrate
//! once.
//!
//! # Layout
//! - this file: `PostgresStore`, its pool, and the SQL macros the others use.
//! - `schema`: the migrations (run, and schemas made, by [`infra::postgres`]).
//! - `rows`: row mapping and the message lock edits and deletes take.
//! - `queries`: the [`Store`] and [`StoreMaintenance`] methods.
//! - `membership`: the [`Membership`](super::Membership) methods.
//! - `profiles`: the [`Profiles`](super::Profiles) methods.
//! - `removal`: a deleted host page's rooms removed with all they hold.

/// The database's clock (one clock for every node), at the millisecond
/// precision SQLite stores, so both stores hand out identical timestamps.
macro_rules! now {
    () => {
        "date_trunc('milliseconds', clock_timestamp())"
    };
}

/// The message columns in [`message_from_row`]'s order, as a literal so
/// queries can be built with `concat!` and stay `&'static str`.
macro_rules! message_columns {
    () => {
        "id, room_id, seq, author, author_name, body, created_at, \
         edited_at, deleted_at, reply_to, client_msg_id, mentions, attachments"
    };
}

macro_rules! room_columns {
    () => {
        "id, page_id, name, topic, created_by, created_at, last_seq, last_activity, \
         kind, alias, avatar, is_public"
    };
}

/// A member's columns, for [`rows::member_from_row`]; no name is also a
/// room column, so a join lists both without prefixes.
macro_rules! member_columns {
    () => {
        "room_id, user_id, user_name, role, joined_at, last_read_seq, muted"
    };
}

macro_rules! invitation_columns {
    () => {
        "id, room_id, invitee, invitee_name, inviter, inviter_name, comment, status, \
         response, created_at, updated_at, expires_at, starts_at"
    };
}

macro_rules! notification_columns {
    () => {
        "id, user_id, kind, room_id, invitation_id, payload, created_at, visible_at, read"
    };
}

mod membership;
mod profiles;
mod queries;
mod removal;
mod rows;
mod schema;

use anyhow::Context;
use protocol::Message;
use rows::message_from_row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

#[cfg(doc)]
use super::{Appended, NewMessage};
#[cfg(doc)]
use super::{Store, StoreMaintenance};

/// Pooled connections per node.
const MAX_CONNECTIONS: u32 = 16;
/// How long a caller waits for a pooled connection (or a first connect).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL-backed [`Store`]. Cheap to share behind an `Arc`; the pool
/// inside is already shared.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (e.g. `postgres://user@host/db`) and migrates the
    /// schema the connection's `search_path` selects (normally `public`).
    /// sqlx records versions in that schema's `_sqlx_migrations`, so if
    /// anything else migrates the same schema with sqlx, give the chat its
    /// own with [`connect_with_schema`](Self::connect_with_schema).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
        Self::open(options).await
    }

    /// Like [`connect`](Self::connect), but keeps every table in `schema`
    /// (created if missing; lowercase letters, digits and `_`).
    pub async fn connect_with_schema(url: &str, schema: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
        infra::postgres::ensure_schema(&options, schema).await?;
        Self::open(options.options([("search_path", schema)])).await
    }

    async fn open(options: PgConnectOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        infra::postgres::migrate(&pool, "chat", schema::MIGRATIONS).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for the SQLite-to-PostgreSQL copy.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The message `author` sent with idempotency key `key`, if any.
    async fn by_key(&self, room: &str, author: &str, key: &str) -> anyhow::Result<Option<Message>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND author = $2 AND client_msg_id = $3"
        ))
        .bind(room)
        .bind(author)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }
}
