//! Client input over generated values (issue 17, "Property tests"): the
//! history API's query parameters (frames are `protocol/tests/frames.rs`).
//! Whatever a client sends, it gets an answer (a page of history or a 4xx with a code),
//! never a panic or a 5xx. Debug test builds check overflow, so arithmetic
//! on a hostile `after` or `limit` shows up here.
//!
//! History requests go through the real router on [`plugin::testing::TestApp`]
//! (SQLite, the in-memory host) in one room holding a few messages.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use plugin::testing::TestApp;
use proptest::prelude::*;
use protocol::RoomId;
use tower::ServiceExt;

/// A reader's router and a room with three messages in it; the app is
/// built on `runtime`, which must outlive it.
fn room_with_history(runtime: &tokio::runtime::Runtime) -> (TestApp, Router, RoomId) {
    runtime.block_on(async {
        let app = TestApp::new().unwrap();
        app.host.add_user("alice");
        let page = app.host.add_page("Team");
        app.host.grant("alice", &page, plugin::Access::Write);
        let room = app.room(&page, "Lobby").await.unwrap();
        let router = app.router();
        for n in 0..3 {
            let body = format!(r#"{{"body":"m{n}","client_msg_id":"c{n}"}}"#);
            let reply = router
                .clone()
                .oneshot(
                    Request::post(format!("/api/rooms/{room}/messages"))
                        .header(header::AUTHORIZATION, "Bearer alice")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{}", reply.status());
        }
        (app, router, room)
    })
}

/// A value for a numeric parameter: boundaries, signs, junk.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(u64::MAX.to_string()),
        Just((u64::MAX - 1).to_string()),
        Just("18446744073709551616".to_owned()),
        Just(usize::MAX.to_string()),
        Just(i64::MAX.to_string()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("".to_owned()),
        Just("1e3".to_owned()),
        Just("%00".to_owned()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9a-z%+-]{0,6}",
    ]
}

/// A history query string: any mix of the parameters, repeated or not.
fn history_query() -> impl Strategy<Value = String> {
    let param = prop_oneof![
        number().prop_map(|v| format!("after={v}")),
        number().prop_map(|v| format!("before={v}")),
        number().prop_map(|v| format!("limit={v}")),
        prop_oneof![
            Just("day"),
            Just("week"),
            Just("month"),
            Just("3months"),
            Just("year"),
            Just("")
        ]
        .prop_map(|v| format!("range={v}")),
        "[a-z=&%]{0,8}",
    ];
    prop::collection::vec(param, 0..4).prop_map(|params| params.join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Each case builds a fresh app (SQLite, three messages): ~70 ms, so the
    /// count stays low.
    #[test]
    fn history_parameters_never_panic_or_fail_the_server(query in history_query()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_app, router, room) = room_with_history(&runtime);
        let status = runtime.block_on(async {
            router
                .oneshot(
                    Request::get(format!("/api/rooms/{room}/messages?{query}"))
                        .header(header::AUTHORIZATION, "Bearer alice")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        });
        prop_assert!(
            status == StatusCode::OK || status.is_client_error(),
            "?{query} answered {status}"
        );
    }
}
