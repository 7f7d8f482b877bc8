//! Profiles (issue 20) over real HTTP against `plugin::testing`'s app on
//! SQLite: pictures uploaded through the form and the API and served at
//! every fixed size, hostile files refused with nothing stored, the size
//! limit, every validation rule, who sees the contact links, who may edit,
//! the no-JavaScript form (typed values kept, CSRF enforced, back to the
//! page), an expired status, and a display name on the next message.
//! (The store side runs on both backends in `store::suite::profiles`.)
#![allow(clippy::unwrap_used)]

use image::{ImageBuffer, ImageFormat, Rgb, RgbImage};
use plugin::testing::{TestApp, TestHost, TestServer, SESSION_COOKIE};
use plugin::Access;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use std::io::Cursor;
use std::time::Duration;

const SIZES: [u32; 4] = [32, 64, 128, 256];

/// An app whose wiki knows alice and bob, served on a loopback port.
async fn app() -> (TestApp, TestServer) {
    app_with(|_| {}).await
}

async fn app_with(tune: impl FnOnce(&mut plugin::Config)) -> (TestApp, TestServer) {
    let app = TestApp::with_config(tune).unwrap();
    app.host.add_user("alice");
    app.host.add_user("bob");
    let server = app.serve().await.unwrap();
    (app, server)
}

