//! [`TestServer`]: the real `backchannel` binary on a free loopback port, with
//! a throw-away data directory, users made through the CLI as an admin would,
//! and its output in `target/e2e/<name>-server.log` for when a test fails.
//!
//! The server is killed when the value drops. A restart reuses the data
//! directory and the port, so browsers can reload the same URLs.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

use crate::{http, workspace};

/// How long a start may take before `/healthz` must answer 200.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `backchannel` binary `cargo build -p wiki --bin backchannel` makes, or
/// why it cannot be used (for [`crate::skip::require`]).
pub fn binary() -> Result<PathBuf, String> {
    let path = workspace::target_dir()
        .join("debug")
        .join(format!("backchannel{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the backchannel binary is missing ({} does not exist): run \
             `cargo build -p wiki --bin backchannel` (cargo xtask test does this first)",
            path.display()
        ))
    }
}

/// A running `backchannel serve` on its own data directory.
pub struct TestServer {
    /// The binary under test.
    binary: PathBuf,
    /// The data directory: a temp dir under `target/e2e`, kept if a test panics.
    data: Option<TempDir>,
    /// The wasm bundle passed as `BACKCHANNEL_UI_DIR`.
    ui_dir: PathBuf,
    /// The loopback port, fixed across restarts.
    port: u16,
    /// The server's stdout and stderr, appended across restarts.
    log_path: PathBuf,
    /// The running process, `None` between a stop and a start.
    child: Option<Child>,
    /// Extra environment for the server (e.g. a raised post limit).
    env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a server called `name` (the log is `target/e2e/<name>-server.log`)
    /// on a fresh data directory and waits until it is healthy.
    pub fn start(name: &str, binary: &Path) -> Result<Self> {
        Self::start_with_env(name, binary, &[])
    }

    /// [`TestServer::start`] with extra environment variables for the server.
    pub fn start_with_env(name: &str, binary: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let artifacts = workspace::artifacts_dir()?;
        let data = tempfile::Builder::new()
            .prefix(&format!("{name}-data-"))
            .tempdir_in(&artifacts)
            .context("could not create the data directory")?;
        let log_path = artifacts.join(format!("{name}-server.log"));
        File::create(&log_path)
            .with_context(|| format!("could not create {}", log_path.display()))?;
        let port = workspace::free_port().context("no free loopback port")?;
        let mut server = TestServer {
            binary: binary.to_path_buf(),
            data: Some(data),
            ui_dir: workspace::ui_dir(),
            port,
            log_path,
            child: None,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        // A fresh install is readable by signed-in users only; these tests
        // were written for a public wiki, so open it before the first start.
        server.run_cli(&["site", "readers", "anonymous"])?;
        server.spawn()?;
        Ok(server)
    }

    /// Runs `backchannel ARGS --data DIR` against this install.
    fn run_cli(&self, args: &[&str]) -> Result<()> {
        let output = Command::new(&self.binary)
            .args(args)
            .arg("--data")
            .arg(self.data_dir())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .with_context(|| format!("could not start {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "`backchannel {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.as_ref().map_or(Path::new("."), TempDir::path)
    }

    /// Where the server's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the server's output, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `backchannel user add NAME --password-stdin --data DIR`, as an admin
    /// would create an account.
    pub fn add_user(&self, name: &str, password: &str) -> Result<()> {
        self.create_user(name, password, false)
    }

    /// Creates a site administrator through the CLI.
    pub fn add_admin(&self, name: &str, password: &str) -> Result<()> {
        self.create_user(name, password, true)
    }

    fn create_user(&self, name: &str, password: &str, admin: bool) -> Result<()> {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        if admin {
            args.push("--admin");
        }
        self.user_command(&args, password)
    }

    /// `backchannel user passwd NAME --password-stdin`, as an admin resets a
    /// password (which signs the user's browser sessions out).
    pub fn set_password(&self, name: &str, password: &str) -> Result<()> {
        self.user_command(&["user", "passwd", name, "--password-stdin"], password)
    }

    /// Runs a `backchannel user ...` command on this server's data with
    /// `password` on its stdin.
    fn user_command(&self, args: &[&str], password: &str) -> Result<()> {
        let mut command = Command::new(&self.binary);
        command.args(args);
        let mut child = command
            .arg("--data")
            .arg(self.data_dir())
            // The server's environment: with BACKCHANNEL_DATABASE_URL the
            // account goes where the server reads it.
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {}", self.binary.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            writeln!(stdin, "{password}").context("could not write the password")?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "`backchannel {}` failed ({}): {}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Sets (or replaces) an environment variable for the next start, e.g.
    /// `BACKCHANNEL_DATABASE_URL` once this install was migrated to
    /// PostgreSQL; takes effect at [`TestServer::restart`].
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Stops the server and starts it again on the same data and port.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }

    /// Kills the server if it runs and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn spawn(&mut self) -> Result<()> {
        let mut log = OpenOptions::new()
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("could not open {}", self.log_path.display()))?;
        writeln!(
            log,
            "==> backchannel serve --listen 127.0.0.1:{} --data {}",
            self.port,
            self.data_dir().display()
        )?;
        let child = Command::new(&self.binary)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data")
            .arg(self.data_dir())
            .env("BACKCHANNEL_UI_DIR", &self.ui_dir)
            // The log is a file: no colour codes.
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("could not start {}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_healthy()
    }

    /// Polls `/healthz` until it answers 200; fails early if the process exits.
    fn wait_healthy(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "backchannel serve exited ({status}) before it was healthy; its output \
                         ({}):\n{}",
                        self.log_path.display(),
                        self.log_tail(40)
                    );
                }
            }
            let last_error = match http::get(self.port, "/healthz") {
                Ok(response) if response.status == 200 => return Ok(()),
                Ok(response) => format!("/healthz answered {}", response.status),
                Err(error) => format!("{error:#}"),
            };
            if Instant::now() > deadline {
                bail!(
                    "backchannel serve was not healthy within {START_TIMEOUT:?} ({last_error}); \
                     its output ({}):\n{}",
                    self.log_path.display(),
                    self.log_tail(40)
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        // Keep the evidence when a test failed.
        if thread::panicking() {
            if let Some(data) = self.data.take() {
                let kept = data.keep();
                crate::skip::announce(&format!(
                    "kept the server's data in {} and its log in {}",
                    kept.display(),
                    self.log_path.display()
                ));
            }
        }
    }
}
