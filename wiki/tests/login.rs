//! Sign-in under hostile load, over real HTTP: bursts of wrong passwords,
//! huge usernames, lockouts across addresses behind a proxy, and page views
//! while a flood runs.

// Test helpers: a failure should panic the test that called them.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wiki::edge::{Edge, EdgeArgs};
use wiki::throttle::MAX_FAILURES;

/// Serves `router` on a free loopback port, as `backchannel serve` does
/// (with the peer address for the throttle).
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// A wiki behind a reverse proxy at 127.0.0.1 (`--trusted-proxy 127.0.0.1`).
fn behind_proxy() -> common::TestWiki {
    common::start_with_edge(
        Edge::from_args(&EdgeArgs {
            trusted_proxies: vec!["127.0.0.1".into()],
            ..EdgeArgs::default()
        })
        .unwrap(),
    )
}

async fn api_sign_in(
    client: &reqwest::Client,
    addr: SocketAddr,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let mut request = client
        .post(format!("http://{addr}/api/session"))
        .json(&serde_json::json!({ "username": username, "password": password }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap().status().as_u16()
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Finding 1: 300 simultaneous wrong passwords from one address. Before the
/// fix every one of them ran argon2 (the throttle counted failures after
/// the check); now each takes its slot first, so at most MAX_FAILURES
/// checks run and the rest are 429 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_burst_of_wrong_logins_gets_at_most_max_failures_checks() {
    let wiki = common::start();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let attempts = (0..300).map(|i| {
        let client = client.clone();
        async move { api_sign_in(&client, addr, "admin", &format!("wrong {i}"), None).await }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let (wrong, limited) = (count(&statuses, 401), count(&statuses, 429));
    assert_eq!(wrong + limited, 300, "{statuses:?}");
    assert!(
        wrong <= MAX_FAILURES as usize,
        "{wrong} wrong-password answers, {limited} 429s"
    );
    let checks = wiki.parts.wiki.verifications.load(Ordering::Relaxed);
    assert_eq!(
        checks, wrong as u64,
        "argon2 ran once per 401 and never for a 429"
    );
    // The owner, from the same address, still signs in... after the window;
    // from elsewhere at once (see the proxy test).
}

/// Finding 1: a burst spread over many addresses (through a trusted proxy)
/// fills the argon2 queue; what does not fit is refused with 429 at once
/// instead of waiting in an unbounded queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_distributed_burst_is_refused_when_the_check_queue_is_full() {
    let wiki = behind_proxy();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let attempts = (0..200u32).map(|i| {
        let client = client.clone();
        async move {
            let ip = format!("198.51.{}.{}", i / 200, i % 200 + 1);
            let status = api_sign_in(&client, addr, "admin", "wrong", Some(&ip)).await;
            (status, started.elapsed())
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    let (wrong, limited) = (count(&statuses, 401), count(&statuses, 429));
    assert_eq!(wrong + limited, 200, "{statuses:?}");
    assert!(limited > 0, "a full queue refuses: {statuses:?}");
    assert!(
        wrong <= wiki::hasher::QUEUE + 8,
        "{wrong} checks ran; the queue holds {}",
        wiki::hasher::QUEUE
    );
    let fastest_refusal = answers
        .iter()
        .filter(|(s, _)| *s == 429)
        .map(|(_, t)| *t)
        .min()
        .unwrap();
    println!("distributed burst: {wrong} checks, {limited} refused; first refusal after {fastest_refusal:?}");
}

/// Finding 1: usernames are checked before anything else. Huge ones are
/// refused unread (413); long or odd ones run no argon2 check and leave no
/// trace of themselves in the throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_and_impossible_usernames_cost_nothing_and_are_not_kept() {
    let wiki = common::start();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let huge = "x".repeat(200 * 1024);
    // The server answers 413 from the Content-Length alone and closes the
    // connection without reading the body, so a client still writing its
    // 200 KiB may see the connection cut before it reads the answer (HTTP/1.1
    // has no way around that but Expect: 100-continue, which reqwest does
    // not send). Either way the request was refused unread.
    let attempts = (0..300).map(|_| {
        let (client, huge) = (client.clone(), huge.clone());
        async move {
            let sent = client
                .post(format!("http://{addr}/api/session"))
                .json(&serde_json::json!({ "username": huge, "password": "wrong" }))
                .send()
                .await;
            match sent {
                Ok(response) => response.status().as_u16(),
                Err(error) if error.is_request() => 413,
                Err(error) => panic!("{error}"),
            }
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(count(&statuses, 413), 300, "{statuses:?}");

    let long = "y".repeat(10 * 1024);
    let mut statuses = Vec::new();
    for name in [long.as_str(), "line\nbreak", "a b", ""] {
        for _ in 0..10 {
            statuses.push(api_sign_in(&client, addr, name, "wrong", None).await);
        }
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let throttle = &wiki.parts.wiki.throttle;
    assert_eq!(wiki.parts.wiki.verifications.load(Ordering::Relaxed), 0);
    assert_eq!(throttle.username_bytes(), 0);
    assert!(throttle.len() <= 1, "{} keys", throttle.len());
}

/// Finding 2: behind a trusted proxy, a stranger's failures lock their own
/// address out, not the account: admin signs in from another address.
/// Before the fix the username key locked admin out everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_strangers_failures_do_not_lock_admin_out_from_elsewhere() {
    let wiki = behind_proxy();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..20 {
        let guess = format!("guess {i}");
        statuses.push(api_sign_in(&client, addr, "admin", &guess, Some("203.0.113.7")).await);
    }
    assert_eq!(count(&statuses, 401), MAX_FAILURES as usize, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 20 - MAX_FAILURES as usize);
    let password = &wiki.admin_password;
    let status = api_sign_in(&client, addr, "admin", password, Some("198.51.100.9")).await;
    assert_eq!(status, 200);
    // The stranger is still locked out, even with the right password.
    let status = api_sign_in(&client, addr, "admin", password, Some("203.0.113.7")).await;
    assert_eq!(status, 429);
}

/// Finding 2: without --trusted-proxy, X-Forwarded-For is not believed: a
/// client cannot dodge its lockout by claiming a new address each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let wiki = common::start();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..(MAX_FAILURES + 3) {
        let ip = format!("192.0.2.{}", i + 1);
        statuses.push(api_sign_in(&client, addr, "admin", "wrong", Some(&ip)).await);
    }
    assert_eq!(count(&statuses, 401), MAX_FAILURES as usize, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 3);
}

/// The budget: while a login flood keeps the argon2 thread saturated, page
/// views keep answering. Asserts every view answered 200 and prints the
/// measured p99 (a number for the notes, not a pass/fail time).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn page_views_answer_during_a_login_flood() {
    let wiki = behind_proxy();
    let addr = serve(wiki.parts.router.clone()).await;
    let client = reqwest::Client::new();
    let quiet = view_times(&client, addr, 100).await;
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut flood = Vec::new();
    for worker in 0..64u32 {
        let (client, flooding) = (client.clone(), flooding.clone());
        flood.push(tokio::spawn(async move {
            let mut sent = 0u32;
            while flooding.load(Ordering::Relaxed) {
                let ip = format!("10.{worker}.{}.{}", sent / 250, sent % 250 + 1);
                let _ = api_sign_in(&client, addr, "admin", "wrong", Some(&ip)).await;
                sent += 1;
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut times = view_times(&client, addr, 400).await;
    flooding.store(false, Ordering::Relaxed);
    let mut sent = 0;
    for task in flood {
        sent += task.await.unwrap();
    }
    times.sort();
    let checks = wiki.parts.wiki.verifications.load(Ordering::Relaxed);
    println!("page views, quiet: {}", percentiles(&quiet));
    println!(
        "page views during a login flood ({sent} sign-ins sent, {checks} argon2 checks): {}",
        percentiles(&times)
    );
    assert!(checks > 0, "the flood reached argon2");
}

/// Times `count` sequential views of the Welcome page, asserting each 200.
async fn view_times(client: &reqwest::Client, addr: SocketAddr, count: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let response = client
            .get(format!("http://{addr}/pages/Welcome"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let _ = response.text().await.unwrap();
        times.push(started.elapsed());
        assert_eq!(status, 200);
    }
    times
}

/// "p50 .., p99 .., max .. over N views".
fn percentiles(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: usize| sorted[(sorted.len() * q / 100).min(sorted.len() - 1)];
    format!(
        "p50 {:?}, p99 {:?}, max {:?} over {} views",
        at(50),
        at(99),
        sorted[sorted.len() - 1],
        sorted.len()
    )
}
