//! The `backchannel` binary: parses the command line, sets up logging and
//! runs the chosen subcommand (see [`wiki::cli`]).

use clap::Parser as _;
use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// jemalloc, not glibc's malloc: under a steady chat load glibc kept freed
/// memory in its per-thread arenas (a soak at 500 listeners x 20 msg/s grew
/// RSS 1.5-5 MB a minute while the live heap stayed flat), where jemalloc
/// gives unused pages back after a few seconds. (mimalloc, tried too, held
/// twice as much.)
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// With the `dhat-heap` feature every allocation is recorded instead (see
/// wiki/Cargo.toml); the profile is written when `main` returns.
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let cli = wiki::cli::Cli::parse();
    // Logs go to stderr so stdout carries only what a person must read
    // (a generated password).
    tracing_subscriber::fmt()
        .with_env_filter(
            // PostgreSQL's "already exists, skipping" notices from each
            // start's migration check say nothing an operator needs.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match wiki::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("backchannel: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
