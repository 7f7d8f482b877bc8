//! What user text can do to the log: nothing beyond its own field.

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

/// The log lines written while a test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Finding 12: a username with a line break used to be logged as is
/// (`user = %username`), so a failed sign-in could write a line of the
/// attacker's choosing. Now impossible names are never logged, and names
/// are logged quoted.
#[tokio::test(flavor = "current_thread")]
async fn a_username_cannot_forge_a_log_line() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let wiki = common::start();
    let router = &wiki.parts.router;
    for name in [
        "x\nFORGED INFO wiki::login: signed in user=admin",
        "x\r\nFORGED",
    ] {
        let body = serde_json::json!({ "username": name, "password": "wrong" });
        let reply = common::json(router, "POST", "/api/session", None, body).await;
        assert_eq!(reply.status, 401);
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("sign-in"), "the attempts are logged: {log}");
    assert!(
        !log.lines()
            .any(|line| line.trim_start().starts_with("FORGED")),
        "{log}"
    );
}
