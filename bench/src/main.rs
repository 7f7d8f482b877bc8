//! `backchannel-bench`: Backchannel's load generator and its bare baseline.
//!
//! `cargo xtask bench` builds the release binaries and runs
//! `backchannel-bench run`, which starts a fresh `backchannel serve` and the
//! baseline (each pinned to core 0 where `taskset` exists; the load generator
//! pins itself to the other cores), runs every scenario against both where it applies, and
//! writes `target/bench/report.json` and `report.md`.
//!
//! # Layout
//! - `main`: the command line and the run: which scenario, what size, what aim.
//! - [`target`]: the servers under test: start, users and tokens, rooms, memory.
//! - [`client`]: WebSocket clients from many source addresses, bench frames, listeners.
//! - [`scenario`]: the scenarios: fan-out, latency, last listener, idle memory,
//!   durable writes, history, SSE and long-poll.
//! - [`baseline`]: the bare tokio WebSocket broadcaster.
//! - [`cluster`]: cross-node latency, two nodes on PostgreSQL + NATS.
//! - [`search`]: search over 1,000,000 messages of imported transcripts.
//! - [`transcript`]: rendering one 10,000-message transcript day, in process.
//! - [`popup`]: the chat popup in headless Chromium: open → last message painted.
//! - [`soak`]: one steady load for a long time (`soak --seconds N`): RSS,
//!   database sizes and per-minute latency, watched for drift.
//! - [`report`]: rows, the machine, `report.json` and the markdown table.

mod baseline;
mod client;
mod cluster;
mod popup;
mod report;
mod scenario;
mod search;
mod soak;
mod target;
mod transcript;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use report::{Machine, Report, Row};
use scenario::{Fanout, Http, Latency, Plan};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use target::Target;

#[derive(Parser)]
#[command(
    name = "backchannel-bench",
    about = "Load generator and bare baseline for Backchannel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every scenario and write the report (what `cargo xtask bench` does)
    Run {
        /// Smaller sizes and shorter runs: under 2 minutes, for development.
        #[arg(long)]
        quick: bool,
        /// The `backchannel` binary to measure (default: next to this one).
        #[arg(long, value_name = "PATH")]
        server: Option<PathBuf>,
        /// Where report.json and report.md go.
        #[arg(long, default_value = "target/bench", value_name = "DIR")]
        out: PathBuf,
        /// The wasm bundle directory, for the bundle-size row.
        #[arg(long, default_value = "target/ui", value_name = "DIR")]
        ui: PathBuf,
        /// Run only these scenarios (comma-separated; default: all), e.g.
        /// `--only writes,poll` while profiling one path.
        #[arg(long, value_enum, value_delimiter = ',', value_name = "SCENARIO")]
        only: Vec<Scenario>,
    },
    /// Hold a steady load for a long time and watch for drift (what
    /// `cargo xtask bench --soak SECONDS` runs)
    ///
    /// Runs the load for 8 seconds as the reference, then for SECONDS:
    /// RSS and database sizes every 30 s, post → deliver per minute, the
    /// RSS slope after warm-up; writes soak.json and soak.md.
    Soak {
        /// How long to hold the load (the README's figure is one hour).
        #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
        seconds: u64,
        /// WebSocket listeners in the Lobby.
        #[arg(long, default_value_t = 500)]
        listeners: usize,
        /// Messages a second, from one sender.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// The `backchannel` binary to measure (default: next to this one).
        #[arg(long, value_name = "PATH")]
        server: Option<PathBuf>,
        /// Where soak.json and soak.md go.
        #[arg(long, default_value = "target/bench", value_name = "DIR")]
        out: PathBuf,
    },
    /// Serve the bare baseline broadcaster
    Baseline {
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: SocketAddr,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run { .. } | Command::Soak { .. }) {
        target::keep_off_server_core();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Baseline { listen } => runtime.block_on(baseline::serve(listen)),
        Command::Soak {
            seconds,
            listeners,
            rate,
            server,
            out,
        } => {
            let server = match server {
                Some(path) => path,
                None => target::sibling("backchannel")?,
            };
            let options = soak::Options {
                seconds,
                listeners,
                rate,
            };
            let soaked = runtime.block_on(async {
                heading("starting the server");
                let backchannel = Target::backchannel(&server, 20).await?;
                heading(&format!(
                    "soak: {listeners} listeners, {rate} msg/s for {seconds} s"
                ));
                soak::run(&backchannel, options).await
            })?;
            let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
            let markdown = soaked.markdown(&Machine::detect(), &date);
            std::fs::create_dir_all(&out)?;
            std::fs::write(
                out.join("soak.json"),
                serde_json::to_string_pretty(&soaked)?,
            )?;
            std::fs::write(out.join("soak.md"), &markdown)?;
            println!("\n{markdown}");
            println!("written to {}", out.join("soak.md").display());
            if !soaked.met() {
                anyhow::bail!("the soak missed an aim (see the table)");
            }
            Ok(())
        }
        Command::Run {
            quick,
            server,
            out,
            ui,
            only,
        } => {
            let server = match server {
                Some(path) => path,
                None => target::sibling("backchannel")?,
            };
            let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
            let report = runtime.block_on(run(&server, sizes, &ui, &only))?;
            report.write(&out)?;
            println!("\n{}", report.markdown());
            println!("written to {}", out.join("report.md").display());
            Ok(())
        }
    }
}

