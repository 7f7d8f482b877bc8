//! One test suite for every wiki [`Store`]: each case takes an
//! `Arc<dyn Store>` and runs on SQLite (a temp dir) and PostgreSQL (a fresh
//! schema, dropped afterwards), so both backends keep the same semantics:
//! pages, revisions, moves, accounts, sessions, permissions, the ACL epoch
//! and search with its permission filtering.
//!
//! The harness is [`infra::suite`], as for the chat's store suite:
//! PostgreSQL comes from [`infra::services::postgres_url`], and when it
//! cannot be reached the PostgreSQL cases fail under `CI=true` and otherwise
//! print `SKIPPED: ... because ...` to stderr and pass.

// Test scaffolding: a failure here should panic the test that called it.
#![allow(clippy::unwrap_used)]

use super::{PostgresStore, SqliteStore, Store};
use crate::acl::{self, Permissions, Principal};
use crate::pages::{self, PagePath};
use crate::search;
use crate::users;
use infra::suite::on_fresh_schema;
use plugin::Access;
use std::future::Future;
use std::sync::Arc;

mod ids;

async fn on_sqlite<Fut: Future<Output = ()>>(case: impl FnOnce(Arc<dyn Store>, Reopen) -> Fut) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wiki.db");
    let store = SqliteStore::open(&path).unwrap();
    case(Arc::new(store), Reopen::Sqlite(path)).await;
}

async fn on_postgres<Fut: Future<Output = ()>>(case: impl FnOnce(Arc<dyn Store>, Reopen) -> Fut) {
    on_fresh_schema(
        "wiki store suite on postgres",
        "wiki_test",
        |url, schema| async move {
            let store = PostgresStore::connect_with_schema(&url, &schema)
                .await
                .unwrap();
            case(Arc::new(store), Reopen::Postgres(url, schema)).await;
        },
    )
    .await;
}

/// How a case opens the same data a second time (a restart, another node).
enum Reopen {
    Sqlite(std::path::PathBuf),
    Postgres(String, String),
}

impl Reopen {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Reopen::Sqlite(path) => Arc::new(SqliteStore::open(path).unwrap()),
            Reopen::Postgres(url, schema) => Arc::new(
                PostgresStore::connect_with_schema(url, schema)
                    .await
                    .unwrap(),
            ),
        }
    }
}

infra::store_suite!(
    reopening_migrates_once_and_keeps_data,
    put_creates_ancestors_and_records_only_changes,
    move_rewrites_the_subtree,
    passwords_verify_and_change,
    groups_and_membership,
    sessions_resolve_expire_and_end,
    cached_sessions_end_with_the_epoch,
    permissions_inherit_and_bump_the_epoch,
    child_pages_inherit_and_only_change_when_content_does,
    hostile_queries_run_without_errors,
    search_ranks_highlights_pages_and_filters,
);

fn path(s: &str) -> PagePath {
    PagePath::parse(s).unwrap()
}

async fn put(store: &dyn Store, at: &str, markdown: &str) -> pages::Written {
    pages::put(store, &path(at), None, markdown, "x")
        .await
        .unwrap()
}

async fn reopening_migrates_once_and_keeps_data(store: Arc<dyn Store>, reopen: Reopen) {
    let bootstrapped = crate::install::Install::bootstrap(store.as_ref())
        .await
        .unwrap();
    let password = bootstrapped.admin_password.unwrap();
    assert!(bootstrapped.created_welcome);
    store.set_setting("k", "v").await.unwrap();
    store.set_setting("k", "w").await.unwrap();
    drop(store);

    let store = reopen.open().await;
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("w"));
    let again = crate::install::Install::bootstrap(store.as_ref())
        .await
        .unwrap();
    assert_eq!(again, crate::install::Bootstrapped::default());
    let admin = users::verify(store.as_ref(), crate::install::ADMIN, &password)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_admin);
    assert_eq!(store.users().await.unwrap().len(), 1);
    let welcome = store
        .page_by_path(&path(pages::WELCOME))
        .await
        .unwrap()
        .unwrap();
    assert!(welcome.markdown.contains("{chat:Lobby}"));
    assert_eq!(welcome.title, "Welcome");
}

