//! Running one store contract on both backends: each case is written once
//! and [`store_suite!`](crate::store_suite) generates a `sqlite::<case>` and
//! a `postgres::<case>` test that call the crate's own `on_sqlite(case)` and
//! `on_postgres(case)`. [`on_fresh_schema`] is the PostgreSQL half those
//! usually wrap: it probes the server, gives the case a schema of its own and
//! drops it afterwards, even when the case panics.
//!
//! PostgreSQL is found at [`postgres_url`](crate::services::postgres_url).
//! When it is unreachable the PostgreSQL cases fail under `CI=true` and
//! otherwise print `SKIPPED: <what> because <reason>` and pass.

use futures_util::FutureExt as _;
use sqlx::{Connection as _, Executor as _, PgConnection};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use crate::services::postgres_url;
use crate::skip;

/// Generates `sqlite::<case>` and `postgres::<case>` for every case; the
/// calling module defines `on_sqlite` and `on_postgres`, which open the
/// store and run the case on it.
#[macro_export]
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::on_sqlite(super::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::on_postgres(super::$case).await;
                }
            )*
        }
    };
}

/// Runs `case(url, schema)` on a new schema named `{prefix}_{random}` and
/// drops the schema afterwards. When PostgreSQL cannot be reached, applies
/// the skip rule under the name `what` instead. Only "cannot reach the
/// server" skips: any later error is the case's failure.
///
/// # Panics
/// When the server is unreachable under CI, when the schema cannot be
/// dropped, or when the case panics (after the schema is dropped).
pub async fn on_fresh_schema<Fut>(
    what: &str,
    prefix: &str,
    case: impl FnOnce(String, String) -> Fut,
) where
    Fut: Future<Output = ()>,
{
    let url = postgres_url();
    let probe = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await;
    let why = match probe {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            None
        }
        Ok(Err(e)) => Some(format!("PostgreSQL at {url} is unreachable: {e}")),
        Err(_) => Some(format!("PostgreSQL at {url} did not answer within 5 s")),
    };
    if let Some(why) = why {
        return skip::missing(what, &why);
    }
    let schema = format!("{prefix}_{:016x}", rand::random::<u64>());
    let outcome = AssertUnwindSafe(case(url.clone(), schema.clone()))
        .catch_unwind()
        .await;
    let dropped = match PgConnection::connect(&url).await {
        Ok(mut conn) => conn
            .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    if let Err(e) = dropped {
        panic!("dropping the test schema {schema}: {e}");
    }
}