/// The scenarios, as `--only` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    Rss,
    Fanout,
    Latency,
    Cluster,
    Last,
    Idle,
    Writes,
    History,
    Sse,
    Poll,
    Search,
    Transcript,
    Popup,
    Bundle,
}

/// How big each scenario is.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    quick: bool,
    fanout_listeners: usize,
    fanout_ladder: &'static [f64],
    fanout_seconds: u64,
    latency_listeners: usize,
    latency_seconds: u64,
    last_listeners: usize,
    idle_connections: usize,
    write_rooms: usize,
    write_rate: f64,
    write_seconds: u64,
    history_messages: u64,
    history_requests: usize,
    http_listeners: usize,
}

impl Sizes {
    const FULL: Sizes = Sizes {
        quick: false,
        fanout_listeners: 1_000,
        fanout_ladder: &[
            50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0, 600.0, 800.0, 1000.0,
        ],
        fanout_seconds: 5,
        latency_listeners: 1_000,
        latency_seconds: 10,
        last_listeners: 10_000,
        idle_connections: 50_000,
        write_rooms: 100,
        write_rate: 20_000.0,
        write_seconds: 5,
        history_messages: 1_000_000,
        history_requests: 2_000,
        http_listeners: 1_000,
    };
    const QUICK: Sizes = Sizes {
        quick: true,
        fanout_listeners: 200,
        fanout_ladder: &[50.0, 200.0],
        fanout_seconds: 2,
        latency_listeners: 200,
        latency_seconds: 3,
        last_listeners: 1_000,
        idle_connections: 2_000,
        write_rooms: 20,
        write_rate: 2_000.0,
        write_seconds: 2,
        history_messages: 10_000,
        history_requests: 200,
        http_listeners: 100,
    };
}

fn heading(name: &str) {
    println!("==> {name}");
    let _ = std::io::stdout().flush();
}

