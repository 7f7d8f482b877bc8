//! Search over an imported tree of 2,000 pages: ranking (title hits first),
//! highlighted and escaped snippets, phrase and prefix queries, pagination,
//! hostile syntax, and a restricted page that never shows up, not even in a
//! count. The 10,000-page acceptance run, imported through the real
//! `backchannel page import`, is `search_scale.rs`.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{enc, get, json, session_cookie, start};
use serde_json::{json, Value};
use wiki::acl::{Permissions, Principal};
use wiki::pages::PagePath;

const PAGES: usize = 2_000;

/// Writes the markdown tree to import.
fn write_tree(root: &std::path::Path) {
    let words = [
        "apple", "harbor", "lantern", "meadow", "quartz", "violet", "walnut", "zephyr",
    ];
    for i in 0..PAGES {
        let area = root.join(format!("Area {}", i % 20));
        std::fs::create_dir_all(&area).unwrap();
        let a = words[i % words.len()];
        let b = words[(i / 8) % words.len()];
        let mut text = format!("# Topic {i}\n\nCommon text about {a} and {b}. Item number n{i}.\n");
        if i % 100 == 7 {
            text.push_str("Someone mentioned a rocket in passing.\n");
        }
        if i == 42 {
            text.push_str("The blue green sea.\n");
        }
        if i == 43 {
            text.push_str("The green blue sky.\n");
        }
        if i == 44 {
            text.push_str("A rocket <script>alert(1)</script> & more.\n");
        }
        std::fs::write(area.join(format!("Topic {i}.md")), text).unwrap();
    }
    std::fs::write(
        root.join("Rocket Launch.md"),
        "Countdown notes. Common text.\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("Secret")).unwrap();
    std::fs::write(
        root.join("Secret/Rocket Secrets.md"),
        "rocket rocket rocket: the common secret, blue green too.\n",
    )
    .unwrap();
}

async fn search(router: &axum::Router, q: &str, page: usize, cookie: Option<&str>) -> Value {
    let reply = json(
        router,
        "GET",
        &format!("/api/search?q={}&page={page}", enc(q)),
        cookie,
        json!(null),
    )
    .await;
    assert_eq!(reply.status, 200, "{q}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

fn paths(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_over_imported_pages_is_ranked_highlighted_paged_and_filtered() {
    let wiki = start();
    let router = &wiki.parts.router;
    let source = tempfile::tempdir().unwrap();
    write_tree(source.path());
    let store = wiki.parts.wiki.store.as_ref();
    let under = PagePath::parse("Docs").unwrap();
    let imported = wiki::import::import_dir(store, source.path(), Some(&under), |_, _| {})
        .await
        .unwrap();
    assert_eq!(imported.created, PAGES + 2);
    let secret = store
        .page_by_path(&PagePath::parse("Docs/Secret").unwrap())
        .await
        .unwrap()
        .unwrap();
    let only_admin = Permissions {
        inherit: false,
        view: vec![Principal::User("admin".into())],
        edit: vec![],
    };
    store.set_permissions(secret.id, &only_admin).await.unwrap();
    let admin = session_cookie(&wiki, "admin").await;

    // Ranking: the title hit first, then the body hits; the restricted page
    // (which says "rocket" three times) only for the admin.
    let rockets = search(router, "rocket", 1, None).await;
    let found = paths(&rockets);
    assert_eq!(found[0], "Docs/Rocket Launch", "{found:?}");
    assert_eq!(rockets["total"], json!(1 + PAGES / 100 + 1), "{rockets}");
    assert!(found.iter().all(|p| !p.contains("Secret")), "{found:?}");
    let as_admin = search(router, "rocket", 1, Some(&admin)).await;
    assert_eq!(as_admin["total"], json!(1 + PAGES / 100 + 2));
    assert!(paths(&as_admin).contains(&"Docs/Secret/Rocket Secrets".to_owned()));

    // Highlighting marks the hit and escapes the page text around it.
    let both = search(router, "rocket alert", 1, None).await;
    let hit = &both["results"][0];
    assert_eq!(hit["path"], "Docs/Area 4/Topic 44");
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>rocket</mark>"), "{snippet}");
    assert!(
        snippet.contains("&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp; more"),
        "{snippet}"
    );
    assert!(!snippet.contains("<script>"), "{snippet}");
    assert_eq!(hit["url"], "/pages/Docs/Area%204/Topic%2044");

    // Phrases keep their word order; a bare word pair does not.
    let phrase = search(router, "\"blue green\"", 1, None).await;
    assert_eq!(paths(&phrase), ["Docs/Area 2/Topic 42"], "{phrase}");
    assert!(
        phrase["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>blue green</mark>"),
        "{phrase}"
    );
    let words = search(router, "blue green", 1, None).await;
    assert_eq!(words["total"], json!(2), "{words}");
    let admin_phrase = search(router, "\"blue green\"", 1, Some(&admin)).await;
    assert_eq!(admin_phrase["total"], json!(2));
    // Prefixes and single items.
    assert_eq!(search(router, "n1999", 1, None).await["total"], json!(1));
    assert_eq!(search(router, "countd*", 1, None).await["total"], json!(1));

    // Pagination: every visible page exactly once, 20 at a time; the
    // restricted one is in no page and not in the count.
    let first = search(router, "common", 1, None).await;
    let total = PAGES + 1;
    assert_eq!(first["total"], json!(total));
    assert_eq!(first["per_page"], json!(20));
    let mut seen = std::collections::HashSet::new();
    let last_page = total.div_ceil(20);
    for page in [1, 2, 50, last_page] {
        let answer = search(router, "common", page, None).await;
        let got = paths(&answer);
        let expected = if page == last_page {
            total - 20 * (last_page - 1)
        } else {
            20
        };
        assert_eq!(got.len(), expected, "page {page}");
        for path in got {
            assert!(!path.contains("Secret"));
            assert!(seen.insert(path), "a result repeated on page {page}");
        }
    }
    let beyond = search(router, "common", last_page + 1, None).await;
    assert_eq!(
        (beyond["total"].clone(), paths(&beyond).len()),
        (json!(total), 0)
    );
    assert_eq!(
        search(router, "common", 1, Some(&admin)).await["total"],
        json!(total + 1)
    );

    // Users' syntax never breaks the query.
    for q in [
        "\"unbalanced",
        "AND OR (",
        "NEAR(a b)",
        "col:on",
        "*",
        "rocket\u{0}",
        "\u{e000}rocket",
    ] {
        let answer = search(router, q, 1, None).await;
        assert!(answer["total"].is_u64(), "{q}");
    }
    let odd = json(
        router,
        "GET",
        "/api/search?q=rocket&page=x",
        None,
        json!(null),
    )
    .await;
    assert_eq!(odd.status, 200);

    // The HTML page: search box, results, pager, escaped query.
    let html = get(router, "/search?q=common&page=2", None).await;
    assert_eq!(html.status, 200);
    assert!(
        html.body
            .contains(&format!("{total} page(s) match; showing 21–40.")),
        "{}",
        html.body
    );
    assert!(
        html.body
            .contains(r#"rel="next" href="/search?q=common&amp;page=3""#),
        "{}",
        html.body
    );
    assert!(html.body.contains(r#"rel="prev""#));
    let hostile = get(router, "/search?q=%3Cscript%3Ex%3C%2Fscript%3E", None).await;
    assert_eq!(hostile.status, 200);
    assert!(!hostile.body.contains("<script>x"), "{}", hostile.body);
    assert!(hostile.body.contains("No pages match"), "{}", hostile.body);
    let home = get(router, "/", None).await;
    assert!(
        home.body.contains(r#"action="/search""#),
        "the header has a search box"
    );

    // Edits, moves and deletes keep the index in sync.
    let cookie = admin.as_str();
    let put = json(
        router,
        "PUT",
        "/api/pages/Docs/Rocket%20Launch",
        Some(cookie),
        json!({"markdown": "now about kites"}),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(search(router, "kites", 1, None).await["total"], json!(1));
    assert_eq!(
        search(router, "countdown", 1, None).await["total"],
        json!(0)
    );
    let store = wiki.parts.wiki.store.as_ref();
    let page = store
        .page_by_path(&PagePath::parse("Docs/Rocket Launch").unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .move_page(
            page.id,
            &PagePath::parse("Elsewhere/Kites").unwrap(),
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(
        paths(&search(router, "kites", 1, None).await),
        ["Elsewhere/Kites"]
    );
    let gone = json(
        router,
        "DELETE",
        "/api/pages/Elsewhere/Kites",
        Some(cookie),
        json!(null),
    )
    .await;
    assert_eq!(gone.status, 204);
    assert_eq!(search(router, "kites", 1, None).await["total"], json!(0));
}

/// Finding 7 (issue 17): the snippet cutter stepped one byte past a
/// multi-byte space (`start = space + 1` after `rfind(char::is_whitespace)`),
/// so a page whose words are joined by U+00A0 (or any non-ASCII space)
/// before a hit turned every search that found it into a 500.
#[tokio::test]
async fn multi_byte_spaces_before_a_hit_still_answer_with_a_snippet() {
    let wiki = start();
    let router = &wiki.parts.router;
    let admin = session_cookie(&wiki, "admin").await;
    let spaces = ["\u{a0}", "\u{2003}", "\u{3000}", "\u{2028}", " \u{a0} "];
    for (i, space) in spaces.iter().enumerate() {
        let words: Vec<String> = (0..30).map(|w| format!("wörd{w}")).collect();
        let markdown = format!(
            "{}{space}zeppelin{i}{space}{}",
            words.join(space),
            words.join(space)
        );
        let put = json(
            router,
            "PUT",
            &format!("/api/pages/Spaces/Page{i}"),
            Some(&admin),
            json!({ "markdown": markdown }),
        )
        .await;
        assert!(put.status.is_success(), "{}", put.body);

        let answer = search(router, &format!("zeppelin{i}"), 1, None).await;
        assert_eq!(answer["total"], json!(1), "{space:?}: {answer}");
        let snippet = answer["results"][0]["snippet"].as_str().unwrap();
        assert!(
            snippet.contains(&format!("<mark>zeppelin{i}</mark>")),
            "{space:?}: {snippet}"
        );
        assert!(
            snippet.starts_with('…') && snippet.ends_with('…'),
            "{snippet}"
        );
        let html = get(router, &format!("/search?q=zeppelin{i}"), None).await;
        assert_eq!(html.status, 200, "{space:?}: {}", html.body);
        assert!(html.body.contains(&format!("<mark>zeppelin{i}</mark>")));
    }
}
