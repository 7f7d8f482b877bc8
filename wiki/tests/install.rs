//! What a fresh install opens to whom.

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

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