async fn run(server: &Path, sizes: Sizes, ui: &Path, only: &[Scenario]) -> Result<Report> {
    let wants = |scenario: Scenario| only.is_empty() || only.contains(&scenario);
    let bench = std::env::current_exe()?;
    let mut rows = Vec::new();

    heading("starting servers");
    let backchannel = Target::backchannel(server, 20).await?;
    let baseline = Target::baseline(&bench).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    if wants(Scenario::Rss) {
        let idle_rss = backchannel.rss_bytes()?;
        rows.push(Row {
            scenario: "idle server RSS".into(),
            aim: "< 40 MB".into(),
            measured: format!("{:.1} MB", mb(idle_rss)),
            baseline: Some(format!("{:.1} MB", mb(baseline.rss_bytes()?))),
            percent_of_baseline: None,
            met: Some(mb(idle_rss) < 40.0),
            note: None,
            detail: serde_json::json!({ "rss_bytes": idle_rss }),
        });
    }

    if wants(Scenario::Fanout) {
        heading("fan-out: highest sustained deliveries/s with p99 < 100 ms, nothing lost");
        rows.push(fanout_row(&backchannel, &baseline, sizes).await?);
    }

    let plan = Plan {
        rate: 20.0,
        duration: Duration::from_secs(sizes.latency_seconds),
        senders: 1,
    };
    if wants(Scenario::Latency) || wants(Scenario::Cluster) {
        heading("latency at 20 msg/s");
        let ours = scenario::fanout(&backchannel, sizes.latency_listeners, plan).await?;
        let theirs = scenario::fanout(&baseline, sizes.latency_listeners, plan).await?;
        rows.push(latency_row(
            format!(
                "1 room, {} listeners, 20 msg/s: post → deliver",
                sizes.latency_listeners
            ),
            "p99 < 20 ms",
            &ours,
            Some(&theirs),
            20.0,
        ));
        if wants(Scenario::Cluster) {
            heading("cross-node latency at 20 msg/s (two nodes on PostgreSQL + NATS)");
            rows.push(cluster::row(server, sizes.latency_listeners, plan, &ours).await);
        }
    }

    if wants(Scenario::Last) {
        heading("one message to the last listener");
        let ours = scenario::last_listener(&backchannel, sizes.last_listeners).await?;
        let theirs = scenario::last_listener(&baseline, sizes.last_listeners).await?;
        rows.push(Row {
            scenario: format!(
                "1 room, {} listeners: one message to the last listener",
                sizes.last_listeners
            ),
            aim: "< 100 ms".into(),
            measured: format!("{:.1} ms", ours.latency.max_ms),
            baseline: Some(format!("{:.1} ms", theirs.latency.max_ms)),
            percent_of_baseline: None,
            met: Some(ours.lost == 0 && ours.latency.max_ms < 100.0),
            note: (ours.lost > 0).then(|| format!("{} listeners missed it", ours.lost)),
            detail: serde_json::json!({ "backchannel": ours, "baseline": theirs }),
        });
    }

    if wants(Scenario::Idle) {
        heading("memory per idle WebSocket");
        let allowed = open_file_limit().saturating_sub(1_000);
        let idle = sizes.idle_connections.min(allowed);
        if idle < sizes.idle_connections {
            println!(
                "    the open-file limit allows {allowed} connections, not {}: measuring {idle} \
                 (raise `ulimit -n` for the full figure)",
                sizes.idle_connections
            );
        }
        let row = match idle_rows(&backchannel, &baseline, idle).await {
            Ok(row) => row,
            Err(e) => not_run(
                "idle WebSocket clients: server memory per connection",
                "< 10 KiB per connection, 50,000 connections",
                &e,
            ),
        };
        rows.push(row);
    }

    if wants(Scenario::Writes) {
        heading("durable writes");
        rows.push(writes_row(&backchannel, sizes).await?);
    }

    if wants(Scenario::History) {
        heading("last 50 messages of a big room");
        let room = scenario::fill(&backchannel, "bench-history", sizes.history_messages).await?;
        let latest = scenario::latest_fifty(&backchannel, &room, sizes.history_requests).await?;
        rows.push(Row {
            scenario: format!(
                "last 50 messages of a room in a {}-message store, over HTTP",
                thousands(sizes.history_messages)
            ),
            aim: "p99 < 5 ms".into(),
            measured: format!("p50 {:.2} ms, p99 {:.2} ms", latest.p50_ms, latest.p99_ms),
            baseline: None,
            percent_of_baseline: None,
            met: Some(latest.p99_ms < 5.0),
            note: None,
            detail: serde_json::to_value(latest)?,
        });
    }

    for (transport, name, scenario) in [
        (Http::Sse, "SSE", Scenario::Sse),
        (Http::LongPoll, "long-poll", Scenario::Poll),
    ] {
        if !wants(scenario) {
            continue;
        }
        heading(&format!("{name} listeners"));
        let run =
            scenario::http_listeners(&backchannel, transport, sizes.http_listeners, plan).await?;
        rows.push(latency_row(
            format!("{name}: {} listeners, 20 msg/s", sizes.http_listeners),
            "p99 < 50 ms",
            &run,
            None,
            50.0,
        ));
    }

    if wants(Scenario::Search) {
        heading("search over transcripts");
        let (days, per_day) = if sizes.quick {
            (20, 500)
        } else {
            (1_000, 1_000)
        };
        let searched =
            search::measure(&backchannel, server, days, per_day, sizes.history_requests).await;
        rows.push(search::row(searched, days * per_day));
    }

    if wants(Scenario::Transcript) {
        heading("render one transcript day");
        let runs = if sizes.quick { 20 } else { 200 };
        rows.push(transcript::row(&transcript::measure(runs)));
    }

    if wants(Scenario::Popup) {
        heading("popup: open to the last message painted (headless Chromium)");
        rows.push(popup::row(&backchannel).await);
    }

    if wants(Scenario::Bundle) {
        heading("wasm bundle size");
        rows.push(bundle_row(ui));
    }

    Ok(Report {
        date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        quick: sizes.quick,
        machine: Machine::detect(),
        rows,
    })
}

