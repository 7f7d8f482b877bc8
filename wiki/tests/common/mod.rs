//! A wiki on a temporary data directory, driven in-process with `oneshot`.

#![allow(dead_code)]
// Test scaffolding: a failure here should panic the test that called it.
#![allow(clippy::unwrap_used)]

pub mod http;
pub mod publishing;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use std::sync::Arc;
use tower::ServiceExt as _;
use wiki::install::Install;
use wiki::store::Store;
use wiki::web::{self, Parts};

pub struct TestWiki {
    pub dir: tempfile::TempDir,
    pub parts: Parts,
    pub admin_password: String,
    /// The chat's background tasks, stopped when the test's wiki is dropped.
    pub background: plugin::Background,
}

/// A freshly bootstrapped install and its router.
pub fn start() -> TestWiki {
    start_with(|_| {})
}

/// [`start`] with the chat's configuration changed by `configure` first.
pub fn start_with(configure: impl FnOnce(&mut plugin::Config)) -> TestWiki {
    start_configured(configure, wiki::edge::Edge::default())
}

/// [`start`] reached as `edge` says (public URL, trusted proxies, hosts).
pub fn start_with_edge(edge: wiki::edge::Edge) -> TestWiki {
    start_configured(|_| {}, edge)
}

/// [`start`] with both the chat's configuration and the edge chosen.
pub fn start_configured(
    configure: impl FnOnce(&mut plugin::Config),
    edge: wiki::edge::Edge,
) -> TestWiki {
    let dir = tempfile::tempdir().unwrap();
    let install = Install::at(dir.path()).unwrap();
    let store: Arc<dyn Store> =
        Arc::new(wiki::store::SqliteStore::open(&install.wiki_db_path()).unwrap());
    // `start` is synchronous (every test calls it before its first await),
    // so the async bootstrap runs to completion on a runtime of its own.
    let bootstrap_store = Arc::clone(&store);
    let admin_password = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let done = Install::bootstrap(bootstrap_store.as_ref()).await;
                // These tests were written for a public wiki; a fresh
                // install is private (see `wiki::install`), so open it as
                // `backchannel site readers anonymous` would.
                bootstrap_store
                    .set_setting(wiki::install::SITE_READERS_KEY, "anonymous")
                    .await
                    .unwrap();
                done
            })
    })
    .join()
    .unwrap()
    .unwrap()
    .admin_password
    .unwrap();
    let chat_store = plugin::SqliteStore::open(&install.chat_db_path()).unwrap();
    let mut config = wiki::backends::chat_config(&install);
    configure(&mut config);
    let parts = web::app_with_edge(
        store,
        Arc::new(chat_store),
        Arc::new(plugin::LocalBus::new()),
        config,
        edge,
    )
    .unwrap();
    let background = plugin::start_background(&parts.plugin);
    TestWiki {
        dir,
        parts,
        admin_password,
        background,
    }
}

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value the response set for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let pair = c.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION)?.to_str().ok()
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub async fn get(router: &Router, uri: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

pub async fn post_form(router: &Router, uri: &str, cookie: Option<&str>, form: &str) -> Reply {
    let mut request =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::from(form.to_owned())).unwrap()).await
}

/// A `bc_session` cookie header for a new browser session of `name`.
pub async fn session_cookie(wiki: &TestWiki, name: &str) -> String {
    let store = wiki.parts.wiki.store.as_ref();
    let user = store.user(name).await.unwrap().unwrap();
    let token = wiki::sessions::create(store, user.id, wiki::sessions::Kind::Browser, "")
        .await
        .unwrap();
    format!("{}={token}", wiki::sessions::COOKIE)
}

/// The id of the first chat room a page's HTML shows (its macro table).
pub fn first_room(html: &str) -> String {
    html.split(r#"data-room=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no chat room on the page: {html}"))
        .to_owned()
}

/// Percent-encodes a form value.
pub fn enc(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A JSON request (`PUT`, `POST`, `DELETE`...) with an optional cookie.
pub async fn json(
    router: &Router,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    body: serde_json::Value,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::from(body.to_string())).unwrap()).await
}

/// Creates a user with password "correct horse" in `groups`.
pub async fn add_user(wiki: &TestWiki, name: &str, groups: &[&str]) {
    let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
    wiki::users::create(
        wiki.parts.wiki.store.as_ref(),
        name,
        "correct horse",
        false,
        &groups,
    )
    .await
    .unwrap();
}

/// The value of the first `name="csrf"` field in an HTML page.
pub fn csrf_in(html: &str) -> String {
    html.split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned()
}

/// The session's CSRF token, read from the layout's sign-out form.
pub async fn csrf_of(router: &Router, cookie: &str) -> String {
    csrf_in(&get(router, "/", Some(cookie)).await.body)
}

/// Only the status of a response (for streams whose body never ends).
pub async fn status_of(router: &Router, uri: &str, cookie: Option<&str>) -> StatusCode {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}
