//! The running server: opens the install, binds the listener, serves
//! [`crate::web::app`] and shuts down gracefully on Ctrl-C or SIGTERM.
//!
//! Shutdown stops accepting connections and lets requests in flight finish.
//! Streams (WebSocket, SSE, long-poll) may stay open indefinitely, so after
//! [`GRACE`] the server exits anyway; clients reconnect and resume by seq.

use crate::backends::{chat_backends, chat_config, Backends};
use crate::install::Install;
use crate::web;
use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long open connections get to finish after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// What `backchannel serve` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub backends: Backends,
    /// `--public-url`, `--trusted-proxy`, `--allowed-host`.
    pub edge: crate::edge::EdgeArgs,
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let edge = crate::edge::Edge::from_args(&options.edge)?;
    let install = Install::at(&options.data)?;
    let wiki_store = install
        .wiki_store(options.backends.database_url.as_deref())
        .await?;
    let bootstrapped = Install::bootstrap(wiki_store.as_ref()).await?;
    if let Some(password) = &bootstrapped.admin_password {
        // stdout, not the log: shown once, to whoever started the server.
        println!(
            "created admin account: username {}, password {password} (shown once; \
             change it with `backchannel user passwd {}`)",
            crate::install::ADMIN,
            crate::install::ADMIN
        );
    }
    if let Some(readers) = bootstrapped.site_readers {
        println!(
            "pages are readable by {readers} users only; to let anyone read pages without \
             rules of their own: `backchannel site readers anonymous` (then restart), or \
             grant `anonymous` view on chosen pages"
        );
    }
    if bootstrapped.created_welcome {
        tracing::info!("created the Welcome page");
    }
    let (store, bus) = chat_backends(&install, &options.backends).await?;
    let parts = web::app_with_edge(wiki_store, store.clone(), bus, chat_config(&install), edge)?;
    let orphaned = crate::pages::remove_orphaned_rooms(
        parts.wiki.store.as_ref(),
        store.as_ref(),
        &parts.plugin,
    )
    .await
    .context("removing the chat rooms of deleted pages")?;
    if orphaned > 0 {
        tracing::info!(
            rooms = orphaned,
            "removed the chat rooms of pages deleted earlier"
        );
    }
    let background = plugin::start_background(&parts.plugin);
    tokio::spawn(crate::hasher::warm());

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let local = listener.local_addr()?;
    // Chat frames are small and each should leave at once: with Nagle's
    // algorithm a frame written while the previous one is unacknowledged
    // waits for the peer's delayed ACK (up to 40 ms). Writers batch what is
    // queued themselves (see plugin::ws), so nothing is gained by waiting.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY on a connection");
        }
    });
    tracing::info!(data = %install.dir.display(), "Backchannel wiki listening on http://{local}/");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(
        listener,
        parts
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut server = tokio::spawn(async move { serve.await });

    tokio::select! {
        result = &mut server => {
            return result.context("the server task failed")?.context("serving HTTP");
        }
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down; waiting up to {GRACE:?} for open connections");
    let _ = stop_tx.send(());
    match tokio::time::timeout(GRACE, server).await {
        Ok(result) => result
            .context("the server task failed")?
            .context("serving HTTP")?,
        Err(_) => tracing::warn!("connections still open after {GRACE:?}; exiting anyway"),
    }
    background.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
