//! Connect token parsing over generated input (issue 17, "Property tests"):
//! whatever arrives as a `jwt=` parameter or an `Authorization: JWT` header,
//! garbage or well signed with hostile claims, the plugin answers with a
//! client error and never panics or answers 5xx.
//!
//! Requests go through the real router (`connect::wrap` around `app`) on an
//! installed wiki, as in `connect.rs`; each case is one in-process request,
//! so a few hundred run in seconds.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use plugin::connect::{self, ConnectConfig, ConnectHost, MemoryInstallations};
use plugin::{AppState, Config, LocalBus, SqliteStore};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const CLIENT_KEY: &str = "wiki-one";
const SECRET: &str = "wiki-one-shared-secret-0123456789abcdef";
const BASE_URL: &str = "https://wiki.example";
/// The operator's secret a first install must present.
const INSTALL_SECRET: &str = "install-secret-for-properties";
const QUERY: &str = "page=42&room=Team%20Room";

/// An installed wiki's router; the runtime it was built on runs the cases.
fn installed() -> (tokio::runtime::Runtime, Router, tempfile::TempDir) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let router = runtime.block_on(async {
        let store = Arc::new(SqliteStore::open(&dir.path().join("chat.db")).unwrap());
        let host = ConnectHost::new(
            ConnectConfig {
                install_secret: Some(INSTALL_SECRET.into()),
                ..ConnectConfig::default()
            },
            Arc::new(MemoryInstallations::default()),
        );
        let state = AppState::new(
            Arc::new(host.clone()),
            store,
            Arc::new(LocalBus::new()),
            Config {
                files_dir: dir.path().join("files"),
                ..Config::default()
            },
        );
        let router = connect::wrap(host, plugin::app(state));
        let install = json!({
            "key": "backchannel", "clientKey": CLIENT_KEY, "sharedSecret": SECRET,
            "baseUrl": BASE_URL, "productType": "wiki", "eventType": "installed",
        });
        let reply = router
            .clone()
            .oneshot(
                Request::post("/connect/installed")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, format!("Bearer {INSTALL_SECRET}"))
                    .body(Body::from(install.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::NO_CONTENT);
        router
    });
    (runtime, router, dir)
}

/// Sends `token` both ways the plugin reads one; returns the two statuses.
fn statuses(runtime: &tokio::runtime::Runtime, router: &Router, token: &str) -> Vec<StatusCode> {
    let in_query = format!(
        "/macro/chat?{QUERY}&jwt={}",
        percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut requests = vec![Request::get(in_query).body(Body::empty()).unwrap()];
    if let Ok(value) = header::HeaderValue::from_str(&format!("JWT {token}")) {
        let mut request = Request::get(format!("/macro/chat?{QUERY}"))
            .body(Body::empty())
            .unwrap();
        request.headers_mut().insert(header::AUTHORIZATION, value);
        requests.push(request);
    }
    runtime.block_on(async {
        let mut out = Vec::new();
        for request in requests {
            out.push(router.clone().oneshot(request).await.unwrap().status());
        }
        out
    })
}

/// Unpadded base64url, as JWT segments are written (the plugin has no
/// base64 dependency of its own to borrow).
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The `qsh` of the request [`statuses`] sends, so hostile claims get past
/// the hash check and on to everything after it.
fn qsh_of_query() -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(format!("GET&/macro/chat&{QUERY}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims that are valid JSON but hostile: any numbers for the times
/// (i64 extremes included), odd types, missing fields.
fn claims() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        3 => Just(json!(i64::MAX)),
        3 => Just(json!(i64::MIN)),
        1 => Just(json!(0)),
        1 => Just(json!(-1)),
        1 => Just(json!(u64::MAX)),
        1 => Just(json!(1e300)),
        1 => Just(json!("1700000000")),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(|n| json!(n)),
    ];
    (
        number.clone(),
        number,
        prop_oneof![8 => Just(json!(CLIENT_KEY)), 1 => Just(json!(1)), 1 => Just(Value::Null)],
        prop_oneof![8 => Just(json!("ada")), 1 => Just(json!("")), 1 => Just(json!({}))],
        prop_oneof![
            6 => Just(json!(qsh_of_query())),
            1 => Just(json!("0".repeat(64))),
            1 => Just(json!(null)),
            1 => "\\PC{0,8}".prop_map(|s| json!(s)),
        ],
        prop::bool::weighted(0.9),
    )
        .prop_map(|(iat, exp, iss, sub, qsh, with_context)| {
            let mut claims = json!({ "iss": iss, "sub": sub, "iat": iat, "exp": exp, "qsh": qsh });
            if with_context {
                claims["context"] = json!({
                    "user": { "displayName": "Ada" },
                    "page": { "id": "42", "title": "T", "url": format!("{BASE_URL}/p"),
                              "timeZone": "Europe/Paris" },
                    "access": "write",
                });
            }
            claims
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn garbage_tokens_are_refused_without_a_panic(
        token in prop_oneof![
            "\\PC{0,40}",
            "[A-Za-z0-9_-]{0,20}\\.[A-Za-z0-9_-]{0,20}\\.[A-Za-z0-9_-]{0,20}",
            (any::<Vec<u8>>(), any::<Vec<u8>>(), any::<Vec<u8>>())
                .prop_map(|(h, c, s)| format!("{}.{}.{}", b64(&h), b64(&c), b64(&s))),
            ("\\PC{0,30}", "\\PC{0,30}").prop_map(|(h, c)| {
                format!("{}.{}.", b64(h.as_bytes()), b64(c.as_bytes()))
            }),
        ]
    ) {
        let (runtime, router, _dir) = installed();
        for status in statuses(&runtime, &router, &token) {
            prop_assert!(status.is_client_error(), "{token:?} answered {status}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Signed with the real secret, so every check past the signature runs
    /// on hostile claims. Issue 17 finding 8: `exp - iat` was computed
    /// unchecked and overflowed (a panic in debug builds) for e.g.
    /// `iat = i64::MIN` (the saved regression case).
    #[test]
    fn signed_tokens_with_hostile_claims_are_refused_without_a_panic(claims in claims()) {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let (runtime, router, _dir) = installed();
        for status in statuses(&runtime, &router, &token) {
            prop_assert!(status.is_client_error(), "{claims} answered {status}");
        }
    }
}
