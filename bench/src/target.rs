//! The systems under test: a fresh `backchannel serve` or the bare baseline,
//! each a child process pinned to its own core where `taskset` exists, with
//! what clients need to talk to it (addresses, tokens, room ids) and a way to
//! read its memory.

use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server a figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Backchannel,
    Baseline,
}

/// A running server and what clients need to reach it.
pub struct Target {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Bearer tokens, one per bench user (the baseline needs none).
    pub tokens: Vec<String>,
    /// The room every single-room scenario uses.
    pub room: String,
    /// The Welcome page's id, to create more rooms through the macro.
    page: String,
    process: Child,
    /// The server's extra environment, for CLI commands on the same install.
    env: Vec<(String, String)>,
    data: Option<tempfile::TempDir>,
}

/// How to start one `backchannel` process.
pub struct Node {
    /// Extra environment (database and NATS URLs, node id).
    pub env: Vec<(String, String)>,
    /// Whether to create the bench users (the first node of a cluster does).
    pub create_users: bool,
    /// The log's file name under `target/bench/`, without `.log`.
    pub log_name: String,
}

impl Node {
    /// The embedded default: SQLite and the in-process bus.
    pub fn single() -> Self {
        Self {
            env: Vec::new(),
            create_users: true,
            log_name: "backchannel-server".into(),
        }
    }

    /// Node `index` (from 1) of a cluster on `database_url` and `nats_url`.
    pub fn clustered(index: usize, database_url: &str, nats_url: &str) -> Self {
        Self {
            env: vec![
                ("BACKCHANNEL_DATABASE_URL".into(), database_url.into()),
                ("BACKCHANNEL_NATS_URL".into(), nats_url.into()),
                ("BACKCHANNEL_NODE_ID".into(), format!("bench-node-{index}")),
            ],
            create_users: index == 1,
            log_name: format!("backchannel-node-{index}"),
        }
    }
}

/// The core the server runs on; the load generator takes the others.
const SERVER_CORE: &str = "0";

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

const TASKSET: &str = "/usr/bin/taskset";