/// Climbs the rate ladder on both servers; the row compares the best rates.
async fn fanout_row(backchannel: &Target, baseline: &Target, sizes: Sizes) -> Result<Row> {
    let duration = Duration::from_secs(sizes.fanout_seconds);
    println!("  backchannel");
    let (ours, our_runs) = scenario::max_fanout(
        backchannel,
        sizes.fanout_listeners,
        sizes.fanout_ladder,
        duration,
        100.0,
    )
    .await?;
    println!("  baseline");
    let (theirs, their_runs) = scenario::max_fanout(
        baseline,
        sizes.fanout_listeners,
        sizes.fanout_ladder,
        duration,
        100.0,
    )
    .await?;
    let ours_rate = ours.map_or(0.0, |f| f.deliveries_per_sec);
    let theirs_rate = theirs.map_or(0.0, |f| f.deliveries_per_sec);
    let ratio = percent(ours_rate, theirs_rate);
    Ok(Row {
        scenario: format!(
            "1 room, {} listeners: sustained deliveries/s (p99 < 100 ms, none lost)",
            sizes.fanout_listeners
        ),
        aim: ">= 200,000/s, >= 70% of baseline".into(),
        measured: format!("{:.0}/s", ours_rate),
        baseline: Some(format!("{:.0}/s", theirs_rate)),
        percent_of_baseline: ratio,
        met: Some(ours_rate >= 200_000.0 && ratio.is_some_and(|r| r >= 70.0)),
        note: None,
        detail: serde_json::json!({ "backchannel": our_runs, "baseline": their_runs }),
    })
}

async fn writes_row(backchannel: &Target, sizes: Sizes) -> Result<Row> {
    let plan = Plan {
        rate: sizes.write_rate,
        duration: Duration::from_secs(sizes.write_seconds),
        senders: sizes.write_rooms,
    };
    let writes = scenario::durable_writes(backchannel, sizes.write_rooms, plan).await?;
    Ok(Row {
        scenario: format!(
            "{} rooms, {} writers: durable (acked after commit) messages/s",
            sizes.write_rooms, sizes.write_rooms
        ),
        aim: ">= 20,000/s, p99 ack < 50 ms".into(),
        measured: format!(
            "{:.0}/s at {:.0}/s offered, p99 ack {:.1} ms",
            writes.acked_per_sec, writes.rate, writes.ack_latency.p99_ms
        ),
        baseline: None,
        percent_of_baseline: None,
        met: Some(writes.acked_per_sec >= 20_000.0 && writes.ack_latency.p99_ms < 50.0),
        note: None,
        detail: serde_json::to_value(writes)?,
    })
}

