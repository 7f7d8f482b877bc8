//! Which backends an install runs on: the `--database-url`, `--nats-url`
//! and `--node-id` flags ([`Backends`]), and opening the chat's store and
//! bus from them. Shared by `serve` ([`crate::server`]) and the maintenance
//! commands ([`crate::maintenance`]).

use crate::install::Install;
use anyhow::Context as _;
use clap::Args;
use std::sync::Arc;

/// Where the wiki and the chat live when one machine is not enough
/// (default: SQLite in the data directory and an in-process bus).
#[derive(Debug, Clone, Args)]
pub struct Backends {
    /// PostgreSQL for the wiki's and the chat's tables, e.g.
    /// postgres://user@db/backchannel (the wiki's live in schema `wiki`).
    #[arg(long, env = "BACKCHANNEL_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// NATS for fan-out between nodes, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "BACKCHANNEL_NATS_URL", value_name = "URL")]
    pub nats_url: Option<String>,
    /// This node's name on the bus (default: the host name).
    #[arg(long, env = "BACKCHANNEL_NODE_ID", value_name = "NAME")]
    pub node_id: Option<String>,
}

/// The chat's store and bus: SQLite and the in-process bus by default,
/// PostgreSQL and NATS when their URLs are given.
pub async fn chat_backends(
    install: &Install,
    backends: &Backends,
) -> anyhow::Result<(Arc<dyn plugin::StoreMaintenance>, Arc<dyn plugin::NodeLink>)> {
    let store: Arc<dyn plugin::StoreMaintenance> = match &backends.database_url {
        Some(url) => {
            let store = plugin::store::PostgresStore::connect(url)
                .await
                .context("connecting to PostgreSQL (--database-url)")?;
            tracing::info!("chat storage: PostgreSQL");
            Arc::new(store)
        }
        None => Arc::new(
            plugin::SqliteStore::open(&install.chat_db_path())
                .with_context(|| format!("opening {}", install.chat_db_path().display()))?,
        ),
    };
    let bus: Arc<dyn plugin::NodeLink> = match &backends.nats_url {
        Some(url) => {
            let node = backends.node_id.clone().unwrap_or_else(node_name);
            let bus = plugin::nats::NatsBus::connect(url, &node)
                .await
                .context("connecting to NATS (--nats-url)")?;
            tracing::info!(%node, "chat fan-out: NATS");
            Arc::new(bus)
        }
        None => Arc::new(plugin::LocalBus::new()),
    };
    Ok((store, bus))
}

/// The chat's settings for this install: uploads go under `<data>/files`;
/// the rest from the environment ([`plugin::Config::from_env`]: post limit,
/// wasm bundle directory, and `BACKCHANNEL_CLOCK_OFFSET_SECS`, a testing aid
/// with which end-to-end tests cross a midnight without waiting for one).
pub fn chat_config(install: &Install) -> plugin::Config {
    plugin::Config {
        files_dir: install.dir.join("files"),
        ..plugin::Config::from_env()
    }
}

/// The host name, for a node id nobody chose.
fn node_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| format!("node-{}", std::process::id()))
}
