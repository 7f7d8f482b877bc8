//! Real browsers: [`Chromedriver`] runs one `chromedriver` process on a free
//! port, and each [`Browser`] is a headless Chromium session on it (one per
//! user, so each has its own cookies), driven through WebDriver (fantoccini).
//!
//! chromedriver's log goes to `target/e2e/chromedriver.log`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::{http, workspace};

/// How long the wait helpers poll before failing.
pub const WAIT: Duration = Duration::from_secs(20);

pub use infra::chromium::find as find_chromium;

/// A chromedriver process on a free loopback port, killed on drop.
pub struct Chromedriver {
    /// The running driver.
    child: Child,
    /// Its port on loopback.
    port: u16,
    /// Its WebDriver endpoint, `http://127.0.0.1:PORT`.
    url: String,
    /// The Chromium binary sessions should launch.
    chromium: PathBuf,
}

impl Chromedriver {
    /// Starts `driver` and waits until `/status` says it is ready.
    pub fn start(driver: &Path, chromium: &Path) -> Result<Self> {
        let port = workspace::free_port().context("no free loopback port")?;
        let log_path = workspace::artifacts_dir()?.join("chromedriver.log");
        let log = File::create(&log_path)
            .with_context(|| format!("could not create {}", log_path.display()))?;
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("could not start {}", driver.display()))?;
        let mut chromedriver = Chromedriver {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            chromium: chromium.to_path_buf(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = chromedriver.child.try_wait()? {
                bail!(
                    "chromedriver exited ({status}) at start; see {}",
                    log_path.display()
                );
            }
            if matches!(http::get(port, "/status"), Ok(response) if response.status == 200) {
                return Ok(chromedriver);
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver did not answer on port {port} within {WAIT:?}; see {}",
                    log_path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless Chromium session; `who` names it in errors.
    pub async fn browser(&self, who: &str) -> Result<Browser> {
        self.session(who, json!({})).await
    }

    /// A headless Chromium session with JavaScript switched off for every
    /// site, as a person who disabled it has it (WebDriver's own commands
    /// still work: they do not run as the page's scripts).
    pub async fn browser_without_javascript(&self, who: &str) -> Result<Browser> {
        let prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
        self.session(who, prefs).await
    }

    async fn session(&self, who: &str, prefs: Value) -> Result<Browser> {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": infra::chromium::headless_args(),
                "prefs": prefs,
            },
        });
        let Value::Object(capabilities) = capabilities else {
            bail!("capabilities must be a JSON object");
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .with_context(|| {
                format!(
                    "could not open a Chromium session for {who} through chromedriver at {}",
                    self.url
                )
            })?;
        Ok(Browser {
            client,
            who: who.to_string(),
        })
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // `/shutdown` ends the sessions a failed test left open, so their
        // Chromium processes exit too; a bare kill would orphan them.
        let _ = http::get(self.port, "/shutdown");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One user's browser session. Call [`Browser::close`] at the end so
/// Chromium exits; chromedriver's exit cleans up any left behind.
pub struct Browser {
    /// The WebDriver session.
    client: Client,
    /// Whose browser this is, for error messages and file names.
    who: String,
}

impl Browser {
    /// The underlying WebDriver client, for anything the helpers lack.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whose browser this is.
    pub fn who(&self) -> &str {
        &self.who
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("{}: could not open {url}", self.who))
    }

    /// The current URL.
    pub async fn current_url(&self) -> Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Waits up to [`WAIT`] for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Result<fantoccini::elements::Element> {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => Ok(element),
            Err(error) => {
                let url = self.current_url().await.unwrap_or_default();
                Err(anyhow!(
                    "{}: no `{css}` within {WAIT:?} on {url} ({error})",
                    self.who
                ))
            }
        }
    }

    /// Runs `script` (a function body; arguments in `arguments`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .with_context(|| format!("{}: a script failed in the page", self.who))
    }

    /// Polls `script` until it returns something truthy (not false, null,
    /// undefined, 0 or ""), and returns that; `what` describes the wait.
    pub async fn wait_until(&self, what: &str, script: &str) -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.eval(script, Vec::new()).await?;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(text) => !text.is_empty(),
                Value::Number(number) => number.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("{}: {what} did not happen within {WAIT:?}", self.who);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the viewport to `target/e2e/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .with_context(|| format!("{}: screenshot failed", self.who))?;
        let path = workspace::artifacts_dir()?.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .with_context(|| format!("could not write {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session, which makes chromedriver stop this Chromium.
    pub async fn close(self) -> Result<()> {
        self.client
            .close()
            .await
            .with_context(|| format!("{}: could not close the session", self.who))
    }
}