/// `taskset -c CORE program` when taskset is available, else `program`.
fn pinned(program: &Path) -> Command {
    let taskset = Path::new(TASKSET);
    if taskset.exists() {
        let mut command = Command::new(taskset);
        command.arg("-c").arg(SERVER_CORE).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Keeps the load generator (this process, and the threads it starts from
/// now on) off the server's core, so the two never take turns on one core.
/// Call before the runtime starts: its worker count follows the cores left.
/// Does nothing on a single core or without taskset.
pub fn keep_off_server_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || !Path::new(TASKSET).exists() {
        return;
    }
    let others = format!("1-{}", cores - 1);
    let status = Command::new(TASKSET)
        .args(["-p", "-c", &others, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("could not pin the load generator to cores {others}; it shares the server's");
    }
}

/// Names of the bench users.
fn user_name(index: usize) -> String {
    format!("bench{index}")
}

const PASSWORD: &str = "bench-password-not-secret";

impl Target {
    /// Starts `backchannel serve` on a fresh data dir with `users` users
    /// (rate limits lifted: the bench measures capacity, not policy).
    pub async fn backchannel(binary: &Path, users: usize) -> Result<Self> {
        Self::node(binary, users, &Node::single()).await
    }

    /// Starts one `backchannel serve` as `node` describes. Users are created
    /// unless the node joins a cluster whose database already has them.
    pub async fn node(binary: &Path, users: usize, node: &Node) -> Result<Self> {
        let data = tempfile::Builder::new().prefix("bc-bench-").tempdir()?;
        let to_create = if node.create_users { users } else { 0 };
        for index in 0..to_create {
            let mut child = Command::new(binary)
                .args([
                    "user",
                    "add",
                    &user_name(index),
                    "--password-stdin",
                    "--data",
                ])
                .arg(data.path())
                .envs(node.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .with_context(|| format!("running {}", binary.display()))?;
            child
                .stdin
                .take()
                .ok_or_else(|| anyhow!("no stdin"))?
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            if !child.wait()?.success() {
                bail!("`backchannel user add` failed");
            }
        }
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        // Kept after the run (the data dir is not), for when a figure looks wrong.
        std::fs::create_dir_all("target/bench")?;
        let log = std::fs::File::create(format!("target/bench/{}.log", node.log_name))?;
        let process = pinned(binary)
            .args(["serve", "--listen", &addr.to_string(), "--data"])
            .arg(data.path())
            // The bench measures delivery, not the per-user write limits:
            // its few users post for many clients and make rooms by the
            // hundred through the macro.
            .env("BACKCHANNEL_POST_LIMIT", "1000000/1")
            .env("BACKCHANNEL_ROOM_LIMIT", "1000000/1")
            .env("RUST_LOG", "info")
            .envs(node.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut target = Target {
            kind: Kind::Backchannel,
            addr,
            tokens: Vec::new(),
            room: String::new(),
            page: String::new(),
            process,
            env: node.env.clone(),
            data: Some(data),
        };
        target.wait_ready().await?;
        let http = reqwest::Client::new();
        for index in 0..users {
            let answer: serde_json::Value = http
                .post(format!("http://{addr}/api/session"))
                .json(&serde_json::json!({"username": user_name(index), "password": PASSWORD}))
                .send()
                .await?
                .error_for_status()
                .context("POST /api/session")?
                .json()
                .await?;
            let token = answer["token"]
                .as_str()
                .ok_or_else(|| anyhow!("POST /api/session gave no token: {answer}"))?;
            target.tokens.push(token.to_owned());
        }
        // The Welcome page's macro creates the Lobby; its Join Chat link names it.
        let home = target.get("/").await?;
        target.room = room_link(&home).ok_or_else(|| anyhow!("no Join Chat link on /"))?;
        let info: serde_json::Value =
            serde_json::from_str(&target.get(&format!("/api/rooms/{}", target.room)).await?)?;
        target.page = info["page"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("room info without page id"))?
            .to_owned();
        Ok(target)
    }

    /// Starts the bare baseline (`backchannel-bench baseline`).
    pub async fn baseline(bench_binary: &Path) -> Result<Self> {
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let process = pinned(bench_binary)
            .args(["baseline", "--listen", &addr.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .context("starting the baseline")?;
        let target = Target {
            kind: Kind::Baseline,
            addr,
            tokens: Vec::new(),
            room: "baseline".into(),
            page: String::new(),
            process,
            env: Vec::new(),
            data: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                bail!("the baseline did not start listening");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(target)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.process.try_wait()? {
                bail!("backchannel exited during start-up ({status})");
            }
            if let Ok(response) = reqwest::get(format!("http://{}/healthz", self.addr)).await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("backchannel did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn ws_url(&self) -> String {
        match self.kind {
            Kind::Backchannel => format!("ws://{}/api/ws", self.addr),
            Kind::Baseline => format!("ws://{}/", self.addr),
        }
    }

    /// The token for the `index`th client (round robin over the users).
    pub fn token(&self, index: usize) -> Option<&str> {
        (!self.tokens.is_empty()).then(|| self.tokens[index % self.tokens.len()].as_str())
    }

    /// GET `path` as the first bench user; the body as text.
    pub async fn get(&self, path: &str) -> Result<String> {
        let mut request = reqwest::Client::new().get(format!("http://{}{path}", self.addr));
        if let Some(token) = self.token(0) {
            request = request.bearer_auth(token);
        }
        Ok(request.send().await?.error_for_status()?.text().await?)
    }

    /// A new room on the Welcome page (created through the chat macro).
    pub async fn room(&self, name: &str) -> Result<String> {
        if self.kind == Kind::Baseline {
            return Ok(name.to_owned());
        }
        let table = self
            .get(&format!("/macro/chat?page={}&room={name}", self.page))
            .await?;
        room_link(&table).ok_or_else(|| anyhow!("the macro for {name} has no room link"))
    }

    /// The server's data directory (none for the baseline).
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.as_ref().map(tempfile::TempDir::path)
    }

    /// The environment the server runs with beyond the defaults.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// `GET /api/search?q=QUERY` as the first bench user; the JSON text.
    pub async fn search(&self, query: &str) -> Result<String> {
        let mut request = reqwest::Client::new()
            .get(format!("http://{}/api/search", self.addr))
            .query(&[("q", query)]);
        if let Some(token) = self.token(0) {
            request = request.bearer_auth(token);
        }
        Ok(request.send().await?.error_for_status()?.text().await?)
    }

    /// The server's resident memory in bytes (from /proc).
    pub fn rss_bytes(&self) -> Result<u64> {
        rss_of(self.process.id())
    }

    /// [`Target::rss_bytes`] as a function a task can own.
    pub fn rss_reader(&self) -> impl Fn() -> Result<u64> + Send + 'static {
        let pid = self.process.id();
        move || rss_of(pid)
    }
}

impl Drop for Target {
    /// SIGTERM first, so the server shuts down as an operator's would (and
    /// a heap-profiling build writes its profile); killed after 10 s.
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if terminated {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.process.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The process's VmRSS. With `taskset` in front, the pid is taskset's, which
/// has exec'd the server: the same process.
pub fn rss_of(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow!("bad VmRSS line"))?
        .parse()?;
    Ok(kib * 1024)
}

/// The room id in the first `/rooms/ID` link of an HTML page.
fn room_link(html: &str) -> Option<String> {
    let start = html.find("href=\"/rooms/")? + "href=\"/rooms/".len();
    let id: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!id.is_empty()).then_some(id)
}

/// Where the built binaries are: next to this one (both are built with
/// `cargo build --release`).
pub fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().ok_or_else(|| anyhow!("no parent dir"))?;
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{} not found; build it with `cargo build --release -p wiki`",
            path.display()
        );
    }
    Ok(path)
}
