//! The external-wiki boundary end to end: real HS256 tokens built here with
//! `jsonwebtoken`, real requests through the plugin's router, and a tiny
//! axum server playing the external wiki's REST API.
//!
//! The `qsh` claims are computed here from hand-written canonical requests,
//! not with the plugin's own canonicaliser, so a mistake there fails these
//! tests instead of being mirrored by them.
#![allow(clippy::unwrap_used)]

mod bounds;
mod corpus;
mod csp;
mod xss_browser;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::routing::put;
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use plugin::connect::{
    self, ConnectConfig, ConnectHost, Installation, Installations, MemoryInstallations,
    SqliteInstallations,
};
use plugin::{AppState, ChildPage, Config, Host, LocalBus, SqliteStore};
use protocol::PageId;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const CLIENT_KEY: &str = "wiki-one";
const SECRET: &str = "wiki-one-shared-secret-0123456789abcdef";
const OTHER_SECRET: &str = "not-the-shared-secret-0123456789abcdef";
const BASE_URL: &str = "https://wiki.example";
/// The operator's install secret every harness is configured with.
const INSTALL_SECRET: &str = "operator-install-secret";

struct Harness {
    router: Router,
    host: ConnectHost,
    /// The plugin's store, for what a test must set up below the API.
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The session cookie pair (`bc_connect=...`) this reply set.
    fn session_cookie(&self) -> String {
        let set = self.headers[header::SET_COOKIE].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    fn assert_unauthenticated(&self, reason: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        let body = self.json();
        assert_eq!(body["error"]["code"], "unauthenticated", "{}", self.body);
        assert_eq!(body["error"]["message"], reason, "{}", self.body);
    }
}

async fn harness() -> Harness {
    harness_with(ConnectConfig::default()).await
}

async fn harness_with(mut config: ConnectConfig) -> Harness {
    config
        .install_secret
        .get_or_insert_with(|| INSTALL_SECRET.to_owned());
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("chat.db")).unwrap());
    let host = ConnectHost::new(config, Arc::new(MemoryInstallations::default()));
    let state = AppState::new(
        Arc::new(host.clone()),
        store.clone(),
        Arc::new(LocalBus::new()),
        Config {
            files_dir: dir.path().join("files"),
            ..Config::default()
        },
    );
    Harness {
        router: connect::wrap(host.clone(), plugin::app(state)),
        host,
        store,
        _dir: dir,
    }
}

impl Harness {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn install(&self, client_key: &str, secret: &str, authorization: Option<&str>) -> Reply {
        self.install_at(client_key, secret, BASE_URL, authorization)
            .await
    }

