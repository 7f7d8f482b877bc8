//! The wiki's `Store`: users, groups, sessions, pages and their revisions,
//! page permissions, settings and the full-text index.
//!
//! The rest of the wiki only ever sees this trait, as the plugin's chat does
//! with its own `Store`: [`sqlite`] is the embedded default (`<data>/wiki.db`)
//! and [`postgres`] the multi-node backend, chosen by `--database-url`
//! ([`open`]). Both keep the same semantics method for method; `suite` runs
//! one test suite against both. [`copy`] moves a `wiki.db` into PostgreSQL
//! (`backchannel migrate`).
//!
//! Domain rules (name and password checks, hashing, who may do what, query
//! parsing, snippet escaping) live in [`crate::users`], [`crate::acl`],
//! [`crate::pages`] and [`crate::query`]; the records it takes and returns in
//! [`crate::model`]. The store only stores, and does
//! the few multi-step writes (a page with its missing ancestors and its
//! revision, a permissions change with its ACL epoch bump) in one
//! transaction, so they stay atomic on either backend.
//!
//! Every write that can change what someone may access (accounts, groups,
//! permissions, moving or deleting pages, ending a session) bumps the ACL
//! epoch in the same transaction (see [`crate::acl`]).

pub mod copy;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
mod suite;

use crate::model::{
    AccessMap, Member, Page, PagePath, Permissions, Revision, RevisionInfo, Rules, User, Written,
};
use crate::query::Term;
use async_trait::async_trait;
use std::sync::Arc;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The `settings` key of the ACL epoch counter (see [`crate::acl`]).
pub(crate) const EPOCH_KEY: &str = "acl.epoch";

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    /// PHC-format argon2 hash ([`crate::users`] computes it).
    pub password_hash: String,
    pub is_admin: bool,
    /// Groups to add the user to, created if missing, in the same
    /// transaction as the account.
    pub groups: Vec<String>,
}

/// What a session row is found by: the SHA-256 of its token, hex. Tokens
/// are 256 random bits, so a plain hash is enough (no salt, no argon2:
/// nothing to guess), and a leaked database or backup holds no usable
/// credential. Both backends store only this.
pub(crate) fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// A session row to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The token itself; the store keeps only its [`token_hash`].
    pub token: String,
    pub user_id: i64,
    pub csrf_token: String,
    /// `browser` or `api`.
    pub kind: &'static str,
    pub label: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; `None` never expires.
    pub expires_at: Option<String>,
}

/// A session row as looked up by token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub user_name: String,
    pub csrf_token: String,
    pub expires_at: Option<String>,
}

/// One page to write with [`Store::put_pages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWrite {
    pub path: PagePath,
    /// `None` (or blank) keeps the current title, or uses the last path
    /// segment for a new page.
    pub title: Option<String>,
    pub markdown: String,
    /// Which revisions the page keeps after this write.
    pub keep: Keep,
}

/// How much history a page write leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every revision: pages people write.
    All,
    /// Only the one this write records: pages the chat writes
    /// (transcripts), which are rebuilt from the chat's own store and so
    /// need no history of their own; keeping one copy bounds their storage
    /// and takes deleted or edited-out messages out of the page history.
    Latest,
}

/// A search hit before escaping: the snippet carries
/// [`crate::query::OPEN`]/[`crate::query::CLOSE`] around the matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHit {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub snippet: String,
}

