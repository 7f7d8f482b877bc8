//! `Install`: one data directory and what a fresh one is given.
//!
//! The directory holds `wiki.db` (users, sessions, pages, permissions) and
//! the chat plugin's `chat.db`, unless `--database-url` puts both in
//! PostgreSQL; uploaded files stay in the directory either way. Opening an install for serving also
//! bootstraps it: the first time, it creates the `admin` account with a
//! random password (returned once so the caller can show it) and the
//! `Welcome` page holding the `{chat:Lobby}` macro, and makes pages readable
//! by signed-in users only ([`SITE_READERS_KEY`]: a new wiki is not
//! published to the internet by accident; `backchannel site readers
//! anonymous` opens it). Later opens change nothing.

pub use crate::model::SITE_READERS_KEY;
use crate::pages::{self, PagePath};
use crate::store::{self, Store};
use crate::users;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The account created on first start.
pub const ADMIN: &str = "admin";

/// The Welcome page's first content.
pub const WELCOME_MARKDOWN: &str = "\
Welcome to Backchannel: a small wiki with a chat room on every page that wants one. Write
`{chat:Room Name}` on a page and the page shows that room: who took part,
the files shared, a transcript for every day with messages, and a
**Join Chat** link.

Everyone who is signed in can talk in the Lobby:

{chat:Lobby}
";

/// Set once the Welcome page was created, so deleting it later sticks.
const WELCOME_CREATED: &str = "bootstrap.welcome_created";

/// The files of one install.
#[derive(Debug, Clone)]
pub struct Install {
    /// The data directory itself.
    pub dir: PathBuf,
}

/// What [`Install::bootstrap`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bootstrapped {
    /// The new admin's password, if the admin account was created just now.
    pub admin_password: Option<String>,
    /// Whether the Welcome page was created just now.
    pub created_welcome: bool,
    /// Who may read pages without rules of their own, when set just now.
    pub site_readers: Option<&'static str>,
}

impl Install {
    /// The install at `dir`, creating the directory if needed.
    pub fn at(dir: &Path) -> anyhow::Result<Install> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
        Ok(Install {
            dir: dir.to_owned(),
        })
    }

    /// The wiki's database file.
    pub fn wiki_db_path(&self) -> PathBuf {
        self.dir.join("wiki.db")
    }

    /// The chat plugin's database file.
    pub fn chat_db_path(&self) -> PathBuf {
        self.dir.join("chat.db")
    }

    /// Opens (creating and migrating) the wiki's store: `wiki.db` here, or
    /// the `wiki` schema of PostgreSQL when `database_url` is given.
    pub async fn wiki_store(&self, database_url: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
        store::open(&self.wiki_db_path(), database_url).await
    }

    /// Gives a fresh install its admin account and Welcome page; a no-op
    /// for one that has them.
    pub async fn bootstrap(store: &dyn Store) -> anyhow::Result<Bootstrapped> {
        let mut done = Bootstrapped::default();
        if !store.any_admin().await? {
            if store.setting(SITE_READERS_KEY).await?.is_none() {
                store.set_setting(SITE_READERS_KEY, "signed-in").await?;
                done.site_readers = Some("signed-in");
            }
            let password = users::generate_password();
            users::create(store, ADMIN, &password, true, &[])
                .await
                .context("creating the admin account")?;
            done.admin_password = Some(password);
        }
        if store.setting(WELCOME_CREATED).await?.is_none() {
            let path = PagePath::parse(pages::WELCOME)?;
            if store.page_by_path(&path).await?.is_none() {
                pages::put(store, &path, Some("Welcome"), WELCOME_MARKDOWN, ADMIN).await?;
                done.created_welcome = true;
            }
            store.set_setting(WELCOME_CREATED, &store::now()).await?;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bootstrap_is_idempotent_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let install = Install::at(&dir.path().join("data")).unwrap();
        let store = install.wiki_store(None).await.unwrap();
        let first = Install::bootstrap(store.as_ref()).await.unwrap();
        assert!(first.admin_password.is_some());
        assert!(first.created_welcome);
        assert_eq!(first.site_readers, Some("signed-in"));
        let welcome = store
            .page_by_path(&PagePath::parse(pages::WELCOME).unwrap())
            .await
            .unwrap()
            .unwrap();
        let anonymous = crate::acl::access(store.as_ref(), None, welcome.id)
            .await
            .unwrap();
        assert_eq!(
            anonymous,
            plugin::Access::None,
            "a fresh install is not public"
        );
        drop(store);

        // Reopening the same file migrates nothing and bootstraps nothing.
        let store = install.wiki_store(None).await.unwrap();
        let second = Install::bootstrap(store.as_ref()).await.unwrap();
        assert_eq!(second, Bootstrapped::default());
    }
}