    async fn install_at(
        &self,
        client_key: &str,
        secret: &str,
        base_url: &str,
        authorization: Option<&str>,
    ) -> Reply {
        let body = json!({
            "key": "backchannel",
            "clientKey": client_key,
            "sharedSecret": secret,
            "baseUrl": base_url,
            "productType": "wiki",
            "eventType": "installed",
        });
        let mut request =
            Request::post("/connect/installed").header(header::CONTENT_TYPE, "application/json");
        // A re-install is signed; a first install carries the install secret.
        let authorization = match authorization {
            Some(token) => format!("JWT {token}"),
            None => format!("Bearer {INSTALL_SECRET}"),
        };
        request = request.header(header::AUTHORIZATION, authorization);
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// Installs wiki-one and loads its macro once for Ada with `access`
    /// (after an editor's load created the room); returns Ada's session
    /// cookie and the room id.
    async fn open_lobby(&self, access: &str) -> (String, String) {
        assert_eq!(
            self.install(CLIENT_KEY, SECRET, None).await.status,
            StatusCode::NO_CONTENT
        );
        // A page view creates the room only for someone who may post:
        // Grace, an editor, has seen the page first.
        let editor = sign(
            SECRET,
            &claims(CLIENT_KEY, "grace", LOBBY_CANONICAL, context("42", "write")),
        );
        let created = self
            .get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={editor}"), None)
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        let reply = self.get(&lobby_url(SECRET, access), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (reply.session_cookie(), room_id(&reply.body))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `qsh` of a canonical request written out by hand.
fn qsh(canonical: &str) -> String {
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn context(page: &str, access: &str) -> Value {
    json!({
        "user": { "displayName": "Ada Lovelace" },
        "page": {
            "id": page,
            "title": "Team Planning",
            "url": format!("{BASE_URL}/pages/{page}"),
            "timeZone": "Europe/Paris",
        },
        "access": access,
    })
}

/// Claims for one page request, valid for three minutes.
fn claims(iss: &str, sub: &str, canonical: &str, context: Value) -> Value {
    json!({
        "iss": iss,
        "sub": sub,
        "iat": now(),
        "exp": now() + 180,
        "jti": uuid::Uuid::new_v4().to_string(),
        "qsh": qsh(canonical),
        "context": context,
    })
}

const LOBBY_QUERY: &str = "page=42&room=Team%20Room";
const LOBBY_CANONICAL: &str = "GET&/macro/chat&page=42&room=Team%20Room";

/// The macro URL wiki-one would put in its page for Ada.
fn lobby_url(secret: &str, access: &str) -> String {
    let token = sign(
        secret,
        &claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("42", access)),
    );
    format!("/macro/chat?{LOBBY_QUERY}&jwt={token}")
}

fn room_id(table: &str) -> String {
    let start = table.find("data-room=\"").expect("a macro table") + "data-room=\"".len();
    let end = table[start..].find('"').unwrap();
    table[start..start + end].to_owned()
}

async fn post_message(h: &Harness, room: &str, cookie: &str, body: &str) -> Reply {
    let payload = json!({ "body": body, "client_msg_id": uuid::Uuid::new_v4().to_string() });
    h.send(
        Request::post(format!("/api/rooms/{room}/messages"))
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(payload.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_signed_macro_request_renders_the_table_and_opens_a_session() {
    let h = harness().await;
    assert_eq!(
        h.install(CLIENT_KEY, SECRET, None).await.status,
        StatusCode::NO_CONTENT
    );
    let reply = h.get(&lobby_url(SECRET, "write"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("Join Chat"), "{}", reply.body);
    assert!(reply.body.contains("Team Room"), "{}", reply.body);
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["bc_connect=", "HttpOnly", "Secure", "SameSite=None"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(reply.headers[header::CACHE_CONTROL], "private, no-store");

    // The session carries the popup's API calls.
    let cookie = reply.session_cookie();
    let room = room_id(&reply.body);
    let info = h.get(&format!("/api/rooms/{room}"), Some(&cookie)).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.json()["name"], "Team Room");
    let posted = post_message(&h, &room, &cookie, "hello from the wiki").await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    assert_eq!(
        posted.json()["author_name"],
        "Ada Lovelace",
        "{}",
        posted.body
    );
    assert_eq!(posted.json()["author"], "wiki-one:ada", "{}", posted.body);

    // Without the session the room is not even there.
    let anonymous = h.get(&format!("/api/rooms/{room}"), None).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);

    // The wiki can also sign the popup URL itself.
    let canonical = format!("GET&/rooms/{room}&");
    let token = sign(
        SECRET,
        &claims(CLIENT_KEY, "grace", &canonical, context("42", "read")),
    );
    let popup = h.get(&format!("/rooms/{room}?jwt={token}"), None).await;
    assert_eq!(popup.status, StatusCode::OK, "{}", popup.body);
    assert!(popup.body.contains("Team Room"));
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let mut claims = claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("42", "write"));
    claims["iat"] = json!(now() - 300);
    claims["exp"] = json!(now() - 120);
    let token = sign(SECRET, &claims);
    h.get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await
        .assert_unauthenticated("token expired");
}

#[tokio::test]
async fn a_token_for_another_request_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    // Signed for room Other, sent for Team Room.
    let token = sign(
        SECRET,
        &claims(
            CLIENT_KEY,
            "ada",
            "GET&/macro/chat&page=42&room=Other",
            context("42", "write"),
        ),
    );
    h.get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await
        .assert_unauthenticated("qsh does not match this request");
}

#[tokio::test]
async fn a_token_signed_with_the_wrong_secret_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    h.get(&lobby_url(OTHER_SECRET, "write"), None)
        .await
        .assert_unauthenticated("bad signature");
}

#[tokio::test]
async fn a_replayed_token_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let url = lobby_url(SECRET, "write");
    assert_eq!(h.get(&url, None).await.status, StatusCode::OK);
    h.get(&url, None)
        .await
        .assert_unauthenticated("token already used");
}

#[tokio::test]
async fn an_unknown_issuer_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let token = sign(
        SECRET,
        &claims("nobody", "ada", LOBBY_CANONICAL, context("42", "admin")),
    );
    h.get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await
        .assert_unauthenticated("unknown installation");
}

#[tokio::test]
async fn a_tampered_context_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    // A genuine read-only token, its claims swapped for ones granting admin.
    let genuine = sign(
        SECRET,
        &claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("42", "read")),
    );
    let forged = sign(
        OTHER_SECRET,
        &claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("42", "admin")),
    );
    let genuine: Vec<&str> = genuine.split('.').collect();
    let forged: Vec<&str> = forged.split('.').collect();
    let tampered = format!("{}.{}.{}", genuine[0], forged[1], genuine[2]);
    h.get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={tampered}"), None)
        .await
        .assert_unauthenticated("bad signature");
}

