//! Headless Chromium as every browser run here starts it: the end-to-end
//! tests, the popup benchmark and `wasm-pack test` (through xtask).
//!
//! The flags come from what this machine's closed network needs: without the
//! background-networking and component-update flags Chromium keeps opening
//! connections that are refused, and without `--no-sandbox` it will not start
//! as root in a container.

use std::path::PathBuf;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The flags for a quiet browser: no GPU, no background traffic, no first-run
/// UI, no sync, no QUIC. `wasm-bindgen-test-runner` adds `--headless`,
/// `--no-sandbox` and `--disable-dev-shm-usage` itself, so these are the
/// ones it takes as they are.
pub const QUIET_ARGS: [&str; 6] = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
];

/// [`QUIET_ARGS`] plus headless without a sandbox (containers run as root),
/// and a fixed window and language so screenshots and timings compare.
pub fn headless_args() -> Vec<&'static str> {
    let mut args = vec!["--headless", "--no-sandbox", "--disable-dev-shm-usage"];
    args.extend(QUIET_ARGS);
    args.extend(["--window-size=1000,800", "--lang=en-US"]);
    args
}

/// The browser and driver binaries, or why they cannot be used (for
/// [`crate::skip::require`]).
pub fn find() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(CHROMIUM);
    let driver = PathBuf::from(CHROMEDRIVER);
    let missing: Vec<&str> = [(&chromium, "chromium"), (&driver, "chromedriver")]
        .into_iter()
        .filter(|(path, _)| !path.is_file())
        .map(|(_, name)| name)
        .collect();
    if missing.is_empty() {
        Ok((chromium, driver))
    } else {
        Err(format!(
            "{} not installed ({CHROMIUM}, {CHROMEDRIVER}): run `cargo xtask setup` as root, \
             or `apt-get install chromium chromium-driver`",
            missing.join(" and ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_runs_have_every_quiet_flag_once() {
        let args = headless_args();
        for flag in QUIET_ARGS {
            assert_eq!(args.iter().filter(|arg| **arg == flag).count(), 1, "{flag}");
        }
        assert!(args.contains(&"--headless"));
    }
}
