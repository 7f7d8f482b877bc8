//! The popup's time to the last message painted (issue 5), in real headless
//! Chromium: a room is filled with [`MESSAGES`] messages, then the popup is
//! opened [`RUNS`] times, the first with an empty cache (cold), and each
//! time the page reports, from its own clock (`performance.now()`, which
//! starts when navigation starts), when the newest message is in the DOM,
//! the wasm UI is live (`body[data-connected=true]`) and two animation
//! frames have passed, so the message has been painted.
//!
//! Chromium is driven over chromedriver's plain WebDriver HTTP API with the
//! bench's own `reqwest`, which needs no WebDriver crate. Without
//! `/usr/bin/chromium` and `/usr/bin/chromedriver` the row says "skipped".

use crate::report::Row;
use crate::target::Target;
use anyhow::{anyhow, bail, Context, Result};
use infra::chromium::{CHROMEDRIVER, CHROMIUM};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Messages in the room the popup opens.
pub const MESSAGES: u64 = 200;
/// Popup openings: one cold, the rest warm (bundle in the HTTP cache).
pub const RUNS: usize = 6;

/// Resolves with `performance.now()` once message `arguments[0]` is in the
/// DOM, the UI is connected and two frames have been drawn after that.
const PAINTED: &str = r#"
const [seq, done] = [arguments[0], arguments[arguments.length - 1]];
const ready = () => document.getElementById('m-' + seq)
    && document.body && document.body.dataset.connected === 'true';
const check = () => {
    if (!ready()) { requestAnimationFrame(check); return; }
    requestAnimationFrame(() => requestAnimationFrame(() => {
        const fcp = performance.getEntriesByType('paint')
            .find(e => e.name === 'first-contentful-paint');
        done({ painted: performance.now(), fcp: fcp ? fcp.startTime : null });
    }));
};
check();
"#;

/// The report row: "skipped" without Chromium, "not run" on an error.
pub async fn row(target: &Target) -> Row {
    let scenario = format!("popup of a {MESSAGES}-message room: open → last message painted, live");
    let aim = "< 1 s".to_owned();
    if let Some(missing) = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|path| !Path::new(path).is_file())
    {
        println!("    skipped: {missing} is not installed");
        return Row {
            scenario,
            aim,
            measured: "skipped".into(),
            baseline: None,
            percent_of_baseline: None,
            met: None,
            note: Some(format!("skipped: {missing} is not installed")),
            detail: Value::Null,
        };
    }
    match measure(target).await {
        Ok(timing) => Row {
            scenario,
            aim,
            measured: format!(
                "cold {:.0} ms, warm p50 {:.0} ms",
                timing.cold_ms, timing.warm_p50_ms
            ),
            baseline: None,
            percent_of_baseline: None,
            met: Some(timing.cold_ms < 1_000.0 && timing.warm_p50_ms < 1_000.0),
            note: None,
            detail: serde_json::to_value(&timing).unwrap_or(Value::Null),
        },
        Err(error) => {
            eprintln!("    not run: {error:#}");
            Row {
                scenario,
                aim,
                measured: "—".into(),
                baseline: None,
                percent_of_baseline: None,
                met: None,
                note: Some(format!("{error:#}")),
                detail: Value::Null,
            }
        }
    }
}

/// What one scenario run measured, in milliseconds from navigation start.
#[derive(Debug, serde::Serialize)]
pub struct Timing {
    pub messages: u64,
    /// The first opening, with nothing cached.
    pub cold_ms: f64,
    /// The median of the others.
    pub warm_p50_ms: f64,
    /// Every opening, in order.
    pub painted_ms: Vec<f64>,
    /// First contentful paint of each opening (the server-rendered page).
    pub first_paint_ms: Vec<Option<f64>>,
}

async fn measure(target: &Target) -> Result<Timing> {
    let base = format!("http://{}", target.addr);
    let token = target.token(0).context("no bench user")?.to_owned();
    let room = target.room("bench-popup").await?;
    let http = reqwest::Client::new();
    let mut last_seq = 0;
    for i in 1..=MESSAGES {
        // Bodies like a real conversation's: a line or two of markdown.
        let body = format!(
            "Message {i}: the **build** is green again, see [[Welcome]] and `cargo xtask test` \
             for what changed in round {i}."
        );
        let message: Value = http
            .post(format!("{base}/api/rooms/{room}/messages"))
            .bearer_auth(&token)
            .json(&json!({ "body": body, "client_msg_id": format!("bench-popup-{i}") }))
            .send()
            .await?
            .error_for_status()
            .context("posting to the popup room")?
            .json()
            .await?;
        last_seq = message["seq"].as_u64().context("a message without seq")?;
    }

    let driver = Driver::start().await?;
    let session = driver.session().await?;
    let result = async {
        // Any same-origin page, so the session cookie can be set for it.
        session
            .call("POST", "url", json!({ "url": format!("{base}/healthz") }))
            .await?;
        session
            .call(
                "POST",
                "cookie",
                json!({ "cookie": { "name": "bc_session", "value": token, "path": "/" } }),
            )
            .await?;
        session
            .call("POST", "timeouts", json!({ "script": 30_000 }))
            .await?;
        let mut painted = Vec::new();
        let mut first_paint = Vec::new();
        for _ in 0..RUNS {
            session
                .call(
                    "POST",
                    "url",
                    json!({ "url": format!("{base}/rooms/{room}") }),
                )
                .await?;
            let answer = session
                .call(
                    "POST",
                    "execute/async",
                    json!({ "script": PAINTED, "args": [last_seq] }),
                )
                .await?;
            painted.push(
                answer["painted"]
                    .as_f64()
                    .ok_or_else(|| anyhow!("the page gave no timing: {answer}"))?,
            );
            first_paint.push(answer["fcp"].as_f64());
        }
        Ok::<_, anyhow::Error>((painted, first_paint))
    }
    .await;
    session.end().await;
    let (painted, first_paint) = result?;
    let mut warm = painted[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    Ok(Timing {
        messages: MESSAGES,
        cold_ms: painted[0],
        warm_p50_ms: warm.get(warm.len() / 2).copied().unwrap_or(f64::NAN),
        painted_ms: painted,
        first_paint_ms: first_paint,
    })
}

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start() -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await;
            if matches!(status, Ok(ref s) if s.status().is_success()) {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session.
    async fn session(&self) -> Result<Session<'_>> {
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": infra::chromium::headless_args() },
        }}});
        let answer: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let id = answer["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("chromedriver opened no session: {answer}"))?;
        Ok(Session {
            driver: self,
            url: format!("{}/session/{id}", self.url),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: `call` is one W3C command.
struct Session<'a> {
    driver: &'a Driver,
    url: String,
}

impl Session<'_> {
    /// `METHOD /session/{id}/{path}` with `body`; the answer's `value`.
    async fn call(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let answer: Value = self
            .driver
            .http
            .request(method, format!("{}/{path}", self.url))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let value = answer["value"].clone();
        if let Some(error) = value.get("error") {
            bail!("WebDriver {path}: {error} {}", value["message"]);
        }
        Ok(value)
    }

    /// Ends the session, so chromedriver stops this Chromium.
    async fn end(self) {
        let _ = self.driver.http.delete(&self.url).send().await;
    }
}