async fn put_creates_ancestors_and_records_only_changes(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    let leaf = pages::put(store, &path("A/B/C"), Some("Leaf"), "hello", "alice")
        .await
        .unwrap();
    assert!(leaf.created && leaf.changed);
    let b = store.page_by_path(&path("A/B")).await.unwrap().unwrap();
    assert_eq!(b.title, "B");
    assert_eq!(b.markdown, "");
    let c = store.page_by_id(leaf.id).await.unwrap().unwrap();
    assert_eq!(c.parent_id, Some(b.id));
    assert_eq!(c.title, "Leaf");
    let titles: Vec<_> = pages::ancestors(store, &c)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(titles, ["A", "B"]);

    let again = pages::put(store, &path("A/B/C"), None, "hello", "bob")
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(store.revisions(leaf.id, None, 10).await.unwrap().len(), 1);
    let edit = pages::put(store, &path("A/B/C"), Some("  "), "hello again", "bob")
        .await
        .unwrap();
    assert!(edit.changed && !edit.created);
    let history = store.revisions(leaf.id, None, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].author, "bob");
    assert_eq!(history[0].bytes, "hello again".len() as i64);
    assert_eq!(
        history[0].title, "Leaf",
        "a blank title keeps the current one"
    );
    let first = store
        .revision(leaf.id, history[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.markdown, "hello");

    // Children sort by title, case-insensitively; new pages take their
    // parent's time zone.
    pages::set_time_zone(store, b.id, "Europe/Berlin")
        .await
        .unwrap();
    assert!(pages::set_time_zone(store, b.id, "Mars/Olympus")
        .await
        .is_err());
    pages::put(store, &path("A/B/d"), Some("delta"), "", "x")
        .await
        .unwrap();
    let kids: Vec<_> = store
        .children(b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.title, p.time_zone))
        .collect();
    assert_eq!(
        kids,
        [
            ("delta".to_owned(), "Europe/Berlin".to_owned()),
            ("Leaf".to_owned(), "UTC".to_owned())
        ]
    );
    let roots: Vec<_> = store
        .roots()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(roots, ["A"]);

    // A batch writes in order, in one transaction.
    let batch = vec![
        super::PageWrite {
            path: path("Batch/One"),
            title: None,
            markdown: "one".into(),
            keep: super::Keep::All,
        },
        super::PageWrite {
            path: path("Batch/One"),
            title: None,
            markdown: "one, again".into(),
            keep: super::Keep::All,
        },
    ];
    let written = store.put_pages(batch, "import").await.unwrap();
    assert!(written[0].created && !written[1].created && written[1].changed);
}

