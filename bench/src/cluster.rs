//! Cross-node delivery: two `backchannel` nodes sharing one PostgreSQL
//! database and one NATS server, messages posted on node 1 and heard by
//! listeners on node 2, at the same rate and listener count as the
//! single-node latency row so the two figures sit side by side.
//!
//! PostgreSQL comes from `BACKCHANNEL_BENCH_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a fresh database is created
//! next to it and dropped afterwards) and NATS from
//! `BACKCHANNEL_BENCH_NATS_URL` (default `nats://127.0.0.1:4222`). Without
//! them the row says it was skipped and why.

use crate::report::Row;
use crate::scenario::{self, Fanout, Plan};
use crate::target::{Node, Target};
use anyhow::{Context, Result};
use infra::services::{LOCAL_NATS, LOCAL_POSTGRES_ADMIN};
use sqlx::{Connection as _, Executor as _, PgConnection};
use std::path::Path;

fn admin_url() -> String {
    std::env::var("BACKCHANNEL_BENCH_DATABASE_URL").unwrap_or_else(|_| LOCAL_POSTGRES_ADMIN.into())
}

fn nats_url() -> String {
    std::env::var("BACKCHANNEL_BENCH_NATS_URL").unwrap_or_else(|_| LOCAL_NATS.into())
}

/// The database this run creates and drops.
const DATABASE: &str = "backchannel_bench_cluster";

/// The cross-node row; `single` is the single-node run it is compared with.
pub async fn row(server: &Path, listeners: usize, plan: Plan, single: &Fanout) -> Row {
    let scenario = format!(
        "cross-node: {listeners} listeners on node 2, {:.0} msg/s posted on node 1",
        plan.rate
    );
    let single_figure = crate::describe(&single.latency, single.lost);
    match measure(server, listeners, plan).await {
        Ok(across) => Row {
            scenario,
            aim: "p50/p99 next to single node, nothing lost".into(),
            measured: crate::describe(&across.latency, across.lost),
            baseline: None,
            percent_of_baseline: None,
            met: Some(across.lost == 0),
            note: Some(format!("single node: {single_figure}")),
            detail: serde_json::json!({ "cross_node": across, "single_node": single }),
        },
        Err(e) => Row {
            scenario,
            aim: "p50/p99 next to single node, nothing lost".into(),
            measured: "skipped".into(),
            baseline: None,
            percent_of_baseline: None,
            met: None,
            note: Some(format!("{e:#}")),
            detail: serde_json::Value::Null,
        },
    }
}

async fn measure(server: &Path, listeners: usize, plan: Plan) -> Result<Fanout> {
    let admin = admin_url();
    let mut conn = PgConnection::connect(&admin)
        .await
        .with_context(|| format!("PostgreSQL is unreachable at {admin}"))?;
    conn.execute(format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)").as_str())
        .await?;
    conn.execute(format!("CREATE DATABASE {DATABASE}").as_str())
        .await?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    let database = format!("{base}/{DATABASE}");
    let nats = nats_url();
    tokio::net::TcpStream::connect(nats.trim_start_matches("nats://"))
        .await
        .with_context(|| format!("NATS is unreachable at {nats}"))?;

    let run = async {
        let first = Target::node(server, 20, &Node::clustered(1, &database, &nats)).await?;
        let second = Target::node(server, 20, &Node::clustered(2, &database, &nats)).await?;
        scenario::fanout_across(&first, &second, listeners, plan).await
    }
    .await;
    // The nodes are gone (dropped above); the database goes too.
    conn.execute(format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)").as_str())
        .await?;
    run
}