#[tokio::test]
async fn a_token_whose_context_names_another_page_is_refused() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let token = sign(
        SECRET,
        &claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("43", "admin")),
    );
    h.get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await
        .assert_unauthenticated("the token is for another page");
}

#[tokio::test]
async fn an_unsigned_reinstall_is_refused() {
    let h = harness().await;
    assert_eq!(
        h.install(CLIENT_KEY, SECRET, None).await.status,
        StatusCode::NO_CONTENT
    );
    h.install(CLIENT_KEY, OTHER_SECRET, None)
        .await
        .assert_unauthenticated(
            "already installed: sign the re-install with the current shared secret",
        );
    // Signed with the secret it tries to install: still refused.
    let token = sign(
        OTHER_SECRET,
        &json!({
            "iss": CLIENT_KEY, "iat": now(), "exp": now() + 180,
            "qsh": qsh("POST&/connect/installed&"),
        }),
    );
    h.install(CLIENT_KEY, OTHER_SECRET, Some(&token))
        .await
        .assert_unauthenticated("bad signature");
    // The original secret still rules.
    assert_eq!(
        h.get(&lobby_url(SECRET, "read"), None).await.status,
        StatusCode::OK
    );
    h.get(&lobby_url(OTHER_SECRET, "read"), None)
        .await
        .assert_unauthenticated("bad signature");
}

#[tokio::test]
async fn a_reinstall_signed_with_the_current_secret_is_accepted() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let token = sign(
        SECRET,
        &json!({
            "iss": CLIENT_KEY, "iat": now(), "exp": now() + 180,
            "qsh": qsh("POST&/connect/installed&"),
        }),
    );
    let reply = h.install(CLIENT_KEY, OTHER_SECRET, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        h.get(&lobby_url(OTHER_SECRET, "read"), None).await.status,
        StatusCode::OK
    );
    h.get(&lobby_url(SECRET, "read"), None)
        .await
        .assert_unauthenticated("bad signature");
    // The old secret signs nothing any more, not even a replay of its last request.
    h.install(CLIENT_KEY, SECRET, Some(&token))
        .await
        .assert_unauthenticated("bad signature");
}

