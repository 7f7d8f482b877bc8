//! One person's journey in one Chromium session, with everything around it
//! that every single-browser test needs: the skip rule (no binary, no
//! Chromium, no wasm bundle when the test needs it), a fresh server with
//! its users, chromedriver, a time budget, and on failure a screenshot and
//! the server log's tail in the panic.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Result;

use crate::browser::{self, Browser, Chromedriver};
use crate::server::{self, TestServer};
use crate::{skip, workspace};

/// What a journey runs against.
pub struct Setup<'a> {
    /// The test's full name, for `SKIPPED:` lines.
    pub test: &'a str,
    /// Names the server's data and log under `target/e2e`, and the
    /// failure screenshot (`<name>-failure.png`).
    pub name: &'a str,
    /// Environment for the server.
    pub env: &'a [(&'a str, &'a str)],
    /// Users to create: (name, password).
    pub users: &'a [(&'a str, &'a str)],
    /// The browser's session: whose it is.
    pub who: &'a str,
    /// JavaScript on (and the wasm bundle required), or off.
    pub javascript: bool,
    /// The journey fails rather than hang CI past this.
    pub budget: Duration,
}

/// A journey: given the server and the browser, the steps.
pub type Steps =
    for<'a> fn(&'a TestServer, &'a Browser) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// Runs `steps` as `setup` says; panics with the reason, a screenshot's
/// path and the server log on failure; returns quietly when skipped.
pub async fn run(setup: Setup<'_>, steps: Steps) {
    let Some(binary) = skip::require(setup.test, server::binary()) else {
        return;
    };
    let Some((chromium, driver)) = skip::require(setup.test, browser::find_chromium()) else {
        return;
    };
    if setup.javascript {
        let bundle = workspace::require_ui_bundle().map_err(|error| format!("{error:#}"));
        if skip::require(setup.test, bundle).is_none() {
            return;
        }
    }
    let server =
        TestServer::start_with_env(setup.name, &binary, setup.env).expect("the server starts");
    for (user, password) in setup.users {
        server.add_user(user, password).expect("a user is created");
    }
    let driver = Chromedriver::start(&driver, &chromium).expect("chromedriver starts");
    let session = if setup.javascript {
        driver.browser(setup.who).await
    } else {
        driver.browser_without_javascript(setup.who).await
    };
    let browser = session.expect("a Chromium session");
    let outcome = tokio::time::timeout(setup.budget, steps(&server, &browser)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some(format!("the journey took longer than {:?}", setup.budget)),
    };
    if let Some(failure) = failure {
        if let Ok(path) = browser.screenshot(&format!("{}-failure", setup.name)).await {
            skip::announce(&format!("screenshot: {}", path.display()));
        }
        let _ = browser.close().await;
        panic!(
            "{failure}\n\nserver log ({}), last lines:\n{}",
            server.log_path().display(),
            server.log_tail(40)
        );
    }
    browser.close().await.expect("the browser closes");
}
