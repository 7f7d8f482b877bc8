//! `Wiki`: the wiki's shared web state, and [`app`], the whole HTTP surface:
//! the wiki's own routes merged with the chat plugin's, and the helpers
//! every form handler shares (CSRF checks, error pages).

use crate::acl;
use crate::host::WikiHost;
use crate::macros::{Expander, Registry};
use crate::manifest::Manifest;
use crate::sessions::{self, Session, Sessions};
use crate::store::Store;
use crate::throttle::LoginThrottle;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use plugin::{AppState, NodeLink};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// The wiki's handle for its handlers. Clone is an `Arc` bump.
#[derive(Clone)]
pub struct Wiki(Arc<Shared>);

/// What [`Wiki`] points at.
pub struct Shared {
    /// Where the wiki's users, pages and permissions live.
    pub store: Arc<dyn Store>,
    /// Brakes password guessing on `POST /login`.
    pub throttle: LoginThrottle,
    /// Expands `{chat:...}` and the other manifest macros in pages.
    pub expander: Expander,
    /// Whether cookies carry `Secure` (only when served over HTTPS).
    pub secure_cookies: bool,
    /// The ACL epoch the plugin's streams watch; handlers refresh it after
    /// every write that may change access.
    pub epoch: acl::Epoch,
    /// Who a request's token belongs to, cached per epoch (shared with the
    /// chat plugin's [`WikiHost`]).
    pub sessions: Sessions,
}

impl std::ops::Deref for Wiki {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Wiki {
    pub fn new(
        store: Arc<dyn Store>,
        expander: Expander,
        epoch: acl::Epoch,
        sessions: Sessions,
    ) -> Wiki {
        Wiki(Arc::new(Shared {
            store,
            throttle: LoginThrottle::new(),
            expander,
            secure_cookies: false,
            epoch,
            sessions,
        }))
    }

    /// The session a request carries (cookie or bearer), if any.
    pub async fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.sessions.authenticate(headers).await
    }

    /// Ends the session of `token` everywhere: in the database, in this
    /// node's cache at once, and (through the epoch) on the other nodes.
    pub async fn end_session(&self, token: &str) -> anyhow::Result<()> {
        self.store.delete_session(token).await?;
        self.sessions.forget(token);
        self.epoch.refresh(self.store.as_ref()).await;
        Ok(())
    }
}

/// How often the ACL epoch is re-read from the database, for changes made
/// by other processes (the CLI). The wiki's own writes refresh it at once.
const EPOCH_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a form's `csrf` field matches the session's token. Bearer-token
/// callers have none and are not exposed to CSRF (browsers never attach
/// their token by themselves), so they pass.
pub fn csrf_ok(session: &Session, given: &str) -> bool {
    match &session.csrf_token {
        Some(expected) => sessions::same_secret(expected, given),
        None => true,
    }
}

/// A plain HTML error page with `status`.
pub fn error_page(
    status: StatusCode,
    session: Option<&Session>,
    here: &str,
    title: &str,
    message: &str,
) -> Response {
    let body = maud::html! {
        h1 { (title) }
        p.error role="alert" { (message) }
        p { a href="/" { "Back to the Welcome page" } }
    };
    (status, crate::views::layout(title, session, here, body)).into_response()
}

/// The 403 a form gets when its CSRF token is missing or wrong.
pub fn csrf_rejected(session: Option<&Session>, here: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        session,
        here,
        "Form expired",
        "This form was not sent by this site or has expired (CSRF token mismatch). \
         Go back, reload the page and try again.",
    )
}

/// The chat plugin and the wiki around it, sharing one wiki store.
pub struct Parts {
    /// The complete router: wiki routes, plugin routes, request tracing.
    pub router: Router,
    pub wiki: Wiki,
    pub plugin: AppState,
}

/// Builds every route the `backchannel` server answers. Must run inside a
/// tokio runtime (the wiki follows its ACL epoch); the chat's background
/// work starts separately, from [`plugin::start_background`].
pub fn app(
    store: Arc<dyn Store>,
    chat_store: Arc<dyn plugin::Store>,
    bus: Arc<dyn NodeLink>,
    config: plugin::Config,
) -> anyhow::Result<Parts> {
    let manifest = Manifest::bundled()?;
    let epoch = acl::Epoch::default();
    epoch.follow(Arc::clone(&store), EPOCH_POLL);
    let host = Arc::new(WikiHost::with_epoch(Arc::clone(&store), epoch.clone()));
    let sessions = host.sessions().clone();
    let plugin = AppState::new(host, chat_store, bus, config);
    let plugin_routes = plugin::app(plugin.clone());
    let expander = Expander {
        registry: Registry::from_manifest(&manifest),
        plugin: plugin_routes.clone(),
    };
    let wiki = Wiki::new(store, expander, epoch, sessions);
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::views::routes())
        .merge(crate::login::routes())
        .merge(crate::edit::routes())
        .merge(crate::api::routes())
        .merge(crate::search::routes())
        .merge(crate::admin::routes())
        .with_state(wiki.clone())
        .merge(plugin_routes)
        .layer(TraceLayer::new_for_http());
    Ok(Parts {
        router,
        wiki,
        plugin,
    })
}

/// A 500 page for an unexpected failure; the cause goes to the log only.
pub fn internal_error(err: anyhow::Error) -> Response {
    tracing::error!(error = ?err, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on the server; the error was logged.",
    )
        .into_response()
}