async fn move_rewrites_the_subtree(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    put(store, "A/B/C", "c").await;
    put(store, "AB", "not in the subtree").await;
    let before = store.acl_epoch().await.unwrap();
    let b = store.page_by_path(&path("A/B")).await.unwrap().unwrap();
    store.move_page(b.id, &path("Z/Y"), "x").await.unwrap();
    assert!(store.acl_epoch().await.unwrap() > before);
    assert!(store.page_by_path(&path("A/B/C")).await.unwrap().is_none());
    let moved = store.page_by_path(&path("Z/Y/C")).await.unwrap().unwrap();
    assert_eq!(moved.markdown, "c");
    assert!(store.page_by_path(&path("AB")).await.unwrap().is_some());
    let y = store.page_by_path(&path("Z/Y")).await.unwrap().unwrap();
    let z = store.page_by_path(&path("Z")).await.unwrap().unwrap();
    assert_eq!(y.parent_id, Some(z.id));
    assert!(store.move_page(y.id, &path("Z/Y/C/D"), "x").await.is_err());
    assert!(store.move_page(y.id, &path("AB"), "x").await.is_err());
    assert!(store.delete_page(y.id).await.is_err());
    store.delete_page(moved.id).await.unwrap();
    store.delete_page(y.id).await.unwrap();
    assert!(store.page_by_id(y.id).await.unwrap().is_none());

    // Paths are rewritten by characters, not bytes.
    put(store, "Café/Menü", "m").await;
    let cafe = store.page_by_path(&path("Café")).await.unwrap().unwrap();
    store
        .move_page(cafe.id, &path("Bistro"), "x")
        .await
        .unwrap();
    let menu = store
        .page_by_path(&path("Bistro/Menü"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(menu.markdown, "m");
}

async fn passwords_verify_and_change(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    users::create(store, "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let verify = |name: &'static str, password: &'static str| async move {
        users::verify(store, name, password)
            .await
            .unwrap()
            .is_some()
    };
    assert!(verify("alice", "correct horse").await);
    assert!(verify("ALICE", "correct horse").await);
    assert!(!verify("alice", "wrong password").await);
    assert!(!verify("bob", "correct horse").await);
    let user = store.user("alice").await.unwrap().unwrap();
    let token = crate::sessions::create(store, user.id, crate::sessions::Kind::Browser, "")
        .await
        .unwrap();
    users::set_password(store, "alice", "battery staple")
        .await
        .unwrap();
    assert!(!verify("alice", "correct horse").await);
    assert!(verify("alice", "battery staple").await);
    assert!(store.session(&token).await.unwrap().is_none(), "signed out");
    assert!(users::set_password(store, "nobody", "battery staple")
        .await
        .is_err());
    assert!(users::create(store, "Alice", "whatever123", false, &[])
        .await
        .is_err());
    assert!(users::create(store, "bad name", "whatever123", false, &[])
        .await
        .is_err());
    assert!(users::create(store, "short", "1234567", false, &[])
        .await
        .is_err());
    assert!(!store.any_admin().await.unwrap());
}

async fn groups_and_membership(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    users::create(store, "bob", "correct horse", false, &["crew".into()])
        .await
        .unwrap();
    users::create(store, "alice", "correct horse", true, &[])
        .await
        .unwrap();
    assert!(store.any_admin().await.unwrap());
    users::add_to_group(store, "alice", "team").await.unwrap();
    users::add_to_group(store, "alice", "team").await.unwrap();
    users::add_member(store, "alice", "Crew").await.unwrap();
    assert!(users::add_member(store, "alice", "nope").await.is_err());
    assert!(users::create_group(store, "TEAM").await.is_err());
    users::create_group(store, "empty").await.unwrap();
    let alice = users::member(store, "Alice").await.unwrap().unwrap();
    assert_eq!(alice.groups, ["crew", "team"]);
    assert_eq!(store.groups().await.unwrap(), ["crew", "empty", "team"]);
    assert_eq!(
        store.members_of("crew").await.unwrap().unwrap(),
        ["alice", "bob"]
    );
    assert_eq!(store.members_of("nope").await.unwrap(), None);
    let listed: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.name, m.groups.len()))
        .collect();
    assert_eq!(listed, [("alice".to_owned(), 2), ("bob".to_owned(), 1)]);
    store.remove_from_group("alice", "team").await.unwrap();
    assert_eq!(store.groups_of(alice.user.id).await.unwrap(), ["crew"]);
    assert!(store.remove_from_group("alice", "nope").await.is_err());
    assert!(store.remove_from_group("nobody", "crew").await.is_err());
}

