//! The authorization matrix (issue 17, "Test suites to add"): every read
//! path x {anonymous, outsider, reader, editor, admin} x {before, after the
//! page's rules were tightened, after the caller's session ended: by
//! `DELETE /api/session`, by signing out of the browser, by a password
//! reset}, against the real binary on SQLite and on PostgreSQL.
//!
//! The paths are two tables: [`requests::PROBES`] (one HTTP request each)
//! and [`streams::STREAMS`] (WebSocket, SSE, held long-poll). The fixture
//! ([`Vault`]) and the judging rules ([`backchannel_tests::matrix`]) are
//! shared; every failed cell is collected and the test panics once with the
//! table of them (path x role x phase x backend), so one run shows every hole.
//!
//! PostgreSQL: `BACKCHANNEL_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) creates a database for the
//! run; unreachable, the PostgreSQL test says SKIPPED, or fails under CI=true.

// Test scaffolding: a failure should panic the test that called it.
#![allow(clippy::unwrap_used)]

mod requests;
mod streams;

use backchannel_tests::backend::Backend;
use backchannel_tests::matrix::{Failures, Phase, Role};
use backchannel_tests::server;
use backchannel_tests::skip;
use backchannel_tests::vault::{Vault, PASSWORD};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_on_sqlite() {
    run("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_on_postgres() {
    run("postgres").await;
}

async fn run(label: &str) {
    let test = format!("authorization_matrix_{label}");
    let Some(binary) = skip::require(&test, server::binary()) else {
        return;
    };
    let Some(backend) = Backend::open(&test, label).await else {
        return;
    };
    let started = Instant::now();
    let vault = Vault::build(&format!("authz-{label}"), &backend, &binary)
        .await
        .expect("the fixture is built");
    let mut failures = Failures::default();
    let mut callers = Vec::new();
    for (n, phase) in Phase::ALL.into_iter().enumerate() {
        // Fresh sessions to start with, and again for each phase that ends
        // them: bearer tokens as scripts hold them, cookies as browsers do.
        if phase != Phase::AclTightened {
            callers.clear();
            for role in Role::ALL {
                let credential = match phase {
                    Phase::SignedOut | Phase::PasswordChanged => vault.browser_sign_in(role).await,
                    _ => vault.sign_in(role).await,
                };
                callers.push((role, credential.expect("sign in")));
            }
        }
        let slots = streams::open_all(&vault, &callers).await;
        match phase {
            Phase::Before => {}
            Phase::AclTightened => vault.tighten().await.expect("tighten the rules"),
            Phase::SessionEnded | Phase::SignedOut => {
                for (_, credential) in &callers {
                    if let Some(credential) = credential {
                        vault.sign_out(credential).await.expect("sign out");
                    }
                }
            }
            Phase::PasswordChanged => {
                for user in Role::ALL.iter().filter_map(|role| role.user()) {
                    let password = format!("{PASSWORD} reset");
                    vault
                        .server
                        .set_password(user, &password)
                        .expect("reset the password");
                }
            }
        }
        vault
            .actor
            .say(
                &vault.room,
                &streams::message_for(phase),
                &format!("live-{n}"),
            )
            .await
            .expect("the actor posts");
        vault.type_now().await.expect("the actor types");
        let status = if n % 2 == 0 { "away" } else { "active" };
        vault
            .beat(status)
            .await
            .expect("the actor's presence changes");
        streams::observe_all(&vault, slots, phase, &mut failures).await;
        requests::check_all(&vault, &callers, phase, &mut failures).await;
        if phase == Phase::AclTightened {
            vault.restore().await.expect("restore the rules");
        }
    }
    skip::announce(&format!(
        "{test}: {} cells, {} failed, in {:?}",
        failures.checked(),
        failures.failed().len(),
        started.elapsed()
    ));
    let Vault { mut server, .. } = vault;
    server.stop();
    drop(server);
    backend.finish().await.expect("drop the test database");
    failures.finish(&test);
}
