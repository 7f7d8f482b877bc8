//! `Wiki`: the state every wiki handler shares (the store, the session
//! cache, the ACL epoch, the macro expander), a cheap-to-clone handle.

use crate::acl;
use crate::macros::Expander;
use crate::sessions::{Session, Sessions};
use crate::store::Store;
use crate::throttle::LoginThrottle;
use axum::http::HeaderMap;
use plugin::limit::RateLimiter;
use protocol::UserId;
use std::sync::Arc;

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
        chat: plugin::AppState,
    ) -> Wiki {
        let page_writes = RateLimiter::new(
            chat.config.page_writes_per_window,
            chat.config.page_write_window,
        );
        Wiki(Arc::new(Shared {
            store,
            throttle: LoginThrottle::new(),
            expander,
            secure_cookies: false,
            epoch,
            sessions,
            chat,
            page_writes,
        }))
    }

    /// Takes one page write from `user`'s budget; `Err(seconds)` to wait.
    pub fn take_page_write(&self, user: &str) -> Result<(), u64> {
        self.page_writes.check(&UserId::new(user))
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
