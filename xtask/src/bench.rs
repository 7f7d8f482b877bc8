//! `cargo xtask bench`: builds release binaries and the release wasm bundle,
//! runs `backchannel-bench run` (the load generator; see bench/), and, after
//! a full run of every scenario, puts the table into the README's Performance section.
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

pub fn bench(quick: bool, only: Option<&str>) -> Result<()> {
    crate::setup::setup().context("setup failed")?;
    ui::build_ui(Profile::Release)?;
    banner("building release binaries (backchannel, backchannel-bench)");
    shell::run(shell::cargo().args(["build", "--release", "-p", "wiki", "-p", "bench"]))?;

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
        update_readme(&root.join("README.md"), &table)?;
        println!("README.md: Performance table updated");
    }
    Ok(())
}

/// Replaces what is between the bench markers in the README.
fn update_readme(readme: &Path, table: &str) -> Result<()> {
    let text = std::fs::read_to_string(readme)?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        bail!("README.md has no {START} ... {END} section");
    };
    let updated = format!(
        "{}{START}\n{}\n{}",
        &text[..start],
        table.trim_end(),
        &text[end..]
    );
    std::fs::write(readme, updated)?;
    Ok(())
}
