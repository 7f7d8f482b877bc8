//! `WikiHost`: the built-in wiki as the chat plugin's [`plugin::Host`],
//! in-process over the same database the wiki's own pages use.
//!
//! Identities: a caller's [`UserId`] is their user name (names never change);
//! a page's [`PageId`] is its integer id as a string.
//!
//! [`Host::acl_epoch`] is the wiki's [`acl::Epoch`]: it moves whenever a
//! permission, a group membership, an account or the page tree changes, so
//! open chat streams recheck access right after such a change.

use crate::acl;
use crate::db::Db;
use crate::pages::{self, PagePath};
use crate::sessions;
use crate::users;
use anyhow::Context as _;
use async_trait::async_trait;
use axum::http::HeaderMap;
use plugin::{Access, Caller, ChildPage, Host, HostPage, PutOutcome};
use protocol::{PageId, UserId};

/// Who the plugin is recorded as when it writes pages (transcripts).
pub const PLUGIN_AUTHOR: &str = "backchannel";

/// The wiki seen through the plugin's [`Host`] trait.
#[derive(Clone)]
pub struct WikiHost {
    db: Db,
    /// Shared with the wiki's handlers, which refresh it after ACL writes.
    epoch: acl::Epoch,
}

impl WikiHost {
    /// A host with its own epoch (refreshed only by [`acl::Epoch::follow`]
    /// or [`WikiHost::epoch`] users).
    pub fn new(db: Db) -> Self {
        Self::with_epoch(db, acl::Epoch::default())
    }

    /// A host reporting `epoch` as its ACL epoch.
    pub fn with_epoch(db: Db, epoch: acl::Epoch) -> Self {
        Self { db, epoch }
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
        let headers = headers.clone();
        let session = self
            .db
            .call(move |conn| sessions::authenticate(conn, &headers))
            .await;
        match session {
            Ok(Some(session)) => Some(Caller {
                id: UserId::new(session.member.user.name.clone()),
                name: session.member.user.name,
                csrf_token: session.csrf_token,
            }),
            Ok(None) => None,
            Err(err) => {
                tracing::error!(error = ?err, "looking up a session");
                None
            }
        }
    }

    async fn page(&self, page: &PageId) -> Option<HostPage> {
        let id = row_id(page)?;
        match self.db.call(move |conn| pages::by_id(conn, id)).await {
            Ok(page) => page.as_ref().map(host_page),
            Err(err) => {
                tracing::error!(error = ?err, "loading a page");
                None
            }
        }
    }

    async fn access(&self, caller: Option<&Caller>, page: &PageId) -> Access {
        let Some(id) = row_id(page) else {
            return Access::None;
        };
        let name = caller.map(|c| c.id.as_str().to_owned());
        let result = self
            .db
            .call(move |conn| {
                if pages::by_id(conn, id)?.is_none() {
                    return Ok(Access::None);
                }
                let member = match name {
                    // A caller whose account is gone is treated as anonymous.
                    Some(name) => users::member(conn, &name)?,
                    None => None,
                };
                acl::access(conn, member.as_ref(), id)
            })
            .await;
        result.unwrap_or_else(|err| {
            tracing::error!(error = ?err, "evaluating page access");
            Access::None
        })
    }

    async fn put_child_page(
        &self,
        parent: &PageId,
        child: ChildPage,
    ) -> anyhow::Result<PutOutcome> {
        let parent_id = row_id(parent).with_context(|| format!("no page {parent:?}"))?;
        self.db
            .call(move |conn| {
                let parent = pages::by_id(conn, parent_id)?
                    .with_context(|| format!("no page with id {parent_id}"))?;
                let mut path: PagePath = parent.path.clone();
                for segment in &child.segments {
                    path = path.child(&pages::segment_from(segment))?;
                }
                if path == parent.path {
                    anyhow::bail!("a child page needs at least one path segment");
                }
                let written = pages::put(
                    conn,
                    &path,
                    Some(&child.title),
                    &child.markdown,
                    PLUGIN_AUTHOR,
                )?;
                Ok(PutOutcome {
                    url: path.url(),
                    path: path.to_string(),
                    changed: written.changed,
                })
            })
            .await
    }

    fn acl_epoch(&self) -> u64 {
        self.epoch.get()
    }

    fn sign_in_url(&self, return_to: &str) -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!("/login?return_to={encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Permissions, Principal};

    #[tokio::test]
    async fn child_pages_inherit_and_only_change_when_content_does() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wiki.db")).unwrap();
        let (parent_id, alice_token) = db
            .call(|c| {
                users::create(c, "alice", "correct horse", false)?;
                let bob = users::create(c, "bob", "correct horse", false)?;
                let written = pages::put(c, &PagePath::parse("Team")?, None, "", "alice")?;
                acl::set_permissions(
                    c,
                    written.id,
                    &Permissions {
                        inherit: false,
                        view: vec![Principal::User("bob".into())],
                        edit: vec![],
                    },
                )?;
                let token = sessions::create(c, bob.id, sessions::Kind::Browser, "")?;
                Ok((written.id, token))
            })
            .await
            .unwrap();
        let host = WikiHost::new(db.clone());
        let parent = PageId::new(parent_id.to_string());
        let child = ChildPage {
            segments: vec!["Chat".into(), "Lobby/x".into(), "2026-11-22".into()],
            title: "Lobby 2026-11-22".into(),
            markdown: "# hi".into(),
        };
        let first = host.put_child_page(&parent, child.clone()).await.unwrap();
        assert_eq!(first.path, "Team/Chat/Lobby-x/2026-11-22");
        assert!(first.changed);
        let second = host.put_child_page(&parent, child).await.unwrap();
        assert!(!second.changed);

        let leaf = db
            .call(|c| pages::by_path(c, &PagePath::parse("Team/Chat/Lobby-x/2026-11-22")?))
            .await
            .unwrap()
            .unwrap();
        let leaf_id = PageId::new(leaf.id.to_string());
        let page = host.page(&leaf_id).await.unwrap();
        assert_eq!(page.url, "/pages/Team/Chat/Lobby-x/2026-11-22");
        assert_eq!(page.title, "Lobby 2026-11-22");

        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            format!("bc_session={alice_token}").parse().unwrap(),
        );
        let bob = host.caller(&headers).await.unwrap();
        assert_eq!(bob.id.as_str(), "bob");
        assert_eq!(host.access(Some(&bob), &leaf_id).await, Access::Read);
        assert_eq!(host.access(None, &leaf_id).await, Access::None);
        assert_eq!(host.access(None, &PageId::new("999")).await, Access::None);
        assert!(host
            .sign_in_url("/rooms/x?a=b")
            .starts_with("/login?return_to=%2Frooms"));
    }
}
