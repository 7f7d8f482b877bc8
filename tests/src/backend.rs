//! [`Backend`]: which store a test server runs on, SQLite (the embedded
//! default) or PostgreSQL, so one suite runs on both; and [`Database`], a
//! throw-away PostgreSQL database for one test's server.
//!
//! The `backchannel` binary puts the wiki's tables in schema `wiki` and the
//! chat's in `public` of whatever database `--database-url` names, so two
//! servers cannot share one database: each test makes its own through the
//! admin connection (`BACKCHANNEL_TEST_DATABASE_URL`, see
//! [`infra::services::postgres_admin_url`]) and drops it when done. A test
//! that panics leaves its database behind; the next run of the same test
//! drops it before creating it again.

use crate::server::TestServer;
use anyhow::Result;
use infra::services::postgres_admin_url;
use sqlx::Connection as _;
use std::path::Path;

/// The store behind a test server.
pub enum Backend {
    /// SQLite files in the server's data directory.
    Sqlite,
    /// A database of the test's own on the local PostgreSQL.
    Postgres(Database),
}

impl Backend {
    /// The backend for `label` (`"sqlite"` or `"postgres"`), or `None` when
    /// PostgreSQL is wanted but unreachable: the skip rule
    /// ([`crate::skip::require`]) has then said so (or panicked under CI).
    pub async fn open(test: &str, label: &str) -> Option<Self> {
        if label != "postgres" {
            return Some(Backend::Sqlite);
        }
        let database = crate::skip::require(test, Database::create(test).await)?;
        Some(Backend::Postgres(database))
    }

    /// `sqlite` or `postgres`, for reports.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Starts a server named `name` on this backend with extra `env`.
    pub fn start(&self, name: &str, binary: &Path, env: &[(&str, &str)]) -> Result<TestServer> {
        let mut env = env.to_vec();
        if let Backend::Postgres(database) = self {
            env.push(("BACKCHANNEL_DATABASE_URL", database.url.as_str()));
        }
        TestServer::start_with_env(name, binary, &env)
    }

    /// Drops the PostgreSQL database, if any (stop the server first).
    pub async fn finish(self) -> Result<(), String> {
        match self {
            Backend::Sqlite => Ok(()),
            Backend::Postgres(database) => database.drop_database().await,
        }
    }
}

/// A database created for one test.
pub struct Database {
    /// Its name, unique per test and process.
    pub name: String,
    /// `postgres://.../<name>`, for `BACKCHANNEL_DATABASE_URL`.
    pub url: String,
}

impl Database {
    /// Creates an empty database called `backchannel_<tag>_<pid>` (`tag` is
    /// a test name: lower-case letters, digits and `_`); the error
    /// says why PostgreSQL could not be used (for [`crate::skip::require`]).
    pub async fn create(tag: &str) -> Result<Self, String> {
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|e| format!("PostgreSQL is unreachable at {admin}: {e}"))?;
        let name = format!("backchannel_{tag}_{}", std::process::id());
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&sql)
                .execute(&mut conn)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
        }
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Ok(Database { name, url })
    }

    /// Drops the database (stop the servers using it first).
    pub async fn drop_database(self) -> Result<(), String> {
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|e| format!("PostgreSQL is unreachable at {admin}: {e}"))?;
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .map(drop)
            .map_err(|e| format!("{sql}: {e}"))
    }
}
