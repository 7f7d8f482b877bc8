//! `cargo xtask`: Backchannel's bootstrap and build orchestration, in Rust
//! rather than shell so it is portable, readable, and checks before it acts.
//!
//! ```text
//! cargo xtask setup              install what is missing (idempotent)
//! cargo xtask build-ui [--release]   build the wasm bundle into target/ui
//! cargo xtask run                setup, release bundle, serve on 127.0.0.1:8080
//! cargo xtask test               fmt, clippy, bundle, tests, browser tests
//! cargo xtask bench [--quick] [--only S]  load generator vs a bare baseline; README table
//! cargo xtask bench --soak SECONDS        steady load for long, watched for drift
//! cargo xtask layers             import cycles between modules, files over 800 lines
//! ```
//!
//! # Layout
//! - `main`: the command line (clap) and dispatch; `run` lives here.
//! - [`shell`]: child processes, banners, `PATH`, root/CI/Debian probes.
//! - [`setup`]: the toolchain, wasm-pack, wasm-bindgen-cli pinned to
//!   Cargo.lock, and Debian's chromium, chromedriver and binaryen.
//! - [`ui`]: wasm-pack build into `target/ui`, `wasm-opt -O1`, size report.
//! - [`test`]: the CI pipeline, step by step, with a summary.
//! - [`bench`]: release builds, the load generator, the README table.
//! - [`layers`]: the module-import and file-length check.

mod bench;
mod layers;
mod setup;
mod shell;
mod test;
mod ui;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::shell::banner;
use crate::ui::Profile;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true,
    about = "Bootstrap, build, run and test Backchannel",
    long_about = "Bootstrap, build, run and test Backchannel.\n\n\
        On a fresh machine with only the Rust toolchain, `cargo xtask run` installs what \
        is missing and serves the wiki on http://127.0.0.1:8080; `cargo xtask test` runs \
        every check CI runs.",
    after_help = "Under CI=true, a missing browser is a failure rather than a skip."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install whatever build and test tools are missing (safe to re-run)
    ///
    /// Checks, then installs only what is missing: the wasm32 target, rustfmt
    /// and clippy, wasm-pack, wasm-bindgen-cli at exactly the version in
    /// Cargo.lock, as root on Debian chromium and chromium-driver (not root:
    /// prints the apt-get command to run), and binaryen's wasm-opt from npm
    /// into target/tools.
    Setup,
    /// Build the wasm UI bundle into target/ui
    ///
    /// The plugin serves target/ui at /assets/ui/ (BACKCHANNEL_UI_DIR overrides).
    /// A dev build unless --release; release builds also go through
    /// `wasm-opt -O1` when binaryen 116 or later is installed (older ones break
    /// the bundle). Prints the size, raw and gzipped; writes .gz files beside it.
    BuildUi {
        /// Optimised build, shrunk with wasm-opt when it is installed.
        #[arg(long)]
        release: bool,
    },
    /// Set up, build the release bundle, and serve on 127.0.0.1:8080
    ///
    /// Runs `backchannel serve` from a release build with data in ./data.
    /// The first start creates the admin account (its password is printed once)
    /// and the Welcome page with the Lobby chat.
    Run {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
        /// Data directory (SQLite database, uploads); created if missing.
        #[arg(long, default_value = "./data", value_name = "DIR")]
        data: PathBuf,
        /// Extra arguments for `backchannel serve`, after `--`.
        #[arg(last = true, value_name = "SERVE_ARGS")]
        extra: Vec<String>,
    },
    /// Run every check CI runs, then print a summary
    ///
    /// In order: setup, cargo fmt --check, the layers check, clippy (native and wasm32), the wasm
    /// bundle, the backchannel binary, cargo test --workspace (including the
    /// browser end-to-end tests), and wasm-pack test in headless Chromium.
    /// Exits non-zero if any step fails.
    Test {
        /// Stop at the first failed step instead of running the rest.
        #[arg(long)]
        fail_fast: bool,
    },
    /// Measure: the load generator against a fresh server and a bare baseline
    ///
    /// Builds release binaries, runs every scenario (fan-out, latency, 10,000
    /// listeners, idle memory, durable writes, history, SSE, long-poll, bundle
    /// size), writes target/bench/report.json and report.md, and puts the table
    /// in README.md. --quick: smaller sizes, under 2 minutes, README untouched.
    Bench {
        /// Smaller sizes and shorter runs, for development.
        #[arg(long)]
        quick: bool,
        /// Run only these scenarios (comma-separated: rss, fanout, latency,
        /// cluster, last, idle, writes, history, sse, poll, search,
        /// transcript, popup, bundle); README untouched.
        #[arg(long, value_name = "SCENARIOS")]
        only: Option<String>,
        /// Instead of the scenarios, hold 500 listeners x 20 msg/s for
        /// SECONDS and watch RSS, database sizes and per-minute latency
        /// (target/bench/soak.md); a soak of an hour or more goes in README.md.
        #[arg(long, value_name = "SECONDS", conflicts_with_all = ["quick", "only"])]
        soak: Option<u64>,
    },
    /// Check the code's shape: no import cycles between modules, no long files
    ///
    /// Reads every crate's src/ (comments and #[cfg(test)] items left out) and
    /// fails on any group of sibling modules that import each other in a
    /// circle, and on any source file over 800 lines not excused in
    /// xtask/src/layers.rs. `cargo xtask test` runs it first.
    Layers,
}

fn main() -> ExitCode {
    shell::init_path();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Setup => {
            setup::setup()?;
            banner("setup complete");
        }
        Command::BuildUi { release } => {
            let profile = if release {
                Profile::Release
            } else {
                Profile::Dev
            };
            ui::build_ui(profile)?;
        }
        Command::Run {
            listen,
            data,
            extra,
        } => run(&listen, data, &extra)?,
        Command::Test { fail_fast } => return test::test(fail_fast),
        Command::Bench {
            soak: Some(seconds),
            ..
        } => bench::soak(seconds)?,
        Command::Bench { quick, only, .. } => bench::bench(quick, only.as_deref())?,
        Command::Layers => layers::check(&shell::workspace_root())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask run`: setup, release bundle, then the server in the foreground.
fn run(listen: &str, data: PathBuf, extra: &[String]) -> Result<()> {
    setup::setup().context("setup failed")?;
    ui::build_ui(Profile::Release).context("building the wasm bundle failed")?;

    // Cargo runs from the workspace root; resolve --data against where the
    // user typed the command so `./data` means what they expect.
    let data = if data.is_absolute() {
        data
    } else {
        std::env::current_dir()
            .context("could not read the current directory")?
            .join(data)
    };
    banner(&format!(
        "serving Backchannel on http://{listen} (data in {})",
        data.display()
    ));
    let mut cmd = shell::cargo();
    cmd.args([
        "run",
        "--release",
        "-p",
        "wiki",
        "--bin",
        "backchannel",
        "--",
        "serve",
        "--listen",
        listen,
        "--data",
    ])
    .arg(&data)
    .args(extra);
    if std::env::var_os("BACKCHANNEL_UI_DIR").is_none() {
        cmd.env("BACKCHANNEL_UI_DIR", ui::out_dir());
    }
    shell::run(&mut cmd).context("the backchannel server stopped with an error")
}
