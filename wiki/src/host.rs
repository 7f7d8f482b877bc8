//! `WikiHost`: the built-in wiki as the chat plugin's [`plugin::Host`],
//! in-process over the same store the wiki's own pages use.
//!
//! Identities: a caller's [`UserId`] is their user name (names never change);
//! a page's [`PageId`] is its integer id as a string.
//!
//! [`Host::acl_epoch`] is the wiki's [`acl::Epoch`]: it moves whenever a
//! permission, a group membership, an account or the page tree changes, so
//! open chat streams recheck access right after such a change.

use crate::acl;
use crate::pages::{self, PagePath};
use crate::sessions::Sessions;
use crate::store::Store;
use crate::users;
use anyhow::Context as _;
use async_trait::async_trait;
use axum::http::HeaderMap;
use plugin::{Access, Caller, ChildPage, Host, HostPage, PageLink, PutOutcome};
use protocol::{PageId, Profile, UserId};
use std::sync::Arc;

/// Who the plugin is recorded as when it writes pages (transcripts).
pub const PLUGIN_AUTHOR: &str = "backchannel";

/// The wiki seen through the plugin's [`Host`] trait.
#[derive(Clone)]
pub struct WikiHost {
    store: Arc<dyn Store>,
    /// Shared with the wiki's handlers, which refresh it after ACL writes.
    epoch: acl::Epoch,
    /// Who a token belongs to; shared with the wiki's own handlers.
    sessions: Sessions,
    /// Answers of [`Host::access`] under the current epoch. Every post,
    /// long-poll and subscription asks for access, while permissions change
    /// rarely: without this each of them costs several database reads.
    /// Everything that can take access away moves the epoch, so a stale
    /// answer never outlives a revocation; on several nodes, as long as a
    /// node takes to notice the epoch (the same bound open streams have).
    access: acl::EpochCache<(i64, Option<String>), Access>,
}

/// Access answers kept per epoch before the cache starts over.
const MAX_ANSWERS: usize = 100_000;

impl WikiHost {
    /// A host with its own epoch (refreshed only by [`acl::Epoch::follow`]
    /// or [`WikiHost::epoch`] users).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_epoch(store, acl::Epoch::default())
    }

    /// A host reporting `epoch` as its ACL epoch.
    pub fn with_epoch(store: Arc<dyn Store>, epoch: acl::Epoch) -> Self {
        Self {
            sessions: Sessions::new(Arc::clone(&store), epoch.clone()),
            access: acl::EpochCache::new(epoch.clone(), MAX_ANSWERS),
            store,
            epoch,
        }
    }

    /// The same host reading the HTTPS session cookie name when `https`
    /// (see [`Sessions::over_https`]).
    pub fn over_https(mut self, https: bool) -> Self {
        self.sessions = self.sessions.over_https(https);
        self
    }

    /// The session resolver this host uses, for the wiki's handlers to share.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Works out `caller`'s access to page `id` from the database.
    async fn look_up_access(&self, caller: Option<&Caller>, id: i64) -> anyhow::Result<Access> {
        let store = self.store.as_ref();
        let member = async {
            match caller {
                // A caller whose account is gone is treated as anonymous.
                Some(caller) => users::member(store, caller.id.as_str()).await,
                None => Ok(None),
            }
        };
        // The three lookups are independent: at once, not one by one.
        let (page, member, rules) =
            tokio::try_join!(store.page_by_id(id), member, store.effective_rules(id))
                .context("evaluating page access")?;
        Ok(match page {
            Some(_) => rules.access(member.as_ref()),
            None => Access::None,
        })
    }

    /// The epoch this host reports.
    pub fn epoch(&self) -> &acl::Epoch {
        &self.epoch
    }
}

/// A page id as the database knows it; `None` for ids that cannot be ours.
fn row_id(page: &PageId) -> Option<i64> {
    page.as_str().parse().ok()
}

/// The path `segments` below `parent`, each segment made a valid title.
fn child_path(parent: &PagePath, segments: &[String]) -> anyhow::Result<PagePath> {
    let mut path = parent.clone();
    for segment in segments {
        path = path.child(&pages::segment_from(segment))?;
    }
    Ok(path)
}

/// The page as the plugin sees it.
pub fn host_page(page: &pages::Page) -> HostPage {
    HostPage {
        id: PageId::new(page.id.to_string()),
        title: page.title.clone(),
        url: page.path.url(),
        time_zone: page.time_zone.parse().unwrap_or(chrono_tz::UTC),
    }
}

