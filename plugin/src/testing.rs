//! A test [`Host`] and a harness around the real plugin, for the plugin's own
//! tests (enabled by the `testing` feature; `cargo test -p plugin` turns it
//! on through the crate's dev-dependency on itself).
//!
//! [`TestHost`] is a small wiki held in memory: pages, users named by their
//! bearer token (`Authorization: Bearer alice` is `alice`) or, as a
//! browser with a CSRF token, by a cookie ([`SESSION_COOKIE`]), per-user
//! [`Access`] that a test changes while streams are open (each change moves
//! [`Host::acl_epoch`], as a real host's would), and the child pages
//! `put_child_page` was asked to write.
//!
//! [`TestApp`] builds an [`AppState`] on that host with the real pieces: a
//! SQLite store in a temporary directory, the in-process bus, the feed and
//! every transport. Tests talk to it through [`TestApp::router`]
//! (`tower::ServiceExt::oneshot`) or [`TestApp::serve`] (a socket on
//! `127.0.0.1:0`). The few things a client cannot do (create a room without
//! the macro page, lose a bus event, prune history) are methods here, so a
//! change to `AppState`, `Config`, `Store` or `Host` is adapted in this one
//! file, not in every test.

use crate::host::{Access, Caller, ChildPage, Host, HostPage, PutOutcome};
use crate::store::{NewMessage, StoreMaintenance as _};
use crate::{AppState, Config, LocalBus, SqliteStore};
use async_trait::async_trait;
use axum::http::{header, HeaderMap};
use axum::Router;
use protocol::{PageId, Profile, RoomId, UserId};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::task::JoinHandle;

/// The cookie of a browser session on [`TestHost`]: `Cookie: bc_test=alice`
/// is alice, as a signed-in browser, with a CSRF token
/// ([`TestHost::csrf_token`]) her forms must echo. A bearer token wins
/// over it.
pub const SESSION_COOKIE: &str = "bc_test";

/// An in-memory wiki: who is who, which pages exist, who may do what.
#[derive(Default)]
pub struct TestHost {
    // A std Mutex is fine: it is held only to read or change the maps,
    // never across an `.await`.
    wiki: Mutex<Wiki>,
    /// Moves on every access change, so open streams recheck at once.
    epoch: AtomicU64,
}

#[derive(Default)]
struct Wiki {
    /// Known users; a bearer token naming anyone else is anonymous.
    users: HashSet<String>,
    pages: HashMap<PageId, HostPage>,
    /// Access by page and user; `None` is what anonymous visitors get.
    grants: HashMap<(PageId, Option<String>), Access>,
    /// Every child page written, in order.
    children: Vec<(PageId, ChildPage)>,
}

