//! The wiki's HTTP edge: secure cookies behind an https:// public URL, the
//! Host allow-list against DNS rebinding, and the security headers of wiki
//! pages (while the chat popup keeps its own).

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{enc, get, post_form, start, start_with_edge};
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use wiki::edge::{Edge, EdgeArgs};

fn edge(public_url: &str) -> Edge {
    Edge::from_args(&EdgeArgs {
        public_url: Some(public_url.to_owned()),
        ..EdgeArgs::default()
    })
    .unwrap()
}

/// Signs admin in through the form; returns every Set-Cookie of the answer.
async fn sign_in(wiki: &common::TestWiki, form_cookie: &str) -> Vec<String> {
    let router = &wiki.parts.router;
    let form = get(router, "/login", None).await;
    let token = form.cookie(form_cookie).expect("the form's cookie");
    for set in form.set_cookies() {
        if set.starts_with(form_cookie) {
            assert!(set.contains("Path=/") && set.contains("HttpOnly"), "{set}");
        }
    }
    let body = format!(
        "username=admin&password={}&csrf={token}&return_to=%2F",
        enc(&wiki.admin_password)
    );
    let reply = post_form(
        router,
        "/login",
        Some(&format!("{form_cookie}={token}")),
        &body,
    )
    .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let mut cookies = form.set_cookies();
    cookies.extend(reply.set_cookies());
    cookies
}

/// Finding 11: behind an https:// public URL both cookies are Secure and
/// carry the __Host- prefix; the plain name is not accepted any more.
#[tokio::test]
async fn an_https_public_url_makes_cookies_secure_with_the_host_prefix() {
    let wiki = start_with_edge(edge("https://wiki.example.org"));
    let cookies = sign_in(&wiki, "__Host-bc_login").await;
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-bc_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    for cookie in &cookies {
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    let pair = session.split(';').next().unwrap();
    let home = get(&wiki.parts.router, "/", Some(pair)).await;
    assert!(home.body.contains("Signed in as"), "{}", home.body);
    let token = pair.split_once('=').unwrap().1;
    let plain = get(
        &wiki.parts.router,
        "/",
        Some(&format!("bc_session={token}")),
    )
    .await;
    assert!(!plain.body.contains("Signed in as"));
}

/// Finding 11: plain http (no public URL, or an http:// one) keeps today's
/// names and no Secure flag (browsers drop Secure cookies over http).
#[tokio::test]
async fn plain_http_keeps_the_plain_cookie_names() {
    for wiki in [start(), start_with_edge(edge("http://wiki.example.org"))] {
        let cookies = sign_in(&wiki, "bc_login").await;
        assert!(
            cookies.iter().any(|c| c.starts_with("bc_session=")),
            "{cookies:?}"
        );
        assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
    }
}

/// Finding 12: wiki pages carry a CSP that forbids framing, and the other
/// security headers; the chat popup keeps its own CSP.
#[tokio::test]
async fn wiki_pages_send_security_headers_and_the_popup_keeps_its_own() {
    let wiki = start();
    let router = &wiki.parts.router;
    let cookie = common::session_cookie(&wiki, "admin").await;
    for path in [
        "/",
        "/pages/Welcome",
        "/login",
        "/search?q=x",
        "/pages/Nope",
    ] {
        let reply = get(router, path, Some(&cookie)).await;
        let header = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp:?}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
    let home = get(router, "/", Some(&cookie)).await;
    let room = common::first_room(&home.body);
    let popup = get(router, &format!("/rooms/{room}"), Some(&cookie)).await;
    assert_eq!(popup.status, 200);
    let csp = popup.headers.get("content-security-policy").unwrap();
    assert_eq!(csp.to_str().unwrap(), plugin::popup::CSP);
    assert!(popup.headers.get("x-frame-options").is_none());
}

/// Sends a raw HTTP/1.1 GET with `host` and returns the status code.
fn status_for_host(addr: SocketAddr, host: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"))
}

/// Finding 12: DNS rebinding. A request whose Host names another site is
/// refused; the bind address, localhost and the public URL's host answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_other_host_names_are_refused() {
    let wiki = start_with_edge(edge("https://wiki.example.org"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = wiki.parts.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let port = addr.port();
    let statuses = tokio::task::spawn_blocking(move || {
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            "wiki.example.org".to_owned(),
            "rebind.attacker.example".to_owned(),
            format!("rebind.attacker.example:{port}"),
        ]
        .map(|host| status_for_host(addr, &host))
    })
    .await
    .unwrap();
    assert_eq!(statuses, [200, 200, 200, 400, 400]);
}
