//! `cargo xtask test`: every check CI runs, in order, with a summary.
//!
//! Steps keep going after a failure (unless `--fail-fast`) so one run shows
//! everything that is wrong; the summary names each failed step and the exit
//! code is non-zero if any failed. Browser steps are skipped with a reason
//! when Chromium is missing, except under `CI=true`, where that is a failure.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::layers;
use crate::setup::{self, Browsers};
use crate::shell::{self, banner};
use crate::ui::{self, Profile};

/// How one step ended.
enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// A finished step, for the summary.
struct StepResult {
    name: &'static str,
    outcome: Outcome,
    took: Duration,
}

/// Runs the steps in order and collects their outcomes.
struct Pipeline {
    fail_fast: bool,
    results: Vec<StepResult>,
}

impl Pipeline {
    /// Runs `step` unless an earlier one failed under `--fail-fast`.
    /// The step returns `Ok(Some(reason))` to report itself skipped.
    fn step(&mut self, name: &'static str, step: impl FnOnce() -> Result<Option<String>>) {
        if self.fail_fast && self.failed() > 0 {
            self.results.push(StepResult {
                name,
                outcome: Outcome::Skipped("an earlier step failed (--fail-fast)".into()),
                took: Duration::ZERO,
            });
            return;
        }
        println!();
        banner(&format!("[{}] {name}", self.results.len() + 1));
        let started = Instant::now();
        let outcome = match step() {
            Ok(None) => Outcome::Passed,
            Ok(Some(reason)) => {
                println!("SKIPPED: {name} because {reason}");
                Outcome::Skipped(reason)
            }
            Err(error) => {
                let message = format!("{error:#}");
                eprintln!("FAILED: {name}: {message}");
                Outcome::Failed(message)
            }
        };
        self.results.push(StepResult {
            name,
            outcome,
            took: started.elapsed(),
        });
    }

    fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|result| matches!(result.outcome, Outcome::Failed(_)))
            .count()
    }

    fn print_summary(&self) {
        println!();
        banner("summary");
        for result in &self.results {
            let (mark, detail) = match &result.outcome {
                Outcome::Passed => ("ok     ", String::new()),
                Outcome::Failed(why) => ("FAILED ", format!(": {}", first_line(why))),
                Outcome::Skipped(why) => ("skipped", format!(": {why}")),
            };
            println!(
                "    {mark} {:<34} {:>6.1}s{detail}",
                result.name,
                result.took.as_secs_f64()
            );
        }
        let passed = self
            .results
            .iter()
            .filter(|result| matches!(result.outcome, Outcome::Passed))
            .count();
        let skipped = self.results.len() - passed - self.failed();
        // The last line, in the plain form CI log readers understand.
        println!(
            "steps: {passed} passed, {} failed, {skipped} skipped",
            self.failed()
        );
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The browser pair for a step, or why the step should skip, or an error under CI.
fn browsers_or_skip() -> Result<std::result::Result<Browsers, String>> {
    let browsers = Browsers::detect();
    match browsers.missing() {
        None => Ok(Ok(browsers)),
        Some(why) if shell::is_ci() => bail!("{why}; CI=true requires the browser tests"),
        Some(why) => Ok(Err(why)),
    }
}

/// Writes `target/xtask/webdriver.json` with our Chromium binary and flags,
/// for `WASM_BINDGEN_TEST_WEBDRIVER_JSON`, and returns its path.
fn write_webdriver_json(browsers: &Browsers) -> Result<std::path::PathBuf> {
    let mut options = Vec::new();
    if let Some(chromium) = &browsers.chromium {
        options.push(format!(
            "\"binary\": {}",
            json_string(&chromium.to_string_lossy())
        ));
    }
    // wasm-bindgen-test-runner adds headless, no-sandbox and disable-dev-shm-usage itself.
    let args: Vec<String> = infra::chromium::QUIET_ARGS
        .iter()
        .map(|arg| json_string(arg))
        .collect();
    options.push(format!("\"args\": [{}]", args.join(", ")));
    let json = format!("{{\"goog:chromeOptions\": {{{}}}}}\n", options.join(", "));

    let dir = shell::workspace_root().join("target").join("xtask");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("webdriver.json");
    std::fs::write(&path, json)?;
    shell::note(&format!("Chromium capabilities in {}", path.display()));
    Ok(path)
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the whole pipeline; the exit code says whether everything passed.
pub fn test(fail_fast: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let mut pipeline = Pipeline {
        fail_fast,
        results: Vec::new(),
    };

    pipeline.step("setup", || setup::setup().map(|()| None));
    pipeline.step("cargo fmt --check", || {
        shell::run(shell::cargo().args(["fmt", "--all", "--", "--check"]))
            .context("formatting differs (diff above); `cargo fmt --all` fixes it")?;
        Ok(None)
    });
    pipeline.step("layers (cycles, long files)", || {
        layers::check(&shell::workspace_root())?;
        Ok(None)
    });
    pipeline.step("cargo clippy (native)", || {
        shell::run(shell::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        Ok(None)
    });
    pipeline.step("cargo clippy (wasm-ui, wasm32)", || {
        shell::run(shell::cargo().args([
            "clippy",
            "-p",
            "wasm-ui",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))?;
        Ok(None)
    });
    // The release bundle, as `cargo xtask run` and the bench serve it: the
    // browser tests then check what users get, wasm-opt included (an old
    // binaryen once broke it while the dev bundle kept passing).
    pipeline.step("build the wasm bundle (release)", || {
        ui::build_ui(Profile::Release)?;
        Ok(None)
    });
    pipeline.step("cargo build backchannel", || {
        shell::run(shell::cargo().args(["build", "-p", "wiki", "--bin", "backchannel"]))?;
        Ok(None)
    });
    pipeline.step("cargo test --workspace", || {
        // Includes the browser end-to-end tests in tests/, which use the
        // bundle and binary the two steps above built.
        let result = shell::run(shell::cargo().args(["test", "--workspace"]));
        shell::note("end-to-end screenshots and server logs: target/e2e/");
        result?;
        Ok(None)
    });
    pipeline.step("wasm-pack test (headless Chromium)", || {
        let browsers = match browsers_or_skip()? {
            Ok(browsers) => browsers,
            Err(why) => return Ok(Some(why)),
        };
        let mut cmd = shell::command("wasm-pack");
        cmd.args(["test", "--headless", "--chrome"]);
        // Ours, named twice: wasm-pack would otherwise download one, and its
        // test runner reads CHROMEDRIVER.
        if let Some(chromedriver) = &browsers.chromedriver {
            cmd.arg("--chromedriver").arg(chromedriver);
            cmd.env("CHROMEDRIVER", chromedriver);
        }
        cmd.arg("wasm-ui");
        if shell::workspace_root()
            .join("wasm-ui/webdriver.json")
            .exists()
        {
            shell::note("using wasm-ui/webdriver.json for Chromium's capabilities");
        } else {
            let path = write_webdriver_json(&browsers)?;
            cmd.env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", path);
        }
        shell::run(&mut cmd)?;
        Ok(None)
    });

    let failed: Vec<&str> = pipeline
        .results
        .iter()
        .filter(|result| matches!(result.outcome, Outcome::Failed(_)))
        .map(|result| result.name)
        .collect();
    println!();
    if failed.is_empty() {
        println!(
            "xtask test: all steps passed in {:.0}s",
            started.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "xtask test: FAILED after {:.0}s: {}",
            started.elapsed().as_secs_f64(),
            failed.join(", ")
        );
    }
    pipeline.print_summary();
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(json_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(json_string("\n"), r#""\u000a""#);
    }
}