async fn sessions_resolve_expire_and_end(store: Arc<dyn Store>, _: Reopen) {
    use axum::http::{header, HeaderMap, HeaderValue};
    let epoch = crate::acl::Epoch::default();
    let sessions = crate::sessions::Sessions::new(Arc::clone(&store), epoch.clone());
    let store = store.as_ref();
    let user = users::create(store, "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let token = crate::sessions::create(store, user.id, crate::sessions::Kind::Browser, "")
        .await
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_str(&format!("x=1; {}={token}", crate::sessions::COOKIE)).unwrap(),
    );
    let session = sessions.authenticate(&headers).await.unwrap();
    assert_eq!(session.member.user.name, "alice");
    assert!(session.csrf_token.is_some());

    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let session = sessions.authenticate(&headers).await.unwrap();
    assert_eq!(session.csrf_token, None);
    store.delete_session(&token).await.unwrap();
    epoch.refresh(store).await;
    assert!(sessions.authenticate(&headers).await.is_none());

    // An expired session is refused and removed.
    store
        .insert_session(super::NewSession {
            token: "old".into(),
            user_id: user.id,
            csrf_token: "c".into(),
            kind: "browser",
            label: String::new(),
            created_at: "2020-01-01T00:00:00Z".into(),
            expires_at: Some("2020-01-31T00:00:00Z".into()),
        })
        .await
        .unwrap();
    assert!(crate::sessions::lookup(store, "old", true)
        .await
        .unwrap()
        .is_none());
    assert!(store.session("old").await.unwrap().is_none());
}

