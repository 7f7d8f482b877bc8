//! `cargo xtask bench`: builds release binaries and the release wasm bundle,
//! runs `backchannel-bench run` (the load generator; see bench/), and, after
//! a full run of every scenario, puts the table into the README's Performance section.
//! `cargo xtask bench --soak SECONDS` runs `backchannel-bench soak` instead
//! (one steady load, watched for drift); a soak of an hour or more puts its
//! report into the README's soak section.
//!
//! Holding 50,000 connections needs 50,000 open files in the server and as
//! many in the load generator; the bench caps the count at what the
//! open-file limit (`ulimit -n`) allows and says so in its report. Raise the
//! limit before running (`ulimit -n 120000`, as root) for the full figure.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::shell::{self, banner};
use crate::ui::{self, Profile};

/// The README lines between which the latest table goes.
const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";
/// The README lines between which the latest hour-long soak goes.
const SOAK_START: &str = "<!-- soak:start -->";
const SOAK_END: &str = "<!-- soak:end -->";
/// The shortest soak that speaks for the README.
const README_SOAK: u64 = 3600;

fn build() -> Result<()> {
    crate::setup::setup().context("setup failed")?;
    ui::build_ui(Profile::Release)?;
    banner("building release binaries (backchannel, backchannel-bench)");
    shell::run(shell::cargo().args(["build", "--release", "-p", "wiki", "-p", "bench"]))
}

/// `cargo xtask bench --soak SECONDS`: `backchannel-bench soak`, and for an
/// hour or more the README's soak section. The report is written even when
/// an aim is missed (the command then fails).
pub fn soak(seconds: u64) -> Result<()> {
    build()?;
    let root = shell::workspace_root();
    let out = root.join("target/bench");
    let mut cmd = shell::command(root.join("target/release/backchannel-bench"));
    cmd.current_dir(&root)
        .arg("soak")
        .arg("--seconds")
        .arg(seconds.to_string())
        .arg("--out")
        .arg(&out);
    banner(&format!("running a {seconds}-second soak"));
    let outcome = shell::run(&mut cmd).context("the soak failed");
    if seconds >= README_SOAK && out.join("soak.md").exists() {
        let report = std::fs::read_to_string(out.join("soak.md"))?;
        replace_between(&root.join("README.md"), SOAK_START, SOAK_END, &report)?;
        println!("README.md: soak section updated");
    }
    outcome
}

pub fn bench(quick: bool, only: Option<&str>) -> Result<()> {
    build()?;
    let root = shell::workspace_root();
    let bench = root.join("target/release/backchannel-bench");
    let out = root.join("target/bench");
    let mut cmd = shell::command(&bench);
    cmd.current_dir(&root)
        .arg("run")
        .arg("--out")
        .arg(&out)
        .arg("--ui")
        .arg(ui::out_dir());
    if quick {
        cmd.arg("--quick");
    }
    if let Some(only) = only {
        cmd.arg("--only").arg(only);
    }
    banner(if quick {
        "running the quick bench"
    } else {
        "running the full bench"
    });
    shell::run(&mut cmd).context("the bench failed")?;

    // Only a full run of every scenario speaks for the README.
    if !quick && only.is_none() {
        let table = std::fs::read_to_string(out.join("report.md"))?;
        replace_between(&root.join("README.md"), START, END, &table)?;
        println!("README.md: Performance table updated");
    }
    Ok(())
}

/// Replaces what is between two marker lines in the README.
fn replace_between(readme: &Path, start_mark: &str, end_mark: &str, table: &str) -> Result<()> {
    let text = std::fs::read_to_string(readme)?;
    let (Some(start), Some(end)) = (text.find(start_mark), text.find(end_mark)) else {
        bail!("README.md has no {start_mark} ... {end_mark} section");
    };
    let updated = format!(
        "{}{start_mark}\n{}\n{}",
        &text[..start],
        table.trim_end(),
        &text[end..]
    );
    std::fs::write(readme, updated)?;
    Ok(())
}