impl TestHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// A user who may sign in (with `Authorization: Bearer <name>`) but has
    /// no access anywhere yet.
    pub fn add_user(&self, name: &str) {
        self.wiki().users.insert(name.to_owned());
    }

    /// A new page called `title` (its own path, in UTC), that nobody may
    /// read yet.
    pub fn add_page(&self, title: &str) -> PageId {
        let mut wiki = self.wiki();
        let id = PageId::new((wiki.pages.len() + 1).to_string());
        let page = HostPage {
            id: id.clone(),
            title: title.to_owned(),
            url: format!("/pages/{title}"),
            time_zone: chrono_tz::UTC,
        };
        wiki.pages.insert(id.clone(), page);
        id
    }

    /// Sets what `user` may do on `page` (adding the user if new) and moves
    /// the permission epoch. [`Access::None`] revokes.
    pub fn grant(&self, user: &str, page: &PageId, access: Access) {
        {
            let mut wiki = self.wiki();
            wiki.users.insert(user.to_owned());
            wiki.grants
                .insert((page.clone(), Some(user.to_owned())), access);
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes every right on `page` away from `user`.
    pub fn revoke(&self, user: &str, page: &PageId) {
        self.grant(user, page, Access::None);
    }

    /// Ends `user`'s session as signing out, a password reset or deleting
    /// their API token would: their bearer token no longer names anyone,
    /// and the permission epoch moves, as the wiki's does.
    pub fn sign_out(&self, user: &str) {
        self.wiki().users.remove(user);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Sets what visitors who are not signed in may do on `page` (signed-in
    /// users get at least as much) and moves the permission epoch.
    pub fn grant_anonymous(&self, page: &PageId, access: Access) {
        self.wiki().grants.insert((page.clone(), None), access);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Every child page the plugin wrote, oldest first, with its parent.
    pub fn children(&self) -> Vec<(PageId, ChildPage)> {
        self.wiki().children.clone()
    }

    /// The CSRF token of `user`'s browser session (the [`SESSION_COOKIE`]
    /// one), which their forms carry.
    pub fn csrf_token(user: &str) -> String {
        format!("csrf-of-{user}")
    }

    fn wiki(&self) -> MutexGuard<'_, Wiki> {
        self.wiki.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Host for TestHost {
    async fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token.trim().to_owned());
        // A browser: the session cookie, whose forms carry a CSRF token.
        let (name, csrf_token) = match bearer {
            Some(token) => (token, None),
            None => {
                let name = crate::extract::cookie(headers, SESSION_COOKIE)?;
                let token = TestHost::csrf_token(&name);
                (name, Some(token))
            }
        };
        if !self.wiki().users.contains(&name) {
            return None;
        }
        Some(Caller {
            id: UserId::new(name.as_str()),
            name,
            csrf_token,
        })
    }

    async fn user(&self, id: &UserId) -> anyhow::Result<Option<Profile>> {
        Ok(self.wiki().users.contains(id.as_str()).then(|| Profile {
            id: id.clone(),
            name: id.as_str().to_owned(),
        }))
    }

    async fn find_users(&self, prefix: &str, limit: usize) -> anyhow::Result<Vec<Profile>> {
        let prefix = prefix.to_lowercase();
        let mut found: Vec<Profile> = self
            .wiki()
            .users
            .iter()
            .filter(|name| name.to_lowercase().starts_with(&prefix))
            .map(|name| Profile {
                id: UserId::new(name.as_str()),
                name: name.clone(),
            })
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.truncate(limit);
        Ok(found)
    }

    async fn page_at(&self, path: &str) -> anyhow::Result<Option<HostPage>> {
        // Test pages live at their own title.
        Ok(self
            .wiki()
            .pages
            .values()
            .find(|page| page.title == path.trim_matches('/'))
            .cloned())
    }

    async fn page(&self, page: &PageId) -> anyhow::Result<Option<HostPage>> {
        Ok(self.wiki().pages.get(page).cloned())
    }

    async fn access(&self, caller: Option<&Caller>, page: &PageId) -> anyhow::Result<Access> {
        let wiki = self.wiki();
        if !wiki.pages.contains_key(page) {
            return Ok(Access::None);
        }
        let of = |who: Option<String>| {
            wiki.grants
                .get(&(page.clone(), who))
                .copied()
                .unwrap_or(Access::None)
        };
        let anonymous = of(None);
        Ok(match caller {
            Some(caller) => of(Some(caller.id.as_str().to_owned())).max(anonymous),
            None => anonymous,
        })
    }

    async fn put_child_page(
        &self,
        parent: &PageId,
        child: ChildPage,
    ) -> anyhow::Result<PutOutcome> {
        let mut wiki = self.wiki();
        let Some(parent_page) = wiki.pages.get(parent) else {
            anyhow::bail!("no page {parent:?}");
        };
        let path = std::iter::once(parent_page.title.as_str())
            .chain(child.segments.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("/");
        let changed = wiki
            .children
            .iter()
            .rev()
            .find(|(p, c)| p == parent && c.segments == child.segments)
            .is_none_or(|(_, before)| before.markdown != child.markdown);
        wiki.children.push((parent.clone(), child));
        Ok(PutOutcome {
            url: format!("/pages/{path}"),
            path,
            changed,
        })
    }

    fn sign_in_url(&self, return_to: &str) -> String {
        let encoded: String =
            percent_encoding::utf8_percent_encode(return_to, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!("/login?return_to={encoded}")
    }

    fn acl_epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}

/// The plugin as a wiki runs it, on a [`TestHost`], a SQLite store in a
/// temporary directory and the in-process bus.
pub struct TestApp {
    /// The wiki: add pages and users, grant and revoke while tests run.
    pub host: Arc<TestHost>,
    state: AppState,
    /// Presence expiry and the transcript publisher, as a server runs them;
    /// stopped on drop.
    _background: crate::Background,
    /// The same store the state holds, with its maintenance side (pruning).
    store: Arc<SqliteStore>,
    /// Holds the database and uploads; removed on drop.
    _dir: tempfile::TempDir,
}

/// Posts a user may make per window in tests: high enough that no test
/// meets the rate limit unless it sets out to.
const TEST_POSTS_PER_WINDOW: u32 = 10_000;

impl TestApp {
    /// A fresh app with an empty wiki. Call it inside a tokio runtime: its
    /// background tasks start there.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_config(|_| {})
    }

    /// [`TestApp::new`] with settings changed by `tune` (a low limit to
    /// hit, a small quota) before the app is built.
    pub fn with_config(tune: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        Self::build(tempfile::tempdir()?, Arc::new(TestHost::new()), tune)
    }

    /// The same wiki and the same database, as after a restart: this app
    /// stops (its background work, its store's writer) and a new one opens
    /// what it left on disk.
    pub fn restart(self) -> anyhow::Result<Self> {
        let Self {
            host,
            state,
            _background,
            store,
            _dir: dir,
        } = self;
        drop(_background);
        drop((state, store));
        Self::build(dir, host, |_| {})
    }

    fn build(
        dir: tempfile::TempDir,
        host: Arc<TestHost>,
        tune: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let store = Arc::new(SqliteStore::open(&dir.path().join("chat.db"))?);
        let mut config = Config {
            files_dir: dir.path().join("files"),
            posts_per_window: TEST_POSTS_PER_WINDOW,
            ..Config::default()
        };
        tune(&mut config);
        let state = AppState::new(
            host.clone(),
            Arc::clone(&store) as _,
            Arc::new(LocalBus::new()),
            config,
        );
        let background = crate::start_background(&state);
        Ok(Self {
            host,
            state,
            _background: background,
            store,
            _dir: dir,
        })
    }

    /// The state the app serves, for checks behind the HTTP surface (the
    /// store, the blob store, the settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Every route the plugin serves, for `oneshot` requests.
    pub fn router(&self) -> Router {
        crate::app(self.state.clone())
    }

    /// Serves [`TestApp::router`] on a free loopback port until the returned
    /// server is dropped.
    pub async fn serve(&self) -> anyhow::Result<TestServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = self.router();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = ?e, "the test server stopped");
            }
        });
        Ok(TestServer { addr, task })
    }

    /// The room called `name` on `page`, created as placing the
    /// `{chat:name}` macro on the page would.
    pub async fn room(&self, page: &PageId, name: &str) -> anyhow::Result<RoomId> {
        let creator = UserId::new("system");
        Ok(self.state.store.ensure_room(page, name, &creator).await?.id)
    }

    /// Stores a message by `author` without publishing it: an event lost
    /// between nodes, which readers must refill from the store when the
    /// next seq shows them the gap. Returns its seq.
    pub async fn commit_unannounced(
        &self,
        room: &RoomId,
        author: &str,
        body: &str,
    ) -> anyhow::Result<u64> {
        let (message, _) = self
            .state
            .store
            .append(NewMessage {
                room: room.clone(),
                created_at: self.state.config.clock.now(),
                author: UserId::new(author),
                author_name: author.to_owned(),
                body: body.to_owned(),
                client_msg_id: format!("unannounced-{}", uuid::Uuid::new_v4().simple()),
                reply_to: None,
                mentions: Vec::new(),
                files: Vec::new(),
            })
            .await?;
        Ok(message.seq)
    }

    /// Retention run now: every room keeps only its newest message, so any
    /// older cursor is behind the retained history. Returns how many went.
    pub async fn prune_all_but_newest(&self) -> anyhow::Result<u64> {
        let later = self.state.config.clock.now() + chrono::TimeDelta::hours(1);
        self.store.prune(later).await
    }
}

/// A [`TestApp`] listening on loopback; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TestServer {
    /// `http://127.0.0.1:PORT`, for clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
