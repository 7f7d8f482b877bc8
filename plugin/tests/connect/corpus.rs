//! The Connect negative corpus (issue 17, finding 8): every way a hostile
//! or careless party may present a token, install, or answer a call, each
//! refused with the right status and code. A table: a new attack is a new
//! row.

use super::*;
use axum::routing::put;

/// One hostile request and the refusal it must get.
struct Case {
    name: &'static str,
    /// Sent first and expected to succeed (a replay needs an original).
    before: Option<Request<Body>>,
    request: Request<Body>,
    status: StatusCode,
    code: &'static str,
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// Base64url without padding, to hand-craft tokens no library would sign.
fn b64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A token with the header `header`, signed with HMAC-SHA256 as HS256
/// would be, whatever the header claims.
fn forge(header: &Value, claims: &Value, secret: &str) -> String {
    let signing = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!(
        "{signing}.{}",
        b64(&hmac_sha256(secret.as_bytes(), signing.as_bytes()))
    )
}

/// HMAC-SHA256 (RFC 2104), for keys up to the block size.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn lobby_claims() -> Value {
    claims(CLIENT_KEY, "ada", LOBBY_CANONICAL, context("42", "write"))
}

pub(super) fn lobby_with(token: &str) -> Request<Body> {
    get(&format!("/macro/chat?{LOBBY_QUERY}&jwt={token}"))
}

/// The lobby's claims with `edit` applied.
fn edited(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = lobby_claims();
    edit(claims.as_object_mut().unwrap());
    claims
}