/// Two nodes' session caches over one database: a token ended on one node
/// stops working on the other once it sees the epoch move.
async fn cached_sessions_end_with_the_epoch(store: Arc<dyn Store>, _: Reopen) {
    use crate::sessions::{self, Sessions};
    use axum::http::{header, HeaderMap, HeaderValue};
    let user = users::create(store.as_ref(), "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let token = sessions::create(store.as_ref(), user.id, sessions::Kind::Api, "")
        .await
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (here, there) = (crate::acl::Epoch::default(), crate::acl::Epoch::default());
    here.refresh(store.as_ref()).await;
    there.refresh(store.as_ref()).await;
    let this_node = Sessions::new(Arc::clone(&store), here.clone());
    let other_node = Sessions::new(Arc::clone(&store), there.clone());
    for node in [&this_node, &other_node] {
        let session = node.authenticate(&headers).await.unwrap();
        assert_eq!(session.member.user.name, "alice");
        assert_eq!(session.csrf_token, None);
    }

    let before = store.acl_epoch().await.unwrap();
    store.delete_session(&token).await.unwrap();
    assert!(
        store.acl_epoch().await.unwrap() > before,
        "ending a session bumps the epoch"
    );
    this_node.forget(&token);
    assert!(this_node.authenticate(&headers).await.is_none());
    // Until it polls the epoch the other node still answers from its cache...
    assert!(other_node.authenticate(&headers).await.is_some());
    there.refresh(store.as_ref()).await;
    // ...and not after.
    assert!(other_node.authenticate(&headers).await.is_none());
}

async fn permissions_inherit_and_bump_the_epoch(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    users::create(store, "alice", "correct horse", false, &["team".into()])
        .await
        .unwrap();
    users::create(store, "bob", "correct horse", false, &[])
        .await
        .unwrap();
    let alice = users::member(store, "alice").await.unwrap();
    let bob = users::member(store, "bob").await.unwrap();
    let team = put(store, "Team", "").await;
    let deep = put(store, "Team/Plans/Q1", "").await;
    let open = put(store, "Open", "").await;
    assert_eq!(
        store.permissions(team.id).await.unwrap(),
        Permissions {
            inherit: true,
            view: vec![],
            edit: vec![]
        }
    );
    let before = store.acl_epoch().await.unwrap();
    let rules = Permissions {
        inherit: false,
        view: vec![
            Principal::Group("team".into()),
            Principal::User("bob".into()),
        ],
        edit: vec![Principal::User("alice".into())],
    };
    store.set_permissions(team.id, &rules).await.unwrap();
    assert!(store.acl_epoch().await.unwrap() > before);
    let stored = store.permissions(team.id).await.unwrap();
    assert!(!stored.inherit);
    assert_eq!(stored.edit, rules.edit);
    assert_eq!(stored.view.len(), 2);

    let access = |who: Option<users::Member>, id: i64| async move {
        acl::access(store, who.as_ref(), id).await.unwrap()
    };
    assert_eq!(access(alice.clone(), deep.id).await, Access::Write);
    assert_eq!(access(bob.clone(), deep.id).await, Access::Read);
    assert_eq!(access(None, deep.id).await, Access::None);
    assert_eq!(access(None, open.id).await, Access::Read);
    assert_eq!(access(bob.clone(), open.id).await, Access::Write);

    // The bulk map used by search agrees with the per-page answer.
    for who in [alice.clone(), bob.clone(), None] {
        let mut map = store.access_map().await.unwrap();
        for id in [team.id, deep.id, open.id] {
            assert_eq!(
                map.access(who.as_ref(), id),
                access(who.clone(), id).await,
                "page {id}"
            );
        }
        assert_eq!(map.access(who.as_ref(), 999_999), Access::None);
    }

    // A target below an existing page resolves to the nearest ancestor.
    let target = acl::target(store, bob.as_ref(), &path("Team/Plans/Q2/Week 1"))
        .await
        .unwrap();
    assert!(target.page.is_none());
    assert_eq!(target.access, Access::Read);

    // Inheriting again restores the site defaults below.
    store
        .set_permissions(
            team.id,
            &Permissions {
                inherit: true,
                ..rules
            },
        )
        .await
        .unwrap();
    assert_eq!(access(None, deep.id).await, Access::Read);
}

async fn child_pages_inherit_and_only_change_when_content_does(store: Arc<dyn Store>, _: Reopen) {
    use crate::host::WikiHost;
    use plugin::{ChildPage, Host as _};
    use protocol::PageId;
    users::create(store.as_ref(), "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let bob = users::create(store.as_ref(), "bob", "correct horse", false, &[])
        .await
        .unwrap();
    let written = put(store.as_ref(), "Team", "").await;
    store
        .set_permissions(
            written.id,
            &Permissions {
                inherit: false,
                view: vec![Principal::User("bob".into())],
                edit: vec![],
            },
        )
        .await
        .unwrap();
    let token = crate::sessions::create(store.as_ref(), bob.id, crate::sessions::Kind::Browser, "")
        .await
        .unwrap();
    let host = WikiHost::new(Arc::clone(&store));
    let parent = PageId::new(written.id.to_string());
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

    let leaf = store
        .page_by_path(&path("Team/Chat/Lobby-x/2026-11-22"))
        .await
        .unwrap()
        .unwrap();
    let leaf_id = PageId::new(leaf.id.to_string());
    let page = host.page(&leaf_id).await.unwrap().unwrap();
    assert_eq!(page.url, "/pages/Team/Chat/Lobby-x/2026-11-22");
    assert_eq!(page.title, "Lobby 2026-11-22");

    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("bc_session={token}").parse().unwrap(),
    );
    let caller = host.caller(&headers).await.unwrap();
    assert_eq!(caller.id.as_str(), "bob");
    assert_eq!(
        host.access(Some(&caller), &leaf_id).await.unwrap(),
        Access::Read
    );
    assert_eq!(host.access(None, &leaf_id).await.unwrap(), Access::None);
    assert_eq!(
        host.access(None, &PageId::new("999")).await.unwrap(),
        Access::None
    );
    assert!(host
        .sign_in_url("/rooms/x?a=b")
        .starts_with("/login?return_to=%2Frooms"));
}

async fn hostile_queries_run_without_errors(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    put(store, "A", "alpha beta \"gamma\" the who").await;
    for q in [
        "\"",
        "NEAR(",
        "alpha AND",
        "a:b",
        "*",
        "^alpha",
        "alpha\0",
        "{}",
        "'; DROP",
        "\"alpha beta\"",
        "ALPHA",
        "alph*",
        "o'neil*",
        "a\\b*",
        "!alpha | beta",
        "<->",
        ":*",
    ] {
        search::search(store, None, q, 1).await.unwrap();
    }
    let total =
        |q: &'static str| async move { search::search(store, None, q, 1).await.unwrap().total };
    assert_eq!(total("\"alpha beta\"").await, 1);
    assert_eq!(total("\"beta alpha\"").await, 0);
    assert_eq!(total("alph*").await, 1);
    assert_eq!(total("gamma").await, 1);
    assert_eq!(total("ALPHA").await, 1);
    // Common words are words like any other (no stop-word list).
    assert_eq!(total("the who").await, 1);
    assert_eq!(total("alpha missing").await, 0, "every term must match");
    put(store, "B", "we deployed it").await;
    assert_eq!(total("deploys").await, 1);
}

async fn search_ranks_highlights_pages_and_filters(store: Arc<dyn Store>, _: Reopen) {
    let store = store.as_ref();
    users::create(store, "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let alice = users::member(store, "alice").await.unwrap();
    // More matches than one result page holds.
    for n in 0..25 {
        put(
            store,
            &format!("Notes/Note {n:02}"),
            &format!("a note about the rocket, number {n}"),
        )
        .await;
    }
    pages::put(
        store,
        &path("Rocket"),
        Some("Rocket"),
        "<b>all</b> about it & more",
        "x",
    )
    .await
    .unwrap();
    let secret = put(store, "Secret/Rocket plans", "rocket launchcodes").await;
    let parent = store.page_by_path(&path("Secret")).await.unwrap().unwrap();
    store
        .set_permissions(
            parent.id,
            &Permissions {
                inherit: false,
                view: vec![Principal::User("alice".into())],
                edit: vec![],
            },
        )
        .await
        .unwrap();

    let first = search::search(store, None, "rocket", 1).await.unwrap();
    assert_eq!(first.total, 26, "the restricted page is never counted");
    assert_eq!(first.results.len(), search::PER_PAGE);
    assert_eq!(first.results[0].path, "Rocket", "the title hit ranks first");
    assert_eq!(first.results[0].url, "/pages/Rocket");
    let body_hit = &first.results[1];
    assert!(
        body_hit.snippet.contains("<mark>rocket</mark>"),
        "{}",
        body_hit.snippet
    );
    assert!(
        first.results[0].snippet.contains("&lt;b&gt;all&lt;/b&gt;"),
        "page text is escaped: {}",
        first.results[0].snippet
    );
    assert!(!first
        .results
        .iter()
        .any(|hit| hit.path.starts_with("Secret")));
    let second = search::search(store, None, "rocket", 2).await.unwrap();
    assert_eq!(second.results.len(), 26 - search::PER_PAGE);
    let mut seen: Vec<_> = first
        .results
        .iter()
        .chain(&second.results)
        .map(|hit| hit.path.clone())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 26, "pages do not overlap");
    let past = search::search(store, None, "rocket", 9).await.unwrap();
    assert_eq!((past.total, past.results.len()), (26, 0));

    let theirs = search::search(store, alice.as_ref(), "launchcodes", 1)
        .await
        .unwrap();
    assert_eq!(theirs.total, 1);
    assert_eq!(theirs.results[0].path, "Secret/Rocket plans");
    assert!(theirs.results[0]
        .snippet
        .contains("<mark>launchcodes</mark>"));
    assert_eq!(
        search::search(store, None, "launchcodes", 1)
            .await
            .unwrap()
            .total,
        0
    );
    let phrase = search::search(store, None, "\"number 7\"", 1)
        .await
        .unwrap();
    assert_eq!(phrase.total, 1);
    assert_eq!(phrase.results[0].path, "Notes/Note 07");

    // Edits and deletes reach the index in the same transaction.
    store.delete_page(secret.id).await.unwrap();
    assert_eq!(
        search::search(store, alice.as_ref(), "launchcodes", 1)
            .await
            .unwrap()
            .total,
        0
    );
    put(store, "Notes/Note 00", "now about kites").await;
    assert_eq!(
        search::search(store, None, "kites", 1).await.unwrap().total,
        1
    );
    assert_eq!(
        search::search(store, None, "rocket", 1)
            .await
            .unwrap()
            .total,
        25
    );
}