/// Durable state of the wiki. Every write returns after its transaction has
/// committed.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- settings -------------------------------------------------------

    /// A value from the key-value `settings` table.
    async fn setting(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Writes a value to the `settings` table.
    async fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()>;
    /// The stored ACL epoch (0 before the first bump).
    async fn acl_epoch(&self) -> anyhow::Result<u64>;

    // ---- users and groups -----------------------------------------------

    /// Creates an account (and its groups); fails if the name is taken.
    async fn create_user(&self, user: NewUser) -> anyhow::Result<User>;
    /// Replaces a user's password hash and deletes all their sessions and
    /// API tokens.
    async fn set_password_hash(&self, name: &str, hash: &str) -> anyhow::Result<()>;
    /// A user by name (case-insensitive).
    async fn user(&self, name: &str) -> anyhow::Result<Option<User>>;
    /// A user and their stored password hash, by name.
    async fn user_with_hash(&self, name: &str) -> anyhow::Result<Option<(User, String)>>;
    /// Names of the groups `user_id` belongs to, sorted.
    async fn groups_of(&self, user_id: i64) -> anyhow::Result<Vec<String>>;
    /// Whether any admin account exists.
    async fn any_admin(&self) -> anyhow::Result<bool>;
    /// All users with their groups, by name.
    async fn users(&self) -> anyhow::Result<Vec<Member>>;
    /// Creates a group; fails if the name is taken.
    async fn create_group(&self, name: &str) -> anyhow::Result<()>;
    /// Adds `user` to `group` (no error if already in). A missing group is
    /// created when `create_missing`, an error otherwise.
    async fn add_to_group(
        &self,
        user: &str,
        group: &str,
        create_missing: bool,
    ) -> anyhow::Result<()>;
    /// Removes `user` from `group`; an error if either does not exist.
    async fn remove_from_group(&self, user: &str, group: &str) -> anyhow::Result<()>;
    /// Names of a group's members, or `None` if there is no such group.
    async fn members_of(&self, group: &str) -> anyhow::Result<Option<Vec<String>>>;
    /// All group names, sorted.
    async fn groups(&self) -> anyhow::Result<Vec<String>>;

    // ---- sessions ---------------------------------------------------------

    async fn insert_session(&self, session: NewSession) -> anyhow::Result<()>;
    async fn session(&self, token: &str) -> anyhow::Result<Option<StoredSession>>;
    /// Ends a session and bumps the ACL epoch (so every node's session cache
    /// forgets it). No error if the session does not exist.
    async fn delete_session(&self, token: &str) -> anyhow::Result<()>;

    // ---- pages ------------------------------------------------------------

    async fn page_by_path(&self, path: &PagePath) -> anyhow::Result<Option<Page>>;
    async fn page_by_id(&self, id: i64) -> anyhow::Result<Option<Page>>;
    /// A page's direct children, by title (case-insensitive), then path.
    async fn children(&self, id: i64) -> anyhow::Result<Vec<Page>>;
    /// Top-level pages, by title (case-insensitive).
    async fn roots(&self) -> anyhow::Result<Vec<Page>>;
    /// Creates or updates pages, creating missing ancestors empty, all in
    /// one transaction (see [`crate::pages::put`] for the rules).
    async fn put_pages(&self, pages: Vec<PageWrite>, author: &str) -> anyhow::Result<Vec<Written>>;
    /// Up to `limit` of a page's revisions with ids below `before` (all
    /// when `None`), newest first, without their bodies.
    async fn revisions(
        &self,
        page_id: i64,
        before: Option<i64>,
        limit: usize,
    ) -> anyhow::Result<Vec<RevisionInfo>>;
    async fn revision(&self, page_id: i64, id: i64) -> anyhow::Result<Option<Revision>>;
    /// Deletes a page without children; fails if it has any.
    async fn delete_page(&self, page_id: i64) -> anyhow::Result<()>;
    /// Moves a page and its subtree to `to`, creating missing ancestors of
    /// `to`. Fails if `to` exists or lies inside the subtree.
    async fn move_page(&self, page_id: i64, to: &PagePath, author: &str) -> anyhow::Result<()>;
    /// Sets a page's time zone (already validated).
    async fn set_time_zone(&self, page_id: i64, zone: &str) -> anyhow::Result<()>;

    // ---- permissions ------------------------------------------------------

    /// A page's own settings.
    async fn permissions(&self, page_id: i64) -> anyhow::Result<Permissions>;
    /// Replaces a page's own settings and bumps the ACL epoch.
    async fn set_permissions(&self, page_id: i64, perms: &Permissions) -> anyhow::Result<()>;
    /// The rules in force on a page: its own, the nearest non-inheriting
    /// ancestor's, or the site defaults.
    async fn effective_rules(&self, page_id: i64) -> anyhow::Result<Rules>;
    /// The whole tree and every grant, for deciding access on many pages.
    async fn access_map(&self) -> anyhow::Result<AccessMap>;

    // ---- search -----------------------------------------------------------

    /// Ids of every page matching all `terms`, best first. Not
    /// permission-filtered: [`crate::search`] does that.
    async fn search(&self, terms: &[Term]) -> anyhow::Result<Vec<i64>>;
    /// Path, title and a highlighted snippet of each of `ids` (in that
    /// order) for the same `terms`.
    async fn hits(&self, terms: &[Term], ids: &[i64]) -> anyhow::Result<Vec<RawHit>>;
}