/// Who sends a request.
#[derive(Clone, Copy)]
enum As {
    Anonymous,
    /// `Authorization: Bearer <name>`.
    Bearer(&'static str),
    /// A browser: the session cookie and the same `Origin`.
    Browser(&'static str),
}

struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    bytes: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn send(server: &TestServer, who: As, request: reqwest::RequestBuilder) -> Reply {
    let request = match who {
        As::Anonymous => request,
        As::Bearer(user) => request.bearer_auth(user),
        As::Browser(user) => request
            .header(header::COOKIE, format!("{SESSION_COOKIE}={user}"))
            .header(header::ORIGIN, server.base_url()),
    };
    let response = request.send().await.unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn request(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    client().request(method, format!("{}{path}", server.base_url()))
}

async fn get(server: &TestServer, who: As, path: &str) -> Reply {
    send(server, who, request(server, Method::GET, path)).await
}

async fn put_profile(server: &TestServer, who: As, user: &str, body: Value) -> Reply {
    let path = format!("/api/users/{user}/profile");
    send(server, who, request(server, Method::PUT, &path).json(&body)).await
}

async fn put_avatar(server: &TestServer, who: As, bytes: Vec<u8>, kind: &str) -> Reply {
    let put = request(server, Method::PUT, "/api/users/me/avatar")
        .header(header::CONTENT_TYPE, kind)
        .body(bytes);
    send(server, who, put).await
}

/// The profile form posted from alice's browser.
async fn post_form(server: &TestServer, who: As, user: &str, fields: &[(&str, &str)]) -> Reply {
    let path = format!("/users/{user}/profile");
    send(
        server,
        who,
        request(server, Method::POST, &path).form(fields),
    )
    .await
}

/// The picture form: `csrf` then the file in `avatar`, as a browser sends it.
async fn post_picture(
    server: &TestServer,
    who: As,
    csrf: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Reply {
    let boundary = "profileboundary5e1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"{name}\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let post = request(server, Method::POST, "/users/alice/avatar")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    send(server, who, post).await
}

/// A photo-sized JPEG: a gradient, so every size has real content.
fn big_jpeg() -> Vec<u8> {
    let image: RgbImage = ImageBuffer::from_fn(4000, 3000, |x, y| {
        Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn csrf(user: &str) -> String {
    TestHost::csrf_token(user)
}

/// Every size of alice's picture at `url`'s version: JPEG, square, cached
/// for good, served safely.
async fn check_sizes(server: &TestServer, version: &str) {
    for size in SIZES {
        let path = format!("/users/alice/avatar/{size}?v={version}");
        let reply = get(server, As::Anonymous, &path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), "image/jpeg");
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
        let csp = reply.header("content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("sandbox"),
            "{csp}"
        );
        assert_eq!(
            reply.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!reply.header("etag").is_empty());
        let decoded = image::load_from_memory(&reply.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (size, size), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_jpeg_is_served_at_every_size_and_a_new_upload_changes_the_url() {
    let (_app, server) = app().await;
    let photo = big_jpeg();

    let through_api = put_avatar(&server, As::Bearer("alice"), photo.clone(), "image/jpeg").await;
    assert_eq!(through_api.status, 200, "{}", through_api.text());
    let profile = through_api.json();
    assert_eq!(profile["has_avatar"], true);
    let first = profile["avatar"].as_str().unwrap().to_owned();
    assert!(first.ends_with("/avatar/128?v=1"), "{first}");
    check_sizes(&server, "1").await;
    assert_eq!(
        get(&server, As::Anonymous, "/users/alice/avatar/100")
            .await
            .status,
        404
    );

    // The no-JavaScript form: back to the page, and a new version.
    let through_form = post_picture(
        &server,
        As::Browser("alice"),
        &csrf("alice"),
        "me.jpg",
        photo,
    )
    .await;
    assert_eq!(through_form.status, 303, "{}", through_form.text());
    assert_eq!(through_form.header("location"), "/users/alice");
    let now = get(&server, As::Anonymous, "/api/users/alice/profile")
        .await
        .json();
    let second = now["avatar"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(second.ends_with("?v=2"), "{second}");
    check_sizes(&server, "2").await;
    // An old URL still shows the picture, but is no longer cached for good.
    let stale = get(&server, As::Anonymous, "/users/alice/avatar/64?v=1").await;
    assert_eq!(
        (stale.status.as_u16(), stale.header("cache-control")),
        (200, "no-cache")
    );
    // Revalidation by ETag.
    let etag = stale.header("etag").to_owned();
    let again = send(
        &server,
        As::Anonymous,
        request(&server, Method::GET, "/users/alice/avatar/64?v=2")
            .header(header::IF_NONE_MATCH, &etag),
    )
    .await;
    assert_eq!(again.status, 304);
    // The page shows the picture to everyone.
    let page = get(&server, As::Anonymous, "/users/alice").await.text();
    assert!(page.contains("/users/alice/avatar/128?v=2"), "{page}");

    // Removing it brings the letter image back.
    let removed = send(
        &server,
        As::Bearer("alice"),
        request(&server, Method::DELETE, "/api/users/me/avatar"),
    )
    .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.json()["has_avatar"], false);
    let letter = get(&server, As::Anonymous, "/users/alice/avatar/64").await;
    assert_eq!(letter.header("content-type"), "image/svg+xml");
    assert!(letter.text().starts_with("<svg"), "{}", letter.text());
    assert!(letter.header("content-security-policy").contains("sandbox"));
    assert_eq!(letter.header("cache-control"), "no-cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svg_and_html_named_png_are_refused_and_nothing_is_stored() {
    let (app, server) = app().await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";

    let api = put_avatar(&server, As::Bearer("alice"), svg.to_vec(), "image/svg+xml").await;
    assert_eq!(
        (api.status.as_u16(), api.code().as_str()),
        (415, "unsupported_media_type")
    );
    assert!(api.text().contains("SVG"), "{}", api.text());
    let renamed = put_avatar(&server, As::Bearer("alice"), html.to_vec(), "image/png").await;
    assert_eq!(
        (renamed.status.as_u16(), renamed.code().as_str()),
        (415, "unsupported_media_type")
    );
    let form = post_picture(
        &server,
        As::Browser("alice"),
        &csrf("alice"),
        "evil.png",
        html.to_vec(),
    )
    .await;
    assert_eq!(form.status, 415);
    assert!(
        form.text().contains("bc-notice"),
        "the page again, with the reason"
    );
    let text = put_avatar(
        &server,
        As::Bearer("alice"),
        b"plain".to_vec(),
        "text/plain",
    )
    .await;
    assert_eq!(text.status, 415, "a type a cross-site page could send");

    let alice = protocol::UserId::new("alice");
    let store = &app.state().store;
    assert_eq!(store.profile(&alice).await.unwrap(), None, "nothing stored");
    for size in SIZES {
        assert_eq!(store.avatar(&alice, size).await.unwrap(), None);
    }
    let served = get(&server, As::Anonymous, "/users/alice/avatar/64").await;
    assert_eq!(
        served.header("content-type"),
        "image/svg+xml",
        "still the letter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_picture_is_refused_with_413() {
    let (app, server) = app_with(|config| config.avatar_max_bytes = 4096).await;
    let big = vec![0xFF; 50_000];
    let api = put_avatar(&server, As::Bearer("alice"), big.clone(), "image/jpeg").await;
    assert_eq!(
        (api.status.as_u16(), api.code().as_str()),
        (413, "payload_too_large")
    );
    let form = post_picture(
        &server,
        As::Browser("alice"),
        &csrf("alice"),
        "big.jpg",
        big,
    )
    .await;
    assert_eq!(form.status, 413);
    let alice = protocol::UserId::new("alice");
    assert_eq!(app.state().store.profile(&alice).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_is_a_400_naming_its_field() {
    let (_app, server) = app().await;
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339();
    let cases = [
        ("name", json!({ "name": "" })),
        ("name", json!({ "name": "x".repeat(65) })),
        ("name", json!({ "name": "tab\there" })),
        ("status", json!({ "status": "s".repeat(141) })),
        (
            "status_until",
            json!({ "status": "out", "status_until": past }),
        ),
        (
            "status_until",
            json!({ "status": "out", "status_until": far }),
        ),
        ("status_until", json!({ "status_until": soon })),
        ("time_zone", json!({ "time_zone": "Mars/Olympus_Mons" })),
        ("email", json!({ "email": "not an address" })),
        (
            "email",
            json!({ "email": format!("{}@example.org", "a".repeat(250)) }),
        ),
        ("phone", json!({ "phone": "+49 12" })),
        ("phone", json!({ "phone": "030 1234567" })),
        ("xmpp", json!({ "xmpp": "alice@" })),
    ];
    for (field, body) in cases {
        let reply = put_profile(&server, As::Bearer("alice"), "me", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        assert_eq!(reply.code(), "invalid_input");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with(&format!("{field}:")),
            "{body}: {message}"
        );
    }
    let good = put_profile(
        &server,
        As::Bearer("alice"),
        "me",
        json!({ "name": " Alice L. ", "phone": "+49 30-1234567", "time_zone": "Europe/Berlin" }),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.text());
    assert_eq!(good.json()["name"], "Alice L.");
    assert_eq!(good.json()["contacts"]["phone"], "+49301234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_for_signed_in_viewers_and_only_the_owner_edits() {
    let (_app, server) = app().await;
    let contacts = json!({
        "status": "in a workshop",
        "email": "alice@example.org",
        "phone": "+4930123456",
        "xmpp": "alice@chat.example.org"
    });
    assert_eq!(
        put_profile(&server, As::Bearer("alice"), "me", contacts.clone())
            .await
            .status,
        200
    );

    let anonymous = get(&server, As::Anonymous, "/api/users/alice/profile").await;
    assert_eq!(anonymous.status, 200);
    assert_eq!(anonymous.json()["status"]["text"], "in a workshop");
    assert!(
        anonymous.json().get("contacts").is_none(),
        "{}",
        anonymous.text()
    );
    let page = get(&server, As::Anonymous, "/users/alice").await;
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("alice@example.org"));
    assert!(page.text().contains("Sign in"));
    assert!(page
        .header("content-security-policy")
        .contains("default-src 'self'"));

    let bob = get(&server, As::Bearer("bob"), "/api/users/alice/profile")
        .await
        .json();
    assert_eq!(bob["contacts"]["email"], "alice@example.org");
    assert_eq!(bob["contacts"]["xmpp"], "alice@chat.example.org");
    let page = get(&server, As::Browser("bob"), "/users/alice")
        .await
        .text();
    assert!(page.contains("mailto:alice@example.org"), "{page}");
    assert!(page.contains("tel:+4930123456"));
    assert!(!page.contains("bc-profile-form"), "no edit form for bob");

    // Others may not edit: bob gets 403, an anonymous caller 401.
    let theirs = put_profile(
        &server,
        As::Bearer("bob"),
        "alice",
        json!({ "name": "Mallory" }),
    )
    .await;
    assert_eq!(
        (theirs.status.as_u16(), theirs.code().as_str()),
        (403, "forbidden")
    );
    let nobody = put_profile(&server, As::Anonymous, "me", json!({ "name": "Mallory" })).await;
    assert_eq!(nobody.status, 401);
    let form = post_form(
        &server,
        As::Browser("bob"),
        "alice",
        &[("csrf", &csrf("bob")), ("name", "Mallory")],
    )
    .await;
    assert_eq!(form.status, 403);
    let picture = send(
        &server,
        As::Bearer("bob"),
        request(&server, Method::PUT, "/api/users/alice/avatar")
            .header(header::CONTENT_TYPE, "image/png")
            .body(vec![0u8; 10]),
    )
    .await;
    assert_eq!(picture.status, 403);
    let name = get(&server, As::Anonymous, "/api/users/alice/profile")
        .await
        .json()["name"]
        .clone();
    assert_eq!(name, "alice", "unchanged");

    // Unknown people are a 404 everywhere.
    for path in [
        "/api/users/nobody/profile",
        "/users/nobody",
        "/users/nobody/avatar/64",
    ] {
        let reply = get(&server, As::Bearer("bob"), path).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code().as_str()),
            (404, "not_found"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_keeps_typed_values_on_error_needs_its_token_and_goes_back_on_success() {
    let (_app, server) = app().await;
    let page = get(&server, As::Browser("alice"), "/users/alice")
        .await
        .text();
    assert!(
        page.contains("bc-profile-form") && page.contains("bc-avatar-form"),
        "{page}"
    );
    assert!(page.contains(&format!("value=\"{}\"", csrf("alice"))));

    let typed = [
        ("csrf", csrf("alice")),
        ("name", "Alice Typed".to_owned()),
        ("status", "kept status".to_owned()),
        ("status_until", String::new()),
        ("time_zone", "Europe/Berlin".to_owned()),
        ("email", "kept@example.org".to_owned()),
        ("phone", "12345".to_owned()),
        ("xmpp", String::new()),
    ];
    let fields: Vec<(&str, &str)> = typed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = post_form(&server, As::Browser("alice"), "alice", &fields).await;
    assert_eq!(refused.status, 400);
    let body = refused.text();
    assert!(body.contains("phone:"), "the reason: {body}");
    for kept in [
        "Alice Typed",
        "kept status",
        "kept@example.org",
        "value=\"12345\"",
    ] {
        assert!(body.contains(kept), "{kept} kept in {body}");
    }
    assert!(
        body.contains("<option selected>Europe/Berlin</option>"),
        "zone kept"
    );
    let stored = get(&server, As::Anonymous, "/api/users/alice/profile")
        .await
        .json();
    assert_eq!(stored["name"], "alice", "nothing saved");

    // Without the token, or with another's: refused, values kept.
    let mut forged = fields.clone();
    forged[0] = ("csrf", "guess");
    forged[6] = ("phone", "+49 30 1234567");
    let forged_reply = post_form(&server, As::Browser("alice"), "alice", &forged).await;
    assert_eq!(forged_reply.status, 403);
    assert!(forged_reply.text().contains("Alice Typed"));
    let cross_site = send(
        &server,
        As::Anonymous,
        request(&server, Method::POST, "/users/alice/profile")
            .header(header::COOKIE, format!("{SESSION_COOKIE}=alice"))
            .header(header::ORIGIN, "http://evil.example")
            .form(&fields),
    )
    .await;
    assert_eq!(cross_site.status, 403);

    // Right token, good values: saved, and back to the page.
    let mut good = fields.clone();
    good[6] = ("phone", "+49 30 1234567");
    good[3] = ("status_until", "2099-01-01T10:00");
    let saved = post_form(&server, As::Browser("alice"), "alice", &good).await;
    assert_eq!(
        saved.status,
        400,
        "more than a year ahead: {}",
        saved.text()
    );
    let soon = (chrono::Utc::now() + chrono::Duration::days(2))
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    good[3] = ("status_until", soon.as_str());
    let saved = post_form(&server, As::Browser("alice"), "alice", &good).await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert_eq!(saved.header("location"), "/users/alice");
    let stored = get(&server, As::Bearer("bob"), "/api/users/alice/profile")
        .await
        .json();
    assert_eq!(stored["name"], "Alice Typed");
    assert_eq!(stored["time_zone"], "Europe/Berlin");
    assert_eq!(stored["contacts"]["phone"], "+49301234567");
    assert!(stored["status"]["until"].is_string(), "{stored}");
    let page = get(&server, As::Browser("alice"), "/users/alice")
        .await
        .text();
    assert!(
        page.contains(&format!("value=\"{soon}\"")),
        "the expiry shown in her zone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_status_is_not_shown() {
    let (_app, server) = app().await;
    let until = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let set = put_profile(
        &server,
        As::Bearer("alice"),
        "me",
        json!({ "status": "back soon", "status_until": until }),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text());
    assert_eq!(set.json()["status"]["text"], "back soon");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let later = get(&server, As::Anonymous, "/api/users/alice/profile")
        .await
        .json();
    assert!(later.get("status").is_none(), "{later}");
    let page = get(&server, As::Anonymous, "/users/alice").await.text();
    assert!(!page.contains("back soon"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_name_is_the_author_name_of_the_next_message() {
    let (app, server) = app().await;
    let page = app.host.add_page("Team");
    app.host.grant("alice", &page, Access::Write);
    let room = app.room(&page, "Lobby").await.unwrap();
    let say = |body: &'static str, key: &'static str| {
        let post = request(
            &server,
            Method::POST,
            &format!("/api/rooms/{room}/messages"),
        )
        .json(&json!({ "body": body, "client_msg_id": key }));
        send(&server, As::Bearer("alice"), post)
    };
    let before = say("before", "k1").await;
    assert_eq!(before.json()["author_name"], "alice", "{}", before.text());
    let named = put_profile(
        &server,
        As::Bearer("alice"),
        "me",
        json!({ "name": "Alice Liddell" }),
    )
    .await;
    assert_eq!(named.status, 200);
    let after = say("after", "k2").await;
    assert_eq!(
        after.json()["author_name"],
        "Alice Liddell",
        "{}",
        after.text()
    );
    // Faces answer for many people at once, with the display name.
    let faces = plugin::profiles::faces(
        app.state(),
        &[protocol::UserId::new("alice"), protocol::UserId::new("bob")],
    )
    .await
    .unwrap();
    assert_eq!(faces[&protocol::UserId::new("alice")].name, "Alice Liddell");
    assert_eq!(faces[&protocol::UserId::new("bob")].name, "bob");
    assert_eq!(
        faces[&protocol::UserId::new("bob")].avatar_url,
        "/users/bob/avatar/64"
    );
}