fn latency_row(
    scenario: String,
    aim: &str,
    ours: &Fanout,
    theirs: Option<&Fanout>,
    limit_ms: f64,
) -> Row {
    Row {
        scenario,
        aim: aim.into(),
        measured: describe(&ours.latency, ours.lost),
        baseline: theirs.map(|t| describe(&t.latency, t.lost)),
        percent_of_baseline: None,
        met: Some(ours.lost == 0 && ours.latency.p99_ms < limit_ms),
        note: None,
        detail: serde_json::json!({ "backchannel": ours, "baseline": theirs }),
    }
}

fn describe(latency: &Latency, lost: u64) -> String {
    let mut text = format!("p50 {:.1} ms, p99 {:.1} ms", latency.p50_ms, latency.p99_ms);
    if lost > 0 {
        text.push_str(&format!(", {lost} lost"));
    }
    text
}

async fn idle_rows(backchannel: &Target, baseline: &Target, connections: usize) -> Result<Row> {
    let ours = scenario::idle_memory(backchannel, connections).await?;
    let theirs = scenario::idle_memory(baseline, connections).await?;
    let kib = ours.bytes_per_connection / 1024.0;
    Ok(Row {
        scenario: format!(
            "{} idle WebSocket clients: server memory per connection",
            thousands(connections as u64)
        ),
        aim: "< 10 KiB per connection, 50,000 connections".into(),
        measured: format!("{kib:.1} KiB"),
        baseline: Some(format!("{:.1} KiB", theirs.bytes_per_connection / 1024.0)),
        percent_of_baseline: None,
        met: Some(kib < 10.0 && connections >= 50_000),
        note: (connections < 50_000)
            .then(|| format!("only {connections} connections: capped by the open-file limit")),
        detail: serde_json::json!({ "backchannel": ours, "baseline": theirs }),
    })
}

fn bundle_row(ui: &Path) -> Row {
    let scenario = "wasm bundle, gzip (wasm + JS glue)".to_owned();
    let aim = "< 200 KB".to_owned();
    match bundle_size(ui) {
        Ok(size) => Row {
            scenario,
            aim,
            measured: format!(
                "{:.0} KB ({:.0} KB raw)",
                size.gzip as f64 / 1000.0,
                size.raw as f64 / 1000.0
            ),
            baseline: None,
            percent_of_baseline: None,
            met: Some(size.gzip < 200_000),
            note: None,
            detail: serde_json::json!({ "gzip_bytes": size.gzip, "raw_bytes": size.raw }),
        },
        Err(e) => not_run(&scenario, &aim, &e),
    }
}

/// The bundle's bytes as stored and as sent gzipped (best compression).
struct BundleSize {
    raw: u64,
    gzip: u64,
}

fn bundle_size(ui: &Path) -> Result<BundleSize> {
    let mut size = BundleSize { raw: 0, gzip: 0 };
    for name in ["backchannel_bg.wasm", "backchannel.js"] {
        let path = ui.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes)?;
        size.raw += bytes.len() as u64;
        size.gzip += encoder.finish()?.len() as u64;
    }
    Ok(size)
}

fn not_run(scenario: &str, aim: &str, error: &anyhow::Error) -> Row {
    eprintln!("    not run: {error:#}");
    Row {
        scenario: scenario.into(),
        aim: aim.into(),
        measured: "—".into(),
        baseline: None,
        percent_of_baseline: None,
        met: None,
        note: Some(format!("{error:#}")),
        detail: serde_json::Value::Null,
    }
}

/// This process's soft limit on open files (`ulimit -n`); the servers it
/// starts inherit it.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(1024)
}

fn percent(ours: f64, theirs: f64) -> Option<f64> {
    (theirs > 0.0).then(|| ours / theirs * 100.0)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
