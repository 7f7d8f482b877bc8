//! [`app`], the whole HTTP surface: the wiki's own routes merged with the
//! chat plugin's, around one [`Wiki`] state and one [`WikiHost`].

use crate::acl;
use crate::edge::{self, Edge};
use crate::host::WikiHost;
use crate::macros::{Expander, Registry};
use crate::manifest::Manifest;
use crate::state::Wiki;
use crate::store::Store;
use axum::routing::get;
use axum::Router;
use plugin::{AppState, NodeLink};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// How often the ACL epoch is re-read from the database, for changes made
/// by other processes (the CLI). The wiki's own writes refresh it at once.
const EPOCH_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The chat plugin and the wiki around it, sharing one wiki store.
pub struct Parts {
    /// The complete router: wiki routes, plugin routes, request tracing.
    pub router: Router,
    pub wiki: Wiki,
    pub plugin: AppState,
}

/// Builds every route the `backchannel` server answers, reached as the
/// default [`Edge`] says (plain HTTP, no trusted proxy, local host names).
/// Must run inside a tokio runtime (the wiki follows its ACL epoch); the
/// chat's background work starts separately, from
/// [`plugin::start_background`].
pub fn app(
    store: Arc<dyn Store>,
    chat_store: Arc<dyn plugin::Store>,
    bus: Arc<dyn NodeLink>,
    config: plugin::Config,
) -> anyhow::Result<Parts> {
    app_with_edge(store, chat_store, bus, config, Edge::default())
}

/// [`app`] reached as `edge` says (`serve --public-url`, `--trusted-proxy`,
/// `--allowed-host`).
pub fn app_with_edge(
    store: Arc<dyn Store>,
    chat_store: Arc<dyn plugin::Store>,
    bus: Arc<dyn NodeLink>,
    config: plugin::Config,
    edge: Edge,
) -> anyhow::Result<Parts> {
    let edge = Arc::new(edge);
    let manifest = Manifest::bundled()?;
    let epoch = acl::Epoch::default();
    epoch.follow(Arc::clone(&store), EPOCH_POLL);
    let host =
        Arc::new(WikiHost::with_epoch(Arc::clone(&store), epoch.clone()).over_https(edge.https));
    let sessions = host.sessions().clone();
    let plugin = AppState::new(host, chat_store, bus, config);
    let plugin_routes = plugin::app(plugin.clone());
    let expander = Expander {
        registry: Registry::from_manifest(&manifest),
        plugin: plugin_routes.clone(),
    };
    let wiki = Wiki::new(
        store,
        expander,
        epoch,
        sessions,
        Arc::clone(&edge),
        plugin.clone(),
    );
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::views::routes())
        .merge(crate::login::routes())
        .merge(crate::edit::routes())
        .merge(crate::history::routes())
        .merge(crate::api::routes())
        .merge(crate::search::routes())
        .merge(crate::admin::routes())
        .layer(axum::middleware::from_fn(
            plugin::origin::refuse_cross_site_writes,
        ))
        .with_state(wiki.clone())
        // The wiki's pages only: the plugin's routes send their own
        // headers (the popup's CSP lets external wikis frame it).
        .layer(axum::middleware::from_fn(edge::security_headers))
        .merge(plugin_routes)
        .layer(axum::middleware::from_fn_with_state(edge, edge::check_host))
        .layer(TraceLayer::new_for_http());
    Ok(Parts {
        router,
        wiki,
        plugin,
    })
}
