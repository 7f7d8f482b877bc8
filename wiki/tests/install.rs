//! What a fresh install opens to whom.

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

mod common;

/// Finding 12: a fresh install used to make every page public to anonymous
/// readers; now its pages are for signed-in users until the operator runs
/// `backchannel site readers anonymous`.
#[tokio::test]
async fn a_fresh_install_is_readable_by_signed_in_users_only() {
    let dir = tempfile::tempdir().unwrap();
    let install = wiki::install::Install::at(dir.path()).unwrap();
    let store = install.wiki_store(None).await.unwrap();
    let done = wiki::install::Install::bootstrap(store.as_ref())
        .await
        .unwrap();
    assert_eq!(done.site_readers, Some("signed-in"));
    let welcome = store
        .page_by_path(&wiki::pages::PagePath::parse(wiki::pages::WELCOME).unwrap())
        .await
        .unwrap()
        .unwrap();
    let admin = wiki::users::member(store.as_ref(), "admin").await.unwrap();
    let access = |who| {
        let store = store.clone();
        async move {
            wiki::acl::access(store.as_ref(), who, welcome.id)
                .await
                .unwrap()
        }
    };
    assert_eq!(access(None).await, plugin::Access::None, "not public");
    wiki::users::create(store.as_ref(), "alice", "correct horse", false, &[])
        .await
        .unwrap();
    let alice = wiki::users::member(store.as_ref(), "alice").await.unwrap();
    assert_eq!(access(alice.as_ref()).await, plugin::Access::Write);
    assert_eq!(access(admin.as_ref()).await, plugin::Access::Admin);

    // Opening it up, as `backchannel site readers anonymous` does.
    store
        .set_setting(wiki::install::SITE_READERS_KEY, "anonymous")
        .await
        .unwrap();
    assert_eq!(access(None).await, plugin::Access::Read);
    let mut map = store.access_map().await.unwrap();
    assert_eq!(map.access(None, welcome.id), plugin::Access::Read);
}

/// On a private site a stranger opening the front page (or any page,
/// missing or hidden alike) is sent to sign in and brought back, rather
/// than told "Page not found" on the first visit to a fresh install.
#[tokio::test]
async fn a_private_site_sends_strangers_to_sign_in() {
    let wiki = common::start();
    let router = &wiki.parts.router;
    // `common::start` opens the site to anonymous readers; close it again,
    // as a fresh install is.
    wiki.parts
        .wiki
        .store
        .set_setting(wiki::install::SITE_READERS_KEY, "signed-in")
        .await
        .unwrap();
    for (uri, back) in [
        ("/", "%2F"),
        ("/pages/Welcome", "%2Fpages%2FWelcome"),
        ("/pages/No/Such/Page", "%2Fpages%2FNo%2FSuch%2FPage"),
    ] {
        let reply = common::get(router, uri, None).await;
        assert_eq!(reply.status, 303, "{uri}: {}", reply.body);
        assert_eq!(
            reply.location(),
            Some(format!("/login?return_to={back}").as_str()),
            "{uri}"
        );
    }
    // Signed in, the front page shows.
    let cookie = common::session_cookie(&wiki, "admin").await;
    assert_eq!(common::status_of(router, "/", Some(&cookie)).await, 200);
}
