//! The CSRF/Origin suite (issue 17, "Test suites to add"): every
//! state-changing route of the `backchannel` binary ([`table::WRITES`]) x
//! {foreign `Origin`, `text/plain` body, form body, missing or wrong CSRF
//! token, no cookie}, plus the WebSocket upgrade and SSE from a foreign
//! origin, against the real binary on SQLite and on PostgreSQL.
//!
//! Each attack drops one defence at a time and keeps the rest of a request
//! that works, so every layer is shown to hold on its own: the foreign-Origin
//! request carries the right token, cookie and content type; the
//! `text/plain`, form-body and CSRF attacks send no `Origin` (as an old or
//! privacy-stripped browser might), so the Origin check is not what stops
//! them. An attack must be refused (a 4xx, or a redirect to the sign-in
//! page), and then the same request sent properly (the control) must
//! succeed, so no refusal is vacuous. Where an attack cannot apply the row
//! says why (`N/A`). No answer, including a CORS preflight from a foreign
//! origin, may carry `Access-Control-Allow-Origin`.
//!
//! [`every_declared_write_route_is_in_the_table`] reads the routes the source
//! declares ([`backchannel_tests::routes`]): a new POST/PUT/PATCH/DELETE
//! route fails it until the table lists it.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod table;

use backchannel_tests::api::Api;
use backchannel_tests::backend::Backend;
use backchannel_tests::http::form_encode;
use backchannel_tests::routes;
use backchannel_tests::server::{self, TestServer};
use backchannel_tests::session::{self, BrowserSession};
use backchannel_tests::skip;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use table::{Auth, Body, Write, UNMOUNTED, WRITES};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const PASSWORD: &str = "correct horse battery staple";
const FOREIGN: &str = "http://evil.example";
const FORM: &str = "application/x-www-form-urlencoded";
const WRONG_TOKEN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn every_declared_write_route_is_in_the_table() {
    let declared = routes::state_changing(&routes::declared(&["wiki", "plugin"]).unwrap());
    let listed: BTreeSet<(String, String)> = WRITES
        .iter()
        .map(|w| (w.method.to_owned(), w.route.to_owned()))
        .chain(
            UNMOUNTED
                .iter()
                .map(|(m, r, _)| ((*m).to_owned(), (*r).to_owned())),
        )
        .collect();
    let missing: Vec<_> = declared.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the CSRF table (tests/tests/csrf/table.rs) is out of date.\n\
         declared but not listed (add a row): {missing:?}\n\
         listed but no longer declared (remove the row): {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_and_origin_on_sqlite() {
    run("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_and_origin_on_postgres() {
    run("postgres").await;
}

/// The suite's server and what the rows act on.
struct Site {
    server: TestServer,
    http: reqwest::Client,
    room: String,
    seq_edit: u64,
    seq_delete: u64,
    /// The same for the popup's no-JavaScript edit and delete forms.
    seq_form_edit: u64,
    seq_form_delete: u64,
    people: People,
    session: BrowserSession,
}

/// The targets of the rooms-with-people rows (see [`table::WRITES`]).
struct People {
    /// Alice's invite-only room, bob and carol in it.
    group: String,
    /// A room alice may leave (she is its only member).
    leave: String,
    /// Invitations to alice (to accept, to decline) and from her (to cancel).
    accept: u64,
    decline: u64,
    cancel: u64,
    /// The same for the no-JavaScript forms (`/chats/...`), which need
    /// targets of their own.
    leave_form: String,
    accept_form: u64,
    decline_form: u64,
}

impl People {
    /// Builds them as alice and her colleagues would, through the API.
    async fn build(server: &TestServer, alice: &Api) -> anyhow::Result<Self> {
        for user in ["bob", "carol", "dave", "erin"] {
            server.add_user(user, PASSWORD)?;
        }
        let bob = Api::sign_in(server.port(), "bob", PASSWORD).await?;
        let carol = Api::sign_in(server.port(), "carol", PASSWORD).await?;
        let group = room_of(alice, "Csrf group").await?;
        let leave = room_of(alice, "Csrf leaving").await?;
        for (user, api) in [("bob", &bob), ("carol", &carol)] {
            let id = invite(alice, &group, user).await?;
            call(api, &format!("/api/invitations/{id}/accept"), json!({})).await?;
        }
        let accept = invite(&bob, &room_of(&bob, "Bob one").await?, "alice").await?;
        let decline = invite(&bob, &room_of(&bob, "Bob two").await?, "alice").await?;
        let cancel = invite(alice, &group, "dave").await?;
        let leave_form = room_of(alice, "Csrf leaving by form").await?;
        let accept_form = invite(&bob, &room_of(&bob, "Bob three").await?, "alice").await?;
        let decline_form = invite(&bob, &room_of(&bob, "Bob four").await?, "alice").await?;
        Ok(Self {
            group,
            leave,
            accept,
            decline,
            cancel,
            leave_form,
            accept_form,
            decline_form,
        })
    }
}

/// POSTs `body` as `api` and expects success; the answer.
async fn call(api: &Api, path: &str, body: Value) -> anyhow::Result<Value> {
    let response = api
        .request(reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "POST {path}: {status} {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A new invite-only group room of `api`'s user; its id.
async fn room_of(api: &Api, name: &str) -> anyhow::Result<String> {
    let made = call(api, "/api/rooms", json!({ "name": name })).await?;
    Ok(made["id"].as_str().unwrap_or_default().to_owned())
}

/// `api`'s user invites `user` into `room`; the invitation's id.
async fn invite(api: &Api, room: &str, user: &str) -> anyhow::Result<u64> {
    let made = call(
        api,
        &format!("/api/rooms/{room}/invitations"),
        json!({ "user": user }),
    )
    .await?;
    Ok(made["id"].as_u64().unwrap_or_default())
}

/// How one request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shot {
    /// Everything right: same `Origin`, cookie, token, content type.
    Control,
    ForeignOrigin,
    TextPlain,
    FormBody,
    MissingCsrf,
    WrongCsrf,
    NoCookie,
}

impl Shot {
    const ATTACKS: [Shot; 6] = [
        Shot::ForeignOrigin,
        Shot::TextPlain,
        Shot::FormBody,
        Shot::MissingCsrf,
        Shot::WrongCsrf,
        Shot::NoCookie,
    ];

    /// Why the attack does not apply to `row`, or `None` if it does.
    fn not_applicable(self, row: &Write) -> Option<&'static str> {
        let form_like = matches!(
            row.body,
            Body::Form(_)
                | Body::Login
                | Body::Multipart { csrf: true }
                | Body::Picture { csrf: true }
        );
        match self {
            _ if row.auth == Auth::Bearer => {
                Some("bearer only: a browser never adds the header cross-site")
            }
            Shot::TextPlain if matches!(row.body, Body::Empty) => {
                Some("takes no body: Origin and SameSite guard it")
            }
            Shot::FormBody if matches!(row.body, Body::Empty) => Some("takes no body"),
            Shot::FormBody if matches!(row.body, Body::Form(_) | Body::Login) => {
                Some("takes forms: the CSRF columns send a forged one")
            }
            Shot::MissingCsrf | Shot::WrongCsrf if !form_like => {
                Some("no token: Origin and the JSON/multipart content type guard it")
            }
            Shot::NoCookie if row.auth == Auth::Nobody && !matches!(row.body, Body::Login) => {
                Some("signing in needs no session")
            }
            _ => None,
        }
    }
}

async fn run(label: &str) {
    let test = format!("csrf_and_origin_{label}");
    let Some(binary) = skip::require(&test, server::binary()) else {
        return;
    };
    let Some(backend) = Backend::open(&test, label).await else {
        return;
    };
    let started = Instant::now();
    let site = Site::build(&format!("csrf-{label}"), &backend, &binary)
        .await
        .expect("the site is set up");
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in WRITES {
        let fresh = row.auth == Auth::FreshCookie;
        let mut session = match fresh {
            true => site.form_session().await.expect("a fresh session"),
            false => site.session.clone(),
        };
        // Once an attack got through, a destructive row's control finds its
        // target gone: say so rather than report a mystery.
        let mut breached = false;
        for shot in Shot::ATTACKS {
            if shot.not_applicable(row).is_some() {
                continue;
            }
            checked += 1;
            let sent = site.send(row, shot, &session).await;
            // Signing out answers every caller with a redirect home: what
            // tells a refused attack is that the session still works.
            let ended = fresh && !site.alive(&session).await;
            match sent {
                Ok(answer) if fresh && !ended && answer.status < 500 && no_cors(&answer) => {}
                Ok(answer) if !fresh && refused(&answer) && no_cors(&answer) => {}
                Ok(answer) => {
                    breached = true;
                    failures.push(line(label, row, shot, &answer));
                }
                Err(error) => failures.push(format!(
                    "{label} {} {} {shot:?}: {error:#}",
                    row.method, row.path
                )),
            }
            if ended {
                session = site.form_session().await.expect("a fresh session");
            }
        }
        checked += 1;
        match site.preflight(row).await {
            Ok(answer) if no_cors(&answer) => {}
            Ok(answer) => failures.push(format!(
                "{label} OPTIONS {} preflight from {FOREIGN}: CORS headers {:?}",
                row.path, answer.headers
            )),
            Err(error) => failures.push(format!("{label} OPTIONS {}: {error:#}", row.path)),
        }
        checked += 1;
        let control = match row.auth {
            Auth::Bearer => site.bearer_control(row).await,
            _ => site.send(row, Shot::Control, &session).await,
        };
        let ended = fresh && !site.alive(&session).await;
        match control {
            Ok(answer) if fresh && !ended => {
                failures.push(line(label, row, Shot::Control, &answer))
            }
            Ok(answer) if succeeded(&answer) && no_cors(&answer) => {}
            Ok(answer) if breached => failures.push(format!(
                "{} (an attack above already did it)",
                line(label, row, Shot::Control, &answer)
            )),
            Ok(answer) => failures.push(line(label, row, Shot::Control, &answer)),
            Err(error) => failures.push(format!(
                "{label} {} {} control: {error:#}",
                row.method, row.path
            )),
        }
    }
    checked += streams(&site, label, &mut failures).await;
    skip::announce(&format!(
        "{test}: {checked} checks, {} failed, in {:?}",
        failures.len(),
        started.elapsed()
    ));
    let Site { mut server, .. } = site;
    server.stop();
    drop(server);
    backend.finish().await.expect("drop the test database");
    assert!(
        failures.is_empty(),
        "{test}: {} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An answer as the suite judges it.
#[derive(Debug)]
struct Answer {
    status: u16,
    location: String,
    /// Every `access-control-*` header, which must stay empty.
    headers: Vec<String>,
    body: String,
}

fn refused(answer: &Answer) -> bool {
    (400..500).contains(&answer.status)
        || ((300..400).contains(&answer.status) && answer.location.starts_with("/login"))
}

fn succeeded(answer: &Answer) -> bool {
    (200..300).contains(&answer.status)
        || ((300..400).contains(&answer.status) && !answer.location.starts_with("/login"))
}

fn no_cors(answer: &Answer) -> bool {
    answer.headers.is_empty()
}

fn line(label: &str, row: &Write, shot: Shot, answer: &Answer) -> String {
    let want = match (shot, row.auth) {
        (Shot::Control, Auth::FreshCookie) => "end the session",
        (Shot::Control, _) => "succeed",
        (_, Auth::FreshCookie) => "leave the session alone",
        _ => "be refused",
    };
    let body: String = answer.body.chars().take(100).collect();
    format!(
        "{label:8} {:6} {:40} {:13} should {want}: {} {} {:?} {}",
        row.method,
        row.path,
        format!("{shot:?}"),
        answer.status,
        answer.location,
        answer.headers,
        body.replace('\n', " ")
    )
}

impl Site {
    async fn build(
        name: &str,
        backend: &Backend,
        binary: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let server = backend.start(name, binary, &[("BACKCHANNEL_POST_LIMIT", "1000/1")])?;
        server.add_admin("alice", PASSWORD)?;
        let api = Api::sign_in(server.port(), "alice", PASSWORD).await?;
        for (path, markdown) in [
            ("Csrf", "CSRF targets\n\n{chat:Csrf}\n"),
            ("CsrfMove", "to be moved"),
            ("CsrfDelete", "to be deleted by the form"),
            ("CsrfApiDelete", "to be deleted by the API"),
        ] {
            let response = api
                .request(reqwest::Method::PUT, &format!("/api/pages/{path}"))
                .json(&json!({ "markdown": markdown }))
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "PUT {path}: {}",
                response.status()
            );
        }
        let page: Value = api.get_json("/api/pages/Csrf").await?;
        let page_id = page["id"].as_str().unwrap_or_default().to_owned();
        let table = api
            .request(reqwest::Method::GET, "/macro/chat")
            .query(&[("page", page_id.as_str()), ("room", "Csrf")])
            .send()
            .await?
            .text()
            .await?;
        let room = table
            .split(r#"data-room=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        let seq_edit = api.say(&room, "to be edited", "setup-1").await?.seq;
        let seq_delete = api.say(&room, "to be deleted", "setup-2").await?.seq;
        let seq_form_edit = api.say(&room, "to be edited by form", "setup-3").await?.seq;
        let seq_form_delete = api
            .say(&room, "to be deleted by form", "setup-4")
            .await?
            .seq;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;
        let people = People::build(&server, &api).await?;
        let mut site = Site {
            server,
            http,
            room,
            seq_edit,
            seq_delete,
            seq_form_edit,
            seq_form_delete,
            people,
            session: BrowserSession {
                cookie: String::new(),
                csrf: String::new(),
            },
        };
        site.session = site.form_session().await?;
        Ok(site)
    }

    fn same_origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }

    /// Signs alice in through the sign-in form, as a browser does.
    async fn form_session(&self) -> anyhow::Result<BrowserSession> {
        session::sign_in(&self.http, &self.same_origin(), "alice", PASSWORD).await
    }

    fn path(&self, row: &Write) -> String {
        row.path
            .replace("{room}", &self.room)
            .replace("{seq_edit}", &self.seq_edit.to_string())
            .replace("{seq_delete}", &self.seq_delete.to_string())
            .replace("{seq_form_edit}", &self.seq_form_edit.to_string())
            .replace("{seq_form_delete}", &self.seq_form_delete.to_string())
            .replace("{group}", &self.people.group)
            .replace("{leave}", &self.people.leave)
            .replace("{accept}", &self.people.accept.to_string())
            .replace("{decline}", &self.people.decline.to_string())
            .replace("{cancel}", &self.people.cancel.to_string())
            .replace("{leave_form}", &self.people.leave_form)
            .replace("{accept_form}", &self.people.accept_form.to_string())
            .replace("{decline_form}", &self.people.decline_form.to_string())
    }

    /// Sends `row` the way `shot` says.
    async fn send(
        &self,
        row: &Write,
        shot: Shot,
        session: &BrowserSession,
    ) -> anyhow::Result<Answer> {
        let method = reqwest::Method::from_bytes(row.method.as_bytes())?;
        let mut request = self.http.request(method, self.server.url(&self.path(row)));
        request = match shot {
            Shot::ForeignOrigin => request.header("origin", FOREIGN),
            Shot::Control | Shot::MissingCsrf | Shot::WrongCsrf | Shot::NoCookie => {
                request.header("origin", self.same_origin())
            }
            Shot::TextPlain | Shot::FormBody => request,
        };
        let token = match shot {
            Shot::MissingCsrf => None,
            Shot::WrongCsrf => Some(WRONG_TOKEN.to_owned()),
            _ => Some(session.csrf.clone()),
        };
        let mut cookie = match row.auth {
            Auth::Cookie | Auth::FreshCookie => Some(session.cookie.clone()),
            Auth::Bearer | Auth::Nobody => None,
        };
        let (content_type, body) = match row.body {
            Body::Empty => (None, Vec::new()),
            Body::Json(text) => (
                Some("application/json".to_owned()),
                text.as_bytes().to_vec(),
            ),
            Body::Form(fields) => {
                let mut all: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                if let Some(token) = token {
                    all.push(("csrf".into(), token));
                }
                (Some(FORM.to_owned()), form_encode(&all).into_bytes())
            }
            Body::Multipart { csrf } => {
                let token = if csrf { token } else { None };
                let (kind, bytes) = multipart(token.as_deref());
                (Some(kind), bytes)
            }
            Body::Picture { csrf } => {
                let token = if csrf { token } else { None };
                let (kind, bytes) = picture_form(token.as_deref());
                (Some(kind), bytes)
            }
            Body::Image => (Some("image/png".to_owned()), TINY_PNG.to_vec()),
            Body::Login => {
                let (login_cookie, real) =
                    session::login_form(&self.http, &self.same_origin()).await?;
                cookie = Some(login_cookie);
                let token = match shot {
                    Shot::MissingCsrf => None,
                    Shot::WrongCsrf => Some(WRONG_TOKEN.to_owned()),
                    _ => Some(real),
                };
                let mut fields = vec![
                    ("username".to_owned(), "alice".to_owned()),
                    ("password".to_owned(), PASSWORD.to_owned()),
                ];
                if let Some(token) = token {
                    fields.push(("csrf".into(), token));
                }
                (Some(FORM.to_owned()), form_encode(&fields).into_bytes())
            }
        };
        let (content_type, body) = match shot {
            Shot::TextPlain => (Some("text/plain".to_owned()), body),
            Shot::FormBody => (Some(FORM.to_owned()), as_form(&body).into_bytes()),
            _ => (content_type, body),
        };
        if shot == Shot::NoCookie {
            cookie = None;
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        answer(request).await
    }

    /// Whether `session` is still signed in.
    async fn alive(&self, session: &BrowserSession) -> bool {
        let path = format!("/api/rooms/{}/read", self.room);
        let request = self
            .http
            .get(self.server.url(&path))
            .header("cookie", &session.cookie);
        matches!(request.send().await, Ok(response) if response.status() == 200)
    }

    /// A CORS preflight for `row` from a foreign origin.
    async fn preflight(&self, row: &Write) -> anyhow::Result<Answer> {
        let request = self
            .http
            .request(reqwest::Method::OPTIONS, self.server.url(&self.path(row)))
            .header("origin", FOREIGN)
            .header("access-control-request-method", row.method)
            .header("access-control-request-headers", "content-type")
            .header("cookie", &self.session.cookie);
        answer(request).await
    }

    /// `DELETE /api/session` with a fresh bearer token of its own.
    async fn bearer_control(&self, row: &Write) -> anyhow::Result<Answer> {
        let api = Api::sign_in(self.server.port(), "alice", PASSWORD).await?;
        let method = reqwest::Method::from_bytes(row.method.as_bytes())?;
        let request = self
            .http
            .request(method, self.server.url(row.path))
            .bearer_auth(&api.token);
        answer(request).await
    }
}

/// The body re-encoded as a form, as a cross-site `<form>` would send the
/// same fields: a JSON object's fields, or the body as one `data` field.
fn as_form(body: &[u8]) -> String {
    let fields: Vec<(String, String)> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object
            .into_iter()
            .map(|(key, value)| {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                (key, text)
            })
            .collect(),
        _ => vec![(
            "data".to_owned(),
            String::from_utf8_lossy(body).into_owned(),
        )],
    };
    form_encode(&fields)
}

/// A `multipart/form-data` body with one small file (and `csrf` if given).
fn multipart(csrf: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "csrfboundary3f9a0c";
    let mut body = String::new();
    if let Some(token) = csrf {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nnote\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// A 1x1 PNG: the smallest picture a profile takes.
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xdf, 0xc0, 0x00,
    0x00, 0x04, 0x01, 0x01, 0x80, 0xc5, 0x2a, 0x18, 0x5d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The profile picture form: `csrf` (if given) and an `avatar` field
/// holding [`TINY_PNG`].
fn picture_form(csrf: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "csrfboundary7d1e44";
    let mut body = Vec::new();
    if let Some(token) = csrf {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"me.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(TINY_PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn answer(request: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = cors_headers(response.headers());
    let body = response.text().await?;
    Ok(Answer {
        status,
        location,
        headers,
        body,
    })
}

fn cors_headers(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect()
}

/// The streams a page's cookies could open cross-site: the WebSocket
/// upgrade and SSE must refuse a foreign `Origin` and work from this one.
/// Returns how many checks ran.
async fn streams(site: &Site, label: &str, failures: &mut Vec<String>) -> usize {
    for (origin, want_open) in [(FOREIGN.to_owned(), false), (site.same_origin(), true)] {
        let url = format!("ws://127.0.0.1:{}/api/ws", site.server.port());
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("origin", HeaderValue::from_str(&origin).unwrap());
        headers.insert(
            "cookie",
            HeaderValue::from_str(&site.session.cookie).unwrap(),
        );
        let outcome = tokio_tungstenite::connect_async(request).await;
        let opened = match &outcome {
            Ok(_) => true,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let cors: Vec<_> = response
                    .headers()
                    .keys()
                    .filter(|name| name.as_str().starts_with("access-control-"))
                    .collect();
                if !cors.is_empty() {
                    failures.push(format!(
                        "{label} GET /api/ws from {origin}: CORS headers {cors:?}"
                    ));
                }
                false
            }
            Err(error) => {
                failures.push(format!("{label} GET /api/ws from {origin}: {error}"));
                continue;
            }
        };
        if opened != want_open {
            failures.push(format!(
                "{label} GET /api/ws (upgrade) from {origin}: opened={opened}, want {want_open}"
            ));
        }
    }
    for (origin, want_open) in [(FOREIGN.to_owned(), false), (site.same_origin(), true)] {
        let path = format!("/api/rooms/{}/stream", site.room);
        let request = site
            .http
            .get(site.server.url(&path))
            .header("origin", &origin)
            .header("cookie", &site.session.cookie);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                failures.push(format!("{label} GET {path} from {origin}: {error}"));
                continue;
            }
        };
        let opened = response.status() == 200;
        let cors = cors_headers(response.headers());
        if opened != want_open || !cors.is_empty() {
            failures.push(format!(
                "{label} GET {path} (SSE) from {origin}: {} {cors:?}, want open={want_open}",
                response.status()
            ));
        }
    }
    4
}