#[tokio::test]
async fn install_checks_its_payload_and_the_base_url_allow_list() {
    let h = harness_with(ConnectConfig {
        allowed_base_urls: vec!["https://wiki.example/".to_owned()],
        ..ConnectConfig::default()
    })
    .await;
    let short = h.install(CLIENT_KEY, "short", None).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
    assert_eq!(short.json()["error"]["code"], "invalid_input");
    let elsewhere = h
        .install_at(CLIENT_KEY, SECRET, "http://169.254.169.254/", None)
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.body
    );
    let allowed = h
        .install_at(CLIENT_KEY, SECRET, "https://wiki.example/confluence", None)
        .await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT, "{}", allowed.body);
    let malformed = h
        .send(
            Request::post("/connect/installed")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"clientKey\": 7}"))
                .unwrap(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json()["error"]["code"], "bad_request");
}

#[tokio::test]
async fn access_comes_from_the_latest_signed_context() {
    let h = harness().await;
    let (cookie, room) = h.open_lobby("read").await;
    let refused = post_message(&h, &room, &cookie, "may I?").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // The wiki grants edit rights; its next signed load says so.
    let epoch = h.host.acl_epoch();
    let reply = h.get(&lobby_url(SECRET, "write"), Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.session_cookie(),
        cookie,
        "the browser's session is renewed, not replaced"
    );
    assert_ne!(h.host.acl_epoch(), epoch, "open streams must recheck");
    let posted = post_message(&h, &room, &cookie, "now I may").await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);

    // And revokes them again.
    assert_eq!(
        h.get(&lobby_url(SECRET, "none"), Some(&cookie))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let info = h.get(&format!("/api/rooms/{room}"), Some(&cookie)).await;
    assert_eq!(info.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn anonymous_readers_get_no_session() {
    let h = harness().await;
    h.install(CLIENT_KEY, SECRET, None).await;
    let mut claims = claims(CLIENT_KEY, "", LOBBY_CANONICAL, context("42", "read"));
    claims.as_object_mut().unwrap().remove("sub");
    claims["context"].as_object_mut().unwrap().remove("user");
    let token = sign(SECRET, &claims);
    let reply = h
        .get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn one_wiki_cannot_reach_another_wikis_rooms() {
    let h = harness().await;
    let (_, ones_room) = h.open_lobby("write").await;

    // wiki-two installs itself and claims admin on its own page "42".
    let two_secret = "wiki-two-shared-secret-0123456789abcdef";
    h.install("wiki-two", two_secret, None).await;
    let token = sign(
        two_secret,
        &claims("wiki-two", "ada", LOBBY_CANONICAL, context("42", "admin")),
    );
    let reply = h
        .get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let twos_room = room_id(&reply.body);
    assert_ne!(twos_room, ones_room, "same page id and name, other wiki");

    let cookie = reply.session_cookie();
    let info = h
        .get(&format!("/api/rooms/{ones_room}"), Some(&cookie))
        .await;
    assert_eq!(info.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_uninstalled_wiki_is_forgotten() {
    let h = harness().await;
    let (cookie, room) = h.open_lobby("write").await;
    let token = sign(
        SECRET,
        &json!({
            "iss": CLIENT_KEY, "iat": now(), "exp": now() + 180,
            "qsh": qsh("POST&/connect/uninstalled&"),
        }),
    );
    let unsigned = h
        .send(
            Request::post("/connect/uninstalled")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let reply = h
        .send(
            Request::post("/connect/uninstalled")
                .header(header::AUTHORIZATION, format!("JWT {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        h.get(&format!("/api/rooms/{room}"), Some(&cookie))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    h.get(&lobby_url(SECRET, "write"), None)
        .await
        .assert_unauthenticated("unknown installation");
}

/// What the fake wiki's REST endpoint saw.
#[derive(Default)]
struct Seen {
    pages: Vec<(String, Value)>,
}

/// The external wiki's child-page endpoint: checks the plugin's token like
/// a Connect host would (its base URL has the context path `/wiki`).
async fn fake_child_page(
    State(seen): State<Arc<Mutex<Seen>>>,
    Path(page): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Result<axum::Json<Value>, StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("JWT "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["backchannel"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .map_err(|_| StatusCode::UNAUTHORIZED)?
    .claims;
    let expected = qsh(&format!("PUT&/rest/backchannel/pages/{page}/children&"));
    if claims["qsh"] != expected.as_str() {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let title = body["title"].as_str().unwrap_or_default().to_owned();
    seen.lock().unwrap().pages.push((page.clone(), body));
    Ok(axum::Json(json!({
        "path": format!("Planning/Chat/{title}"),
        "url": format!("/wiki/pages/{page}/{title}"),
        "changed": true,
    })))
}

#[tokio::test]
async fn put_child_page_calls_the_wikis_rest_api_with_a_signed_token() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let wiki = Router::new()
        .route(
            "/wiki/rest/backchannel/pages/{page}/children",
            put(fake_child_page),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, wiki).await });

    let h = harness_with(ConnectConfig {
        allow_private_base_urls: true,
        ..ConnectConfig::default()
    })
    .await;
    let base_url = format!("http://{addr}/wiki/");
    let reply = h.install_at(CLIENT_KEY, SECRET, &base_url, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);

    let child = ChildPage {
        segments: vec!["Chat".into(), "Team Room".into(), "2026-11-22".into()],
        title: "2026-11-22".into(),
        markdown: "# Team Room\n\nhello".into(),
    };
    let outcome = h
        .host
        .put_child_page(&PageId::new("wiki-one:42"), child)
        .await
        .unwrap();
    assert_eq!(outcome.path, "Planning/Chat/2026-11-22");
    // Made absolute on the wiki's own origin: the plugin's pages link to it.
    assert_eq!(
        outcome.url,
        format!("http://{addr}/wiki/pages/42/2026-11-22")
    );
    assert!(outcome.changed);
    let pages = std::mem::take(&mut seen.lock().unwrap().pages);
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].0, "42");
    assert_eq!(pages[0].1["segments"][1], "Team Room");
    assert_eq!(pages[0].1["markdown"], "# Team Room\n\nhello");

    // Pages of no installation, or of the built-in wiki, are not sent anywhere.
    let orphan = ChildPage {
        segments: vec![],
        title: "x".into(),
        markdown: String::new(),
    };
    assert!(h
        .host
        .put_child_page(&PageId::new("wiki-nine:42"), orphan.clone())
        .await
        .is_err());
    assert!(h
        .host
        .put_child_page(&PageId::new("7"), orphan)
        .await
        .is_err());
}

#[tokio::test]
async fn a_wiki_that_refuses_the_child_page_is_an_error() {
    let wiki = Router::new().route(
        "/rest/backchannel/pages/{page}/children",
        put(|| async { StatusCode::FORBIDDEN }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, wiki).await });
    let h = harness_with(ConnectConfig {
        allow_private_base_urls: true,
        ..ConnectConfig::default()
    })
    .await;
    h.install_at(CLIENT_KEY, SECRET, &format!("http://{addr}"), None)
        .await;
    let child = ChildPage {
        segments: vec!["Chat".into()],
        title: "Chat".into(),
        markdown: String::new(),
    };
    let err = h
        .host
        .put_child_page(&PageId::new("wiki-one:42"), child)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

#[tokio::test]
async fn sqlite_installations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connect.db");
    let first = Installation {
        client_key: CLIENT_KEY.into(),
        shared_secret: SECRET.into(),
        base_url: BASE_URL.into(),
    };
    {
        let store = SqliteInstallations::open(&path).unwrap();
        assert!(store.insert_new(&first).await.unwrap());
        assert!(!store.insert_new(&first).await.unwrap(), "only once");
    }
    let store = SqliteInstallations::open(&path).unwrap();
    assert_eq!(store.get(CLIENT_KEY).await.unwrap(), Some(first.clone()));
    let renewed = Installation {
        shared_secret: OTHER_SECRET.into(),
        ..first
    };
    store.replace(&renewed).await.unwrap();
    assert_eq!(store.get(CLIENT_KEY).await.unwrap(), Some(renewed));
    store.remove(CLIENT_KEY).await.unwrap();
    assert_eq!(store.get(CLIENT_KEY).await.unwrap(), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the file holds secrets");
    }
}