#[async_trait]
impl Host for WikiHost {
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let session = self.sessions.authenticate(headers).await?;
        Some(Caller {
            id: UserId::new(session.member.user.name.clone()),
            name: session.member.user.name,
            csrf_token: session.csrf_token,
        })
    }

    async fn user(&self, id: &UserId) -> anyhow::Result<Option<Profile>> {
        let user = self
            .store
            .user(id.as_str())
            .await
            .with_context(|| format!("loading user {id}"))?;
        Ok(user.map(|user| Profile {
            id: UserId::new(user.name.clone()),
            name: user.name,
        }))
    }

    async fn find_users(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<Profile>> {
        // Every user, filtered here: fine for a wiki's few thousand
        // accounts; a prefix query belongs in the store when that grows.
        let prefix = prefix.to_lowercase();
        let users = self.store.users().await.context("listing users")?;
        Ok(users
            .into_iter()
            .filter(|member| member.user.name.to_lowercase().starts_with(&prefix))
            .take(limit)
            .map(|member| Profile {
                id: UserId::new(member.user.name.clone()),
                name: member.user.name,
            })
            .collect())
    }

    async fn page_at(&self, path: &str) -> anyhow::Result<Option<HostPage>> {
        // A path that cannot be a page's is simply no page.
        let Ok(path) = PagePath::parse(path.trim().trim_matches('/')) else {
            return Ok(None);
        };
        let page = self
            .store
            .page_by_path(&path)
            .await
            .with_context(|| format!("loading page {}", path.as_str()))?;
        Ok(page.as_ref().map(host_page))
    }

    async fn page(&self, page: &PageId) -> anyhow::Result<Option<HostPage>> {
        let Some(id) = row_id(page) else {
            return Ok(None);
        };
        let page = self
            .store
            .page_by_id(id)
            .await
            .with_context(|| format!("loading page {id}"))?;
        Ok(page.as_ref().map(host_page))
    }

    async fn access(&self, caller: Option<&Caller>, page: &PageId) -> anyhow::Result<Access> {
        let Some(id) = row_id(page) else {
            return Ok(Access::None);
        };
        let key = (id, caller.map(|c| c.id.as_str().to_owned()));
        // The cache remembers answers only; a failure is kept aside and
        // returned, so the next request asks the database again.
        let mut failure = None;
        let look_up = async {
            match self.look_up_access(caller, id).await {
                Ok(access) => Some(access),
                Err(err) => {
                    failure = Some(err);
                    None
                }
            }
        };
        match self.access.get_or_look_up(key, look_up).await {
            Some(access) => Ok(access),
            None => {
                Err(failure
                    .unwrap_or_else(|| anyhow::anyhow!("evaluating page access gave no answer")))
            }
        }
    }

    async fn put_child_page(
        &self,
        parent: &PageId,
        child: ChildPage,
    ) -> anyhow::Result<PutOutcome> {
        let parent_id = row_id(parent).with_context(|| format!("no page {parent:?}"))?;
        let parent = self
            .store
            .page_by_id(parent_id)
            .await?
            .with_context(|| format!("no page with id {parent_id}"))?;
        let path = child_path(&parent.path, &child.segments)?;
        if path == parent.path {
            anyhow::bail!("a child page needs at least one path segment");
        }
        if child.markdown.len() > pages::MAX_MARKDOWN_BYTES {
            anyhow::bail!(
                "{path} would hold {} bytes; pages hold at most {}",
                child.markdown.len(),
                pages::MAX_MARKDOWN_BYTES
            );
        }
        // Transcripts are rebuilt from the chat's store: one revision each.
        let written = pages::put_keeping_latest(
            self.store.as_ref(),
            &path,
            Some(&child.title),
            &child.markdown,
            PLUGIN_AUTHOR,
        )
        .await?;
        Ok(PutOutcome {
            url: path.url(),
            path: path.to_string(),
            changed: written.changed,
        })
    }

    /// Children are found below the parent's path as it is now, so a page
    /// move carries its transcripts' links along. One read for all of them.
    async fn child_links(
        &self,
        parent: &PageId,
        children: &[Vec<String>],
    ) -> anyhow::Result<Option<Vec<PageLink>>> {
        let Some(parent_id) = row_id(parent) else {
            return Ok(None);
        };
        let Some(parent) = self
            .store
            .page_by_id(parent_id)
            .await
            .with_context(|| format!("loading page {parent_id}"))?
        else {
            return Ok(None);
        };
        let mut links = Vec::with_capacity(children.len());
        for segments in children {
            let path = child_path(&parent.path, segments)?;
            links.push(PageLink {
                url: path.url(),
                path: path.to_string(),
            });
        }
        Ok(Some(links))
    }

    fn acl_epoch(&self) -> u64 {
        self.epoch.get()
    }

    fn max_page_bytes(&self) -> usize {
        pages::MAX_MARKDOWN_BYTES
    }

    fn sign_in_url(&self, return_to: &str) -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!("/login?return_to={encoded}")
    }
}
