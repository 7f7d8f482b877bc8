//! The `Host` trait: everything the chat plugin needs from the wiki it lives in.
//!
//! The built-in wiki (`wiki/`) implements it in-process. Access is always asked
//! of the host at request time and never copied into the plugin, so a change to
//! a page's permissions takes effect on the next request. A host that cannot
//! answer says so with an error, which the plugin turns into a 500: an
//! outage never passes for "no such page" or "no access".

use async_trait::async_trait;
use axum::http::HeaderMap;
use chrono_tz::Tz;
use protocol::{PageId, Profile, UserId};

/// The signed-in person making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    /// Display name shown next to messages.
    pub name: String,
    /// The session's CSRF token; HTML forms must echo it back in a `csrf` field.
    /// `None` for bearer-token callers, who are not exposed to CSRF.
    pub csrf_token: Option<String>,
}

/// What a caller may do on a page, and so in the rooms it holds.
/// Ordered: each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// May not even learn the page exists.
    None,
    /// View the page: read rooms, history and transcripts.
    Read,
    /// Edit the page: post in its rooms.
    Write,
    /// Administer the page: moderate its rooms.
    Admin,
}

/// A host page as the plugin sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPage {
    pub id: PageId,
    pub title: String,
    /// Where a browser reads the page, e.g. `/pages/Team/Planning`.
    pub url: String,
    /// Transcript days are cut at midnight in this zone.
    pub time_zone: Tz,
}

/// A child page the plugin asks the host to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildPage {
    /// Path below the parent page, one title per level, e.g.
    /// `["Chat", "Lobby", "2026-11-22"]`. Missing levels are created empty.
    pub segments: Vec<String>,
    pub title: String,
    pub markdown: String,
}

/// The result of [`Host::put_child_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// The page's full path in the host, e.g. `Welcome/Chat/Lobby/2026-11-22`.
    pub path: String,
    /// Where a browser reads it, e.g. `/pages/Welcome/Chat/Lobby/2026-11-22`.
    pub url: String,
    /// False when the page already had exactly this content (no new revision).
    pub changed: bool,
}

/// Where a host page lives now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLink {
    /// The page's full path in the host, e.g. `Welcome/Chat/Lobby/2026-11-22`.
    pub path: String,
    /// Where a browser reads it, e.g. `/pages/Welcome/Chat/Lobby/2026-11-22`.
    pub url: String,
}

/// Something the host did to a page that the plugin must act on. The
/// in-process wiki hands it to
/// [`AppState::page_event`](crate::state::AppState::page_event) right after
/// the change commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageEvent {
    /// The page is gone for good (its id is never given to another page):
    /// its rooms, messages, read marks, files and their bytes go too.
    Deleted(PageId),
}

/// The wiki the plugin is installed in.
#[async_trait]
pub trait Host: Send + Sync + 'static {
    /// Who is making this request (session cookie or `Authorization: Bearer`).
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller>;

    /// A page by id, or `None` if it does not exist. An error is the
    /// host failing (its database is down), never "no such page": the
    /// plugin answers it with a 500, so an outage does not look like a 404.
    async fn page(&self, page: &PageId) -> anyhow::Result<Option<HostPage>>;

    /// What `caller` (`None` = anonymous) may do on `page`, evaluated now;
    /// [`Access::None`] for a page that does not exist. An error is the host
    /// failing, as for [`Host::page`], never a refusal.
    async fn access(&self, caller: Option<&Caller>, page: &PageId) -> anyhow::Result<Access>;

    /// Creates or replaces a child page of `parent`. The child inherits the
    /// parent's permissions at read time and is indexed by the host's search.
    async fn put_child_page(&self, parent: &PageId, child: ChildPage)
        -> anyhow::Result<PutOutcome>;

    /// Where each of `children` (paths below `parent`, as in
    /// [`ChildPage::segments`]) lives now, in order; `None` when the host
    /// cannot say, and the plugin shows the link the host gave when it
    /// wrote the page. The plugin asks whenever it shows transcript links,
    /// so a host that answers never leaves a dead link after a page moves.
    ///
    /// The default cannot say.
    async fn child_links(
        &self,
        parent: &PageId,
        children: &[Vec<String>],
    ) -> anyhow::Result<Option<Vec<PageLink>>> {
        let _ = (parent, children);
        Ok(None)
    }

    /// The largest markdown [`Host::put_child_page`] accepts, in bytes: the
    /// publisher splits a day that renders bigger into parts that fit.
    ///
    /// The default is 1 MiB, the built-in wiki's page limit.
    fn max_page_bytes(&self) -> usize {
        1024 * 1024
    }

    /// The page at `path` (as people write it, e.g. `Team/Planning`), or
    /// `None`: where an owner may have a group room's transcripts
    /// published. Like [`Host::page`], an error is the host failing.
    ///
    /// The default finds nothing, so such rooms publish nothing.
    async fn page_at(&self, path: &str) -> anyhow::Result<Option<HostPage>> {
        let _ = path;
        Ok(None)
    }

    /// The user with this id, as others may see them; `None` for nobody.
    /// Invitations and mentions are only for users this answers.
    ///
    /// The default knows nobody.
    async fn user(&self, id: &UserId) -> anyhow::Result<Option<Profile>> {
        let _ = id;
        Ok(None)
    }

    /// Users whose id or name starts with `prefix` (case-insensitive), at
    /// most `limit`, for the person picker.
    ///
    /// The default knows nobody.
    async fn find_users(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<Profile>> {
        let _ = (prefix, limit);
        Ok(Vec::new())
    }

    /// Where to send a browser that must sign in before coming back to `return_to`.
    fn sign_in_url(&self, return_to: &str) -> String;

    /// A number that changes whenever any page permission, group membership
    /// or user changes. Open streams compare it before each delivery and ask
    /// [`Host::access`] again when it moved, so revoking access stops events
    /// at once without a permission query per event.
    ///
    /// The default changes every second, so a host that cannot tell still
    /// gets a recheck at most a second after a change.
    fn acl_epoch(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    }
}