pub(super) fn install(
    base_url: &str,
    client_key: &str,
    authorization: Option<String>,
) -> Request<Body> {
    let body = json!({
        "key": "backchannel", "clientKey": client_key, "sharedSecret": OTHER_SECRET,
        "baseUrl": base_url, "eventType": "installed",
    });
    let mut request =
        Request::post("/connect/installed").header(header::CONTENT_TYPE, "application/json");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

fn first_install(base_url: &str) -> Request<Body> {
    install(
        base_url,
        "newcomer",
        Some(format!("Bearer {INSTALL_SECRET}")),
    )
}

fn cases() -> Vec<Case> {
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let unauthenticated = |name, request| Case {
        name,
        before: None,
        request,
        status: StatusCode::UNAUTHORIZED,
        code: "unauthenticated",
    };
    let replayed = lobby_url(SECRET, "write");
    let duplicated = sign(SECRET, &lobby_claims());
    let mut cases = vec![
        unauthenticated(
            "alg none",
            lobby_with(&format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(lobby_claims().to_string().as_bytes())
            )),
        ),
        unauthenticated(
            "alg RS256 with an HMAC signature (algorithm confusion)",
            lobby_with(&forge(&json!({"alg": "RS256"}), &lobby_claims(), SECRET)),
        ),
        unauthenticated(
            "alg HS512",
            lobby_with(
                &jsonwebtoken::encode(
                    &Header::new(Algorithm::HS512),
                    &lobby_claims(),
                    &EncodingKey::from_secret(SECRET.as_bytes()),
                )
                .unwrap(),
            ),
        ),
        unauthenticated(
            "signed with another secret",
            lobby_with(&sign(OTHER_SECRET, &lobby_claims())),
        ),
    ];
    for claim in ["iss", "iat", "exp", "qsh", "context"] {
        cases.push(unauthenticated(
            match claim {
                "iss" => "missing iss",
                "iat" => "missing iat",
                "exp" => "missing exp",
                "qsh" => "missing qsh",
                _ => "missing context",
            },
            lobby_with(&forge(
                &hs256,
                &edited(|c| {
                    c.remove(claim);
                }),
                SECRET,
            )),
        ));
    }
    cases.extend([
        unauthenticated(
            "qsh of the request without the duplicate parameter",
            get(&format!(
                "/macro/chat?{LOBBY_QUERY}&room=Other&jwt={duplicated}"
            )),
        ),
        unauthenticated(
            "qsh of the duplicates, request without them",
            lobby_with(&sign(
                SECRET,
                &claims(
                    CLIENT_KEY,
                    "ada",
                    "GET&/macro/chat&page=42&room=Other,Team%20Room",
                    context("42", "write"),
                ),
            )),
        ),
        Case {
            name: "replay",
            before: Some(get(&replayed)),
            ..unauthenticated("replay", get(&replayed))
        },
        unauthenticated(
            "iat an hour in the future",
            lobby_with(&sign(
                SECRET,
                &edited(|c| {
                    c.insert("iat".into(), json!(now() + 3600));
                    c.insert("exp".into(), json!(now() + 3700));
                }),
            )),
        ),
        unauthenticated(
            "exp at i64::MAX",
            lobby_with(&sign(
                SECRET,
                &edited(|c| {
                    c.insert("exp".into(), json!(i64::MAX));
                }),
            )),
        ),
        unauthenticated(
            "iat at i64::MIN (exp - iat overflows)",
            lobby_with(&sign(
                SECRET,
                &edited(|c| {
                    c.insert("iat".into(), json!(i64::MIN));
                }),
            )),
        ),
        unauthenticated(
            "lifetime over 15 minutes",
            lobby_with(&sign(
                SECRET,
                &edited(|c| {
                    c.insert("exp".into(), json!(now() + 16 * 60));
                }),
            )),
        ),
        unauthenticated(
            "squatting a new client key without the install secret",
            install(BASE_URL, "newcomer", None),
        ),
        unauthenticated(
            "squatting with a wrong install secret",
            install(BASE_URL, "newcomer", Some("Bearer guess".into())),
        ),
        unauthenticated(
            "squatting an installed key with the install secret but unsigned",
            install(
                BASE_URL,
                CLIENT_KEY,
                Some(format!("Bearer {INSTALL_SECRET}")),
            ),
        ),
    ]);
    let refused = |name, request, status, code| Case {
        name,
        before: None,
        request,
        status,
        code,
    };
    let (bad, forbidden) = (StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN);
    cases.extend([
        refused(
            "page url outside the wiki's origin",
            lobby_with(&sign(
                SECRET,
                &edited(|c| {
                    c["context"]["page"]["url"] = json!("javascript:alert(1)");
                }),
            )),
            bad,
            "invalid_input",
        ),
        refused(
            "baseUrl with a fragment",
            first_install("https://wiki.example/#x"),
            bad,
            "invalid_input",
        ),
        refused(
            "baseUrl with userinfo",
            first_install("https://wiki.example@evil.example/"),
            bad,
            "invalid_input",
        ),
        refused(
            "baseUrl extending an allowed host name (prefix confusion)",
            first_install("https://wiki.example.evil.net/"),
            forbidden,
            "forbidden",
        ),
        refused(
            "baseUrl on another port of an allowed host",
            first_install("https://wiki.example:8443/"),
            forbidden,
            "forbidden",
        ),
        refused(
            "baseUrl at the cloud metadata address",
            first_install("http://169.254.169.254/"),
            forbidden,
            "forbidden",
        ),
    ]);
    cases
}

/// What a refused request answered, for the failure message.
fn summary(reply: &Reply) -> (StatusCode, String) {
    let code = reply.json()["error"]["code"]
        .as_str()
        .unwrap_or("-")
        .to_owned();
    (reply.status, code)
}