/// `impl Store for $backend`, one concern per module: each method calls the
/// function of the same name in the backend's `users`, `pages`, `access` or
/// `search` module (named where the macro is used, with the record types).
/// Both backends use it, so which module answers which method is written once.
macro_rules! store_by_concern {
    ($backend:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $backend {
            async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
                users::setting(self, key).await
            }

            async fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
                users::set_setting(self, key, value).await
            }

            async fn acl_epoch(&self) -> anyhow::Result<u64> {
                users::acl_epoch(self).await
            }

            async fn create_user(&self, user: NewUser) -> anyhow::Result<User> {
                users::create_user(self, user).await
            }

            async fn set_password_hash(&self, name: &str, hash: &str) -> anyhow::Result<()> {
                users::set_password_hash(self, name, hash).await
            }

            async fn user(&self, name: &str) -> anyhow::Result<Option<User>> {
                users::user(self, name).await
            }

            async fn user_with_hash(&self, name: &str) -> anyhow::Result<Option<(User, String)>> {
                users::user_with_hash(self, name).await
            }

            async fn groups_of(&self, user_id: i64) -> anyhow::Result<Vec<String>> {
                users::groups_of(self, user_id).await
            }

            async fn any_admin(&self) -> anyhow::Result<bool> {
                users::any_admin(self).await
            }

            async fn users(&self) -> anyhow::Result<Vec<Member>> {
                users::users(self).await
            }

            async fn create_group(&self, name: &str) -> anyhow::Result<()> {
                users::create_group(self, name).await
            }

            async fn add_to_group(
                &self,
                user: &str,
                group: &str,
                create_missing: bool,
            ) -> anyhow::Result<()> {
                users::add_to_group(self, user, group, create_missing).await
            }

            async fn remove_from_group(&self, user: &str, group: &str) -> anyhow::Result<()> {
                users::remove_from_group(self, user, group).await
            }

            async fn members_of(&self, group: &str) -> anyhow::Result<Option<Vec<String>>> {
                users::members_of(self, group).await
            }

            async fn groups(&self) -> anyhow::Result<Vec<String>> {
                users::groups(self).await
            }

            async fn insert_session(&self, session: NewSession) -> anyhow::Result<()> {
                users::insert_session(self, session).await
            }

            async fn session(&self, token: &str) -> anyhow::Result<Option<StoredSession>> {
                users::session(self, token).await
            }

            async fn delete_session(&self, token: &str) -> anyhow::Result<()> {
                users::delete_session(self, token).await
            }

            async fn page_by_path(&self, path: &PagePath) -> anyhow::Result<Option<Page>> {
                pages::page_by_path(self, path).await
            }

            async fn page_by_id(&self, id: i64) -> anyhow::Result<Option<Page>> {
                pages::page_by_id(self, id).await
            }

            async fn children(&self, id: i64) -> anyhow::Result<Vec<Page>> {
                pages::children(self, id).await
            }

            async fn roots(&self) -> anyhow::Result<Vec<Page>> {
                pages::roots(self).await
            }

            async fn put_pages(
                &self,
                pages: Vec<PageWrite>,
                author: &str,
            ) -> anyhow::Result<Vec<Written>> {
                pages::put_pages(self, pages, author).await
            }

            async fn revisions(
                &self,
                page_id: i64,
                before: Option<i64>,
                limit: usize,
            ) -> anyhow::Result<Vec<RevisionInfo>> {
                pages::revisions(self, page_id, before, limit).await
            }

            async fn revision(&self, page_id: i64, id: i64) -> anyhow::Result<Option<Revision>> {
                pages::revision(self, page_id, id).await
            }

            async fn delete_page(&self, page_id: i64) -> anyhow::Result<()> {
                pages::delete_page(self, page_id).await
            }

            async fn move_page(
                &self,
                page_id: i64,
                to: &PagePath,
                author: &str,
            ) -> anyhow::Result<()> {
                pages::move_page(self, page_id, to, author).await
            }

            async fn set_time_zone(&self, page_id: i64, zone: &str) -> anyhow::Result<()> {
                pages::set_time_zone(self, page_id, zone).await
            }

            async fn permissions(&self, page_id: i64) -> anyhow::Result<Permissions> {
                access::permissions(self, page_id).await
            }

            async fn set_permissions(
                &self,
                page_id: i64,
                perms: &Permissions,
            ) -> anyhow::Result<()> {
                access::set_permissions(self, page_id, perms).await
            }

            async fn effective_rules(&self, page_id: i64) -> anyhow::Result<Rules> {
                access::effective_rules(self, page_id).await
            }

            async fn access_map(&self) -> anyhow::Result<AccessMap> {
                access::access_map(self).await
            }

            async fn search(&self, terms: &[Term]) -> anyhow::Result<Vec<i64>> {
                search::search(self, terms).await
            }

            async fn hits(&self, terms: &[Term], ids: &[i64]) -> anyhow::Result<Vec<RawHit>> {
                search::hits(self, terms, ids).await
            }
        }
    };
}
pub(crate) use store_by_concern;

/// Opens the wiki's store: PostgreSQL when `database_url` is given (its own
/// schema, [`postgres::SCHEMA`], next to the chat's tables), else SQLite in
/// `sqlite_path`.
pub async fn open(
    sqlite_path: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context as _;
    Ok(match database_url {
        Some(url) => Arc::new(
            PostgresStore::connect(url)
                .await
                .context("connecting the wiki to PostgreSQL (--database-url)")?,
        ),
        None => {
            let path = sqlite_path.to_owned();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .context("opening the wiki database panicked")??;
            Arc::new(store)
        }
    })
}

/// The current time as stored (RFC 3339, UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The title a write gives a page: the requested one if not blank, else the
/// current title, else the last path segment.
pub(crate) fn title_for<'a>(
    requested: Option<&'a str>,
    current: Option<&'a str>,
    path: &'a PagePath,
) -> &'a str {
    requested
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or(current)
        .unwrap_or(path.name())
}
