//! `Install`: one data directory and what a fresh one is given.
//!
//! The directory holds `wiki.db` (users, sessions, pages, permissions) and
//! the chat plugin's `chat.db`. Opening an install for serving also
//! bootstraps it: the first time, it creates the `admin` account with a
//! random password (returned once so the caller can show it) and the
//! `Welcome` page holding the `{chat:Lobby}` macro. Later opens change
//! nothing.

use crate::db::{self, Db};
use crate::pages::{self, PagePath};
use crate::users;
use anyhow::Context as _;
use std::path::{Path, PathBuf};

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

    /// Opens (creating and migrating) the wiki database.
    pub fn wiki_db(&self) -> anyhow::Result<Db> {
        Db::open(&self.wiki_db_path())
    }

    /// Gives a fresh install its admin account and Welcome page; a no-op
    /// for one that has them.
    pub fn bootstrap(db: &Db) -> anyhow::Result<Bootstrapped> {
        db.call_blocking(|conn| {
            let mut done = Bootstrapped::default();
            if !users::any_admin(conn)? {
                let password = users::generate_password();
                users::create(conn, ADMIN, &password, true)
                    .context("creating the admin account")?;
                done.admin_password = Some(password);
            }
            if db::setting(conn, WELCOME_CREATED)?.is_none() {
                let path = PagePath::parse(pages::WELCOME)?;
                if pages::by_path(conn, &path)?.is_none() {
                    pages::put(conn, &path, Some("Welcome"), WELCOME_MARKDOWN, ADMIN)?;
                    done.created_welcome = true;
                }
                db::set_setting(conn, WELCOME_CREATED, &db::now())?;
            }
            Ok(done)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let install = Install::at(&dir.path().join("data")).unwrap();
        let db = install.wiki_db().unwrap();
        let first = Install::bootstrap(&db).unwrap();
        let password = first.admin_password.clone().unwrap();
        assert!(first.created_welcome);
        drop(db);

        let db = install.wiki_db().unwrap();
        let second = Install::bootstrap(&db).unwrap();
        assert_eq!(second, Bootstrapped::default());
        db.call_blocking(|c| {
            assert!(users::verify(c, ADMIN, &password)?.unwrap().is_admin);
            assert_eq!(users::list(c)?.len(), 1);
            let welcome = pages::by_path(c, &PagePath::parse(pages::WELCOME)?)?.unwrap();
            assert!(welcome.markdown.contains("{chat:Lobby}"));
            assert_eq!(welcome.title, "Welcome");
            Ok(())
        })
        .unwrap();
    }
}