#[tokio::test]
async fn every_hostile_token_and_install_is_refused_with_the_right_status() {
    let h = harness_with(ConnectConfig {
        allowed_base_urls: vec![BASE_URL.to_owned()],
        ..ConnectConfig::default()
    })
    .await;
    assert_eq!(
        h.install(CLIENT_KEY, SECRET, None).await.status,
        StatusCode::NO_CONTENT
    );
    let mut wrong = Vec::new();
    for case in cases() {
        if let Some(before) = case.before {
            let first = h.send(before).await;
            assert_eq!(
                first.status,
                StatusCode::OK,
                "{}: {}",
                case.name,
                first.body
            );
        }
        let reply = h.send(case.request).await;
        let got = summary(&reply);
        if got != (case.status, case.code.to_owned()) {
            wrong.push(format!(
                "{}: expected {} {}, got {got:?}: {}",
                case.name, case.status, case.code, reply.body
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // After all that, the honest wiki still works.
    assert_eq!(
        h.get(&lobby_url(SECRET, "read"), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_an_install_secret_first_installs_are_closed() {
    let h = harness().await;
    // The harness configures one; an operator who sets none gets this:
    let closed = harness_with(ConnectConfig {
        install_secret: Some(String::new()),
        ..ConnectConfig::default()
    })
    .await;
    let reply = closed.send(first_install(BASE_URL)).await;
    assert_eq!(summary(&reply), (StatusCode::FORBIDDEN, "forbidden".into()));
    let reply = h.send(first_install(BASE_URL)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

/// A wiki whose child-page endpoint answers `answer`; its base URL.
async fn wiki_answering(answer: Value) -> String {
    wiki_answering_from(Arc::new(Mutex::new(answer))).await
}

/// A wiki whose child-page endpoint answers whatever `answer` holds at the
/// time of the call; its base URL.
pub(super) async fn wiki_answering_from(answer: Arc<Mutex<Value>>) -> String {
    let wiki = Router::new().route(
        "/rest/backchannel/pages/{page}/children",
        put(move || {
            let answer = answer.lock().unwrap().clone();
            async move { axum::Json(answer) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, wiki).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn links_and_answers_from_a_wiki_are_checked() {
    let h = harness_with(ConnectConfig {
        allow_private_base_urls: true,
        ..ConnectConfig::default()
    })
    .await;
    let child = ChildPage {
        segments: vec!["Chat".into()],
        title: "Chat".into(),
        markdown: String::new(),
    };
    let huge = "x".repeat(200 * 1024);
    for (answer, why) in [
        (
            json!({"path": "p", "url": "javascript:alert(1)", "changed": true}),
            "outside its baseUrl",
        ),
        (
            json!({"path": "p", "url": "https://evil.example/p", "changed": true}),
            "outside its baseUrl",
        ),
        (json!({"path": huge, "url": "/p", "changed": true}), "bytes"),
    ] {
        let base = wiki_answering(answer).await;
        // Each run points the installation at a new wiki (a signed re-install).
        let token = sign(
            SECRET,
            &json!({"iss": CLIENT_KEY, "iat": now(), "exp": now() + 180,
                    "jti": uuid::Uuid::new_v4().to_string(),
                    "qsh": qsh("POST&/connect/installed&")}),
        );
        let first = h.install_at(CLIENT_KEY, SECRET, &base, None).await;
        if first.status != StatusCode::NO_CONTENT {
            let again = h.install_at(CLIENT_KEY, SECRET, &base, Some(&token)).await;
            assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.body);
        }
        let err = h
            .host
            .put_child_page(&PageId::new("wiki-one:42"), child.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let refused = harness().await;
    let private = refused
        .install_at(CLIENT_KEY, SECRET, "http://127.0.0.1:9/", None)
        .await;
    assert_eq!(
        summary(&private),
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
}

#[tokio::test]
async fn an_installation_stored_before_the_policy_tightened_is_not_called() {
    let installations = Arc::new(MemoryInstallations::default());
    let stored = Installation {
        client_key: CLIENT_KEY.into(),
        shared_secret: SECRET.into(),
        base_url: "http://169.254.169.254".into(),
    };
    assert!(installations.insert_new(&stored).await.unwrap());
    let host = ConnectHost::new(ConnectConfig::default(), installations);
    let child = ChildPage {
        segments: vec!["Chat".into()],
        title: "Chat".into(),
        markdown: String::new(),
    };
    let err = host
        .put_child_page(&PageId::new("wiki-one:42"), child)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not calling"), "{err}");
}
