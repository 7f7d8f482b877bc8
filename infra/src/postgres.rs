//! PostgreSQL schemas and migrations, one way for every store: each store
//! keeps its tables in a schema of its own (created here if missing), and its
//! numbered SQL steps, embedded in the binary, are applied by sqlx's
//! [`Migrator`] (checksums, a lock so two nodes starting at once migrate
//! once, a record in `_sqlx_migrations`).
//!
//! The wiki's store recorded its steps in a `schema_version` table of its own
//! before it moved to this; [`migrate_adopting_schema_version`] adopts such a
//! record the first time it meets one, so an existing install upgrades in
//! place. Only a store that once kept that table asks for it: a plain
//! [`migrate`] never reads or drops a `schema_version` table, which in a
//! shared schema (the chat's default `public`) may belong to someone else.

use anyhow::{bail, Context as _};
use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate as _, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{Connection as _, Executor as _, PgConnection};
use std::borrow::Cow;

/// One migration: its version (1, 2, ...), a description, and its SQL.
pub type Step = (i64, &'static str, &'static str);

/// The advisory lock the adoption holds: the key the wiki's old migrations
/// took, so an old node starting during an upgrade waits for the adoption
/// (and then fails on its first step rather than migrating twice).
const ADOPTION_LOCK: i64 = 0x7769_6b69_0001;

/// Creates `schema` unless it exists. Its name goes into SQL unquoted, so
/// only lowercase letters, digits and `_` (at most 63) are accepted.
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
pub fn check_schema_name(schema: &str) -> anyhow::Result<()> {
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

/// Applies the `steps` the database behind `pool` has not run yet (the
/// pool's `search_path` decides the schema). `what` names the schema in
/// errors ("chat", "wiki").
pub async fn migrate(pool: &PgPool, what: &str, steps: &'static [Step]) -> anyhow::Result<()> {
    Migrator::new(Embedded(steps))
        .await
        .with_context(|| format!("loading the {what} schema migrations"))?
        .run(pool)
        .await
        .with_context(|| format!("migrating the {what} schema"))?;
    Ok(())
}

/// Like [`migrate`], but first adopts an old `schema_version` record (one
/// row per step run, the wiki's own bookkeeping before sqlx's), so the steps
/// it lists are not run again. Only for a schema the store owns alone.
pub async fn migrate_adopting_schema_version(
    pool: &PgPool,
    what: &str,
    steps: &'static [Step],
) -> anyhow::Result<()> {
    adopt_schema_version(pool, steps)
        .await
        .with_context(|| format!("adopting the {what} schema's old version record"))?;
    migrate(pool, what, steps).await
}

/// Turns an old `schema_version` record (one row per step run) into sqlx's
/// `_sqlx_migrations`, once, so [`Migrator`] skips what already ran.
async fn adopt_schema_version(pool: &PgPool, steps: &'static [Step]) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADOPTION_LOCK)
        .execute(&mut *tx)
        .await?;
    let legacy: bool = sqlx::query_scalar(
        "SELECT to_regclass('schema_version') IS NOT NULL \
         AND to_regclass('_sqlx_migrations') IS NULL",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !legacy {
        return Ok(());
    }
    let done: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        .fetch_one(&mut *tx)
        .await?;
    let known = steps.iter().map(|step| step.0).max().unwrap_or(0);
    if done > known {
        bail!(
            "schema_version says {done} steps ran, but this binary knows {known}: \
             a newer binary migrated this schema"
        );
    }
    tx.ensure_migrations_table().await?;
    for migration in embedded(steps).into_iter().filter(|m| m.version <= done) {
        sqlx::query(
            "INSERT INTO _sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0)",
        )
        .bind(migration.version)
        .bind(&*migration.description)
        .bind(&*migration.checksum)
        .execute(&mut *tx)
        .await?;
    }
    tx.execute("DROP TABLE schema_version").await?;
    tx.commit().await?;
    Ok(())
}

/// `steps` as sqlx's migrator wants them.
fn embedded(steps: &'static [Step]) -> Vec<Migration> {
    steps
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
        .collect()
}

/// Steps compiled into the binary, as a [`MigrationSource`].
#[derive(Debug)]
struct Embedded(&'static [Step]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        let migrations = embedded(self.0);
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_or_refused() {
        assert!(check_schema_name("wiki").is_ok());
        assert!(check_schema_name("backchannel_test_0a").is_ok());
        for bad in ["", "Wiki", "1abc", "a-b", "a;DROP", &"a".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }

    #[cfg(feature = "testing")]
    mod on_postgres {
        use super::super::*;
        use crate::suite::on_fresh_schema;
        use sqlx::postgres::PgPoolOptions;
        use std::str::FromStr as _;

        static STEPS: [Step; 2] = [
            (1, "a", "CREATE TABLE a (x BIGINT)"),
            (2, "b", "CREATE TABLE b (y BIGINT)"),
        ];

        async fn pool(url: &str, schema: &str) -> PgPool {
            let options = PgConnectOptions::from_str(url).expect("URL");
            ensure_schema(&options, schema).await.expect("schema");
            PgPoolOptions::new()
                .connect_with(options.options([("search_path", schema)]))
                .await
                .expect("pool")
        }

        /// A `schema_version` table saying steps `1..=steps` ran.
        async fn schema_version_listing(pool: &PgPool, steps: i64) {
            pool.execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
                .await
                .expect("schema_version");
            sqlx::query("INSERT INTO schema_version SELECT generate_series(1, $1)")
                .bind(steps)
                .execute(pool)
                .await
                .expect("its rows");
        }

        async fn exists(pool: &PgPool, table: &str) -> bool {
            sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(table)
                .fetch_one(pool)
                .await
                .expect("to_regclass")
        }

        /// A plain `migrate` leaves someone else's `schema_version` alone
        /// and runs every step.
        #[tokio::test]
        async fn plain_migrate_ignores_a_schema_version_table() {
            on_fresh_schema(
                "infra postgres migrate",
                "infra_test",
                |url, schema| async move {
                    let pool = pool(&url, &schema).await;
                    schema_version_listing(&pool, 2).await;
                    migrate(&pool, "test", &STEPS).await.expect("migrate");
                    assert!(exists(&pool, "schema_version").await);
                    assert!(exists(&pool, "a").await && exists(&pool, "b").await);
                },
            )
            .await;
        }

        /// A record of more steps than the binary knows is refused, not
        /// silently forgotten.
        #[tokio::test]
        async fn a_newer_schema_version_is_refused() {
            on_fresh_schema(
                "infra postgres migrate",
                "infra_test",
                |url, schema| async move {
                    let pool = pool(&url, &schema).await;
                    schema_version_listing(&pool, 3).await;
                    let error = migrate_adopting_schema_version(&pool, "test", &STEPS)
                        .await
                        .expect_err("newer record");
                    assert!(format!("{error:#}").contains("knows 2"), "{error:#}");
                    assert!(exists(&pool, "schema_version").await, "kept");
                    assert!(!exists(&pool, "_sqlx_migrations").await);
                },
            )
            .await;
        }
    }
}
