//! `Wiki`: the state every wiki handler shares (the store, the session
//! cache, the ACL epoch, the macro expander), a cheap-to-clone handle.

use crate::acl;
use crate::edge::Edge;
use crate::macros::Expander;
use crate::sessions::{Session, Sessions};
use crate::store::Store;
use crate::throttle::LoginThrottle;
use axum::http::HeaderMap;
use plugin::limit::RateLimiter;
use protocol::UserId;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The wiki's handle for its handlers. Clone is an `Arc` bump.
#[derive(Clone)]
pub struct Wiki(Arc<Shared>);

/// What [`Wiki`] points at.
pub struct Shared {
    /// Where the wiki's users, pages and permissions live.
    pub store: Arc<dyn Store>,
    /// Brakes password guessing on `POST /login` and `POST /api/session`.
    pub throttle: LoginThrottle,
    /// Password checks sign-ins have run (argon2 verifications): what the
    /// throttle lets through, for tests and operators.
    pub verifications: AtomicU64,
    /// How the wiki is reached: HTTPS or not, trusted proxies, host names.
    pub edge: Arc<Edge>,
    /// Expands `{chat:...}` and the other manifest macros in pages.
    pub expander: Expander,
    /// Whether cookies carry `Secure` and the `__Host-` prefix (when the
    /// public URL is `https://`).
    pub secure_cookies: bool,
    /// The ACL epoch the plugin's streams watch; handlers refresh it after
    /// every write that may change access.
    pub epoch: acl::Epoch,
    /// Who a request's token belongs to, cached per epoch (shared with the
    /// chat plugin's [`WikiHost`](crate::host::WikiHost)).
    pub sessions: Sessions,
    /// The chat plugin beside the wiki, told when a page is deleted.
    pub chat: plugin::AppState,
    /// Per-user budget for page writes (save, create, move, delete): every
    /// write stores a revision, so an unlimited editor could fill the disk.
    pub page_writes: RateLimiter,
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
        edge: Arc<Edge>,
        chat: plugin::AppState,
    ) -> Wiki {
        let page_writes = RateLimiter::for_rate(chat.config.page_write_limit);
        Wiki(Arc::new(Shared {
            store,
            throttle: LoginThrottle::new(),
            verifications: AtomicU64::new(0),
            expander,
            secure_cookies: edge.https,
            epoch,
            sessions,
            edge,
            chat,
            page_writes,
        }))
    }

    /// Takes one page write from `user`'s budget; `Err(seconds)` to wait.
    pub fn take_page_write(&self, user: &str) -> Result<(), u64> {
        self.page_writes.check(&UserId::new(user))
    }

    /// The client's address: the TCP peer (`None` for in-process requests,
    /// taken as 0.0.0.0), or what a trusted proxy says.
    pub fn client_ip(
        &self,
        peer: Option<std::net::SocketAddr>,
        headers: &HeaderMap,
    ) -> std::net::IpAddr {
        let peer = peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
        let proxies = &self.edge.trusted_proxies;
        if headers.contains_key("x-forwarded-for") && !proxies.trusts(peer) {
            warn_untrusted_proxy(peer);
        }
        proxies.client_ip(peer, headers)
    }

    /// The session a request carries (cookie or bearer), if any.
    pub async fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.sessions.authenticate(headers).await
    }

    /// [`Wiki::session`] for an HTML page: with the chat bell's count of
    /// unread notifications for the header (one small count query). A
    /// failure to count is logged and leaves the bell without a number; it
    /// never breaks the page.
    pub async fn page_session(&self, headers: &HeaderMap) -> Option<Session> {
        let mut session = self.session(headers).await?;
        let caller = plugin::Caller {
            id: UserId::new(session.member.user.name.clone()),
            name: session.member.user.name.clone(),
            csrf_token: None,
        };
        match plugin::notifications::unread(&self.chat, &caller).await {
            Ok(unread) => session.unread_notifications = Some(unread),
            Err(e) => tracing::warn!(error = ?e, "the chat bell could not be counted"),
        }
        Some(session)
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

/// Says once per process that `X-Forwarded-For` came from a peer that is
/// not a `--trusted-proxy`: behind a proxy that nobody listed, every client
/// shares the proxy's address in the sign-in throttle.
fn warn_untrusted_proxy(peer: std::net::IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "ignoring X-Forwarded-For from a peer that is not a --trusted-proxy; if this is \
             your reverse proxy, list it, or every client shares its address in the sign-in throttle"
        );
    }
}
