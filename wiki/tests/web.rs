//! The wiki's HTTP surface, in-process: pages, sign-in, macro expansion.

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::{add_user, enc, get, json, post_form, send, session_cookie, start};
use wiki::pages::{self, PagePath};

#[tokio::test]
async fn healthz_and_the_welcome_page_answer() {
    let wiki = start();
    let router = &wiki.parts.router;
    let health = get(router, "/healthz", None).await;
    assert_eq!((health.status.as_u16(), health.body.as_str()), (200, "ok"));

    // An anonymous view does not create the Lobby; the admin's does.
    let first = get(router, "/", None).await;
    assert!(first.body.contains("bc-not-started"), "{}", first.body);
    assert!(!first.body.contains("/rooms/"), "{}", first.body);
    let admin = session_cookie(&wiki, "admin").await;
    get(router, "/", Some(&admin)).await;
    let home = get(router, "/", None).await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains(r#"href="/assets/chat.css""#),
        "{}",
        home.body
    );
    assert!(home.body.contains("<h1>Welcome</h1>"), "{}", home.body);
    assert!(
        home.body.contains(r#"table class="bc-macro""#),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(r#"class="bc-join" href="/rooms/"#),
        "{}",
        home.body
    );
    assert!(
        home.body.contains(r#"href="/login?return_to=%2F""#),
        "{}",
        home.body
    );

    let same = get(router, "/pages/Welcome", None).await;
    assert_eq!(same.status, 200);
    let missing = get(router, "/pages/Nope", None).await;
    assert_eq!(missing.status, 404);
}

/// Fetches the sign-in form and returns (its bc_login cookie, csrf field).
async fn login_form(router: &axum::Router, return_to: &str) -> (String, String) {
    let form = get(
        router,
        &format!("/login?return_to={}", enc(return_to)),
        None,
    )
    .await;
    assert_eq!(form.status, 200);
    for field in [
        r#"name="username""#,
        r#"name="password""#,
        r#"name="return_to""#,
    ] {
        assert!(form.body.contains(field), "{field}: {}", form.body);
    }
    let token = form
        .cookie(wiki::login::LOGIN_COOKIE)
        .expect("GET /login sets the form cookie");
    assert!(form
        .body
        .contains(&format!(r#"name="csrf" value="{token}""#)));
    (format!("{}={token}", wiki::login::LOGIN_COOKIE), token)
}

#[tokio::test]
async fn signing_in_sets_the_session_cookie_and_returns() {
    let wiki = start();
    let router = &wiki.parts.router;
    let (cookie, csrf) = login_form(router, "/rooms/abc?x=1").await;
    let body = format!(
        "username=admin&password={}&csrf={csrf}&return_to={}",
        enc(&wiki.admin_password),
        enc("/rooms/abc?x=1")
    );
    let reply = post_form(router, "/login", Some(&cookie), &body).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location(), Some("/rooms/abc?x=1"));
    let set = reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("bc_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    let session = format!("bc_session={}", reply.cookie("bc_session").unwrap());
    let home = get(router, "/", Some(&session)).await;
    assert!(home.body.contains("Signed in as"), "{}", home.body);
    assert!(home.body.contains(r#"action="/logout""#), "{}", home.body);

    // Sign-out needs the session's CSRF token.
    let forged = post_form(router, "/logout", Some(&session), "csrf=nope").await;
    assert_eq!(forged.status, 403);
    let token = home
        .body
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let out = post_form(router, "/logout", Some(&session), &format!("csrf={token}")).await;
    assert_eq!((out.status.as_u16(), out.location()), (303, Some("/")));
    let after = get(router, "/", Some(&session)).await;
    assert!(!after.body.contains("Signed in as"));

    // Another site's address is never a return target.
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let (cookie, csrf) = login_form(router, "/").await;
        let body = format!(
            "username=admin&password={}&csrf={csrf}&return_to={}",
            enc(&wiki.admin_password),
            enc(evil)
        );
        let reply = post_form(router, "/login", Some(&cookie), &body).await;
        assert_eq!((reply.status.as_u16(), reply.location()), (303, Some("/")));
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_and_throttled() {
    let wiki = start();
    let router = &wiki.parts.router;
    let (cookie, csrf) = login_form(router, "/").await;

    let no_csrf = post_form(
        router,
        "/login",
        Some(&cookie),
        &format!(
            "username=admin&password={}&csrf=wrong",
            enc(&wiki.admin_password)
        ),
    )
    .await;
    assert_eq!(no_csrf.status, 403);
    assert!(no_csrf.cookie("bc_session").is_none());

    let wrong = format!("username=admin&password=wrong-password&csrf={csrf}&return_to=/");
    for _ in 0..wiki::throttle::MAX_FAILURES {
        let reply = post_form(router, "/login", Some(&cookie), &wrong).await;
        assert_eq!(reply.status, 401);
        assert!(
            reply.body.contains("Wrong username or password"),
            "{}",
            reply.body
        );
        assert!(reply.body.contains(r#"name="password""#));
        assert!(reply.cookie("bc_session").is_none());
    }
    // Now even the right password waits.
    let right = format!(
        "username=admin&password={}&csrf={csrf}",
        enc(&wiki.admin_password)
    );
    let reply = post_form(router, "/login", Some(&cookie), &right).await;
    assert_eq!(reply.status, 429);
    assert!(reply.headers.contains_key("retry-after"));
    assert!(reply.cookie("bc_session").is_none());
}

#[tokio::test]
async fn macros_expand_and_page_text_stays_escaped() {
    let wiki = start();
    let router = &wiki.parts.router;
    let markdown = "\
<script>alert('page')</script>

{chat:Side Room}

Inline {nope:x} and {chat:} here.

`{chat:In Code}`

```
{chat:In Block}
```

{chat:<b>bold</b>}
";
    pages::put(
        wiki.parts.wiki.store.as_ref(),
        &PagePath::parse("Team/Notes").unwrap(),
        None,
        markdown,
        "admin",
    )
    .await
    .unwrap();
    let cookie = session_cookie(&wiki, "admin").await;
    let page = get(router, "/pages/Team/Notes", Some(&cookie)).await;
    assert_eq!(page.status, 200);
    let html = &page.body;
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert_eq!(
        html.matches(r#"<table class="bc-macro""#).count(),
        2,
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="bc-room-name">Side Room</td>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<td class="bc-room-name">&lt;b&gt;bold&lt;/b&gt;</td>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span class="bc-macro-error">Unknown macro: {nope}</span>"#),
        "{html}"
    );
    assert!(html.contains("missing required parameter"), "{html}");
    assert!(html.contains("<code>{chat:In Code}</code>"), "{html}");
    assert!(html.contains("{chat:In Block}\n</code></pre>"), "{html}");
    // The breadcrumb leads back to the parent page.
    assert!(html.contains(r#"<a href="/pages/Team">Team</a>"#), "{html}");
}

#[tokio::test]
async fn api_sessions_hand_out_bearer_tokens() {
    let wiki = start();
    let router = &wiki.parts.router;
    let sign_in = |body: String| {
        Request::post("/api/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let good =
        serde_json::json!({"username": "admin", "password": wiki.admin_password}).to_string();
    let reply = send(router, sign_in(good)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let token = answer["token"].as_str().unwrap().to_owned();

    // The token works as a bearer credential on the chat API (on the
    // Lobby, which the admin's view of the Welcome page created).
    let admin = session_cookie(&wiki, "admin").await;
    let home = get(router, "/", Some(&admin)).await;
    let start = home.body.find("/rooms/").unwrap() + "/rooms/".len();
    let room: String = home.body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let post = Request::post(format!("/api/rooms/{room}/messages"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(
            r#"{"body":"hello from a script","client_msg_id":"s1"}"#,
        ))
        .unwrap();
    let posted = send(router, post).await;
    assert_eq!(posted.status, 201, "{}", posted.body);

    let wrong = serde_json::json!({"username": "admin", "password": "not it"}).to_string();
    let reply = send(router, sign_in(wrong)).await;
    assert_eq!(reply.status, 401);
    assert!(
        reply.body.contains(r#""code":"unauthenticated""#),
        "{}",
        reply.body
    );
    let malformed = send(router, sign_in("{\"username\": 3".into())).await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.body.contains(r#""code":"bad_request""#),
        "{}",
        malformed.body
    );

    // Signing out ends the token.
    let out = Request::delete("/api/session")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(router, out).await.status, 204);
    let again = Request::post(format!("/api/rooms/{room}/messages"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(r#"{"body":"still here?","client_msg_id":"s2"}"#))
        .unwrap();
    assert_eq!(send(router, again).await.status, 401);
}

/// The wasm module is most of what a browser downloads: where the build
/// left a `.gz` beside it, browsers that accept gzip get that, the rest get
/// the plain file, both as `application/wasm`.
#[tokio::test]
async fn the_bundle_goes_out_gzipped_to_browsers_that_take_gzip() {
    use axum::body::Body;
    use axum::http::{header, Request};
    use tower::ServiceExt as _;

    let ui = tempfile::tempdir().unwrap();
    let module = b"\0asm\x01\0\0\0 a stand-in module".repeat(50);
    std::fs::write(ui.path().join("wasm_ui_bg.wasm"), &module).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &module).unwrap();
    let compressed = gz.finish().unwrap();
    std::fs::write(ui.path().join("wasm_ui_bg.wasm.gz"), &compressed).unwrap();
    let ui_dir = ui.path().to_owned();
    let wiki = common::start_with(move |config| config.ui_dir = ui_dir);

    for (accepts, encoding, body) in [
        (Some("gzip, deflate, br"), Some("gzip"), &compressed),
        (None, None, &module),
    ] {
        let mut request = Request::get("/assets/ui/wasm_ui_bg.wasm");
        if let Some(accepts) = accepts {
            request = request.header(header::ACCEPT_ENCODING, accepts);
        }
        let response = wiki
            .parts
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(
            headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding
        );
        let got = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&got.to_vec(), body);
    }
}

#[tokio::test]
async fn the_header_links_to_chats_and_counts_unread_notifications() {
    let wiki = start();
    let router = &wiki.parts.router;
    add_user(&wiki, "bob", &[]).await;

    // Anonymous readers get the page as before, without the bell.
    let anonymous = get(router, "/", None).await;
    assert_eq!(anonymous.status, 200);
    assert!(
        !anonymous.body.contains(r#"href="/chats""#),
        "{}",
        anonymous.body
    );

    let admin = session_cookie(&wiki, "admin").await;
    let page = get(router, "/", Some(&admin)).await;
    assert!(page.body.contains(r#"href="/chats""#), "{}", page.body);
    assert!(
        page.body.contains(r#"aria-label="0 unread notifications""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("wiki-bell-count"));

    // Bob opens a chat with the admin: the admin's bell counts the invitation.
    let bob = session_cookie(&wiki, "bob").await;
    let opened = json(
        router,
        "POST",
        "/api/direct/admin",
        Some(&bob),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let page = get(router, "/", Some(&admin)).await;
    assert!(
        page.body.contains(r#"aria-label="1 unread notification""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"href="/chats#notifications""#));
    assert!(page.body.contains("wiki-bell-count"));
}
