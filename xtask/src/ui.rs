//! `cargo xtask build-ui`: builds `wasm-ui` with wasm-pack into `target/ui`
//! (which the plugin serves at `/assets/ui/`; `BACKCHANNEL_UI_DIR` overrides
//! where it looks), shrinks release builds with Debian's `wasm-opt -Oz`, and
//! reports the bundle size raw and gzipped.
//!
//! wasm-pack's own wasm-opt step is off in `wasm-ui/Cargo.toml` because
//! wasm-pack cannot download binaryen on these machines.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::shell::{self, banner, note};

/// The bundle's file stem: `backchannel.js` and `backchannel_bg.wasm`.
const OUT_NAME: &str = "backchannel";

/// Which cargo profile wasm-pack builds with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Fast to build, large, with debug info: for `cargo xtask test`.
    Dev,
    /// Optimised and run through `wasm-opt -Oz`: for `cargo xtask run`.
    Release,
}

/// Where the bundle goes: `<workspace>/target/ui`.
pub fn out_dir() -> PathBuf {
    shell::workspace_root().join("target").join("ui")
}

/// Builds the bundle and returns the path of its `.wasm` file.
pub fn build_ui(profile: Profile) -> Result<PathBuf> {
    let label = match profile {
        Profile::Dev => "dev",
        Profile::Release => "release",
    };
    banner(&format!(
        "building the wasm bundle ({label}) into target/ui"
    ));
    let mut cmd = shell::command("wasm-pack");
    cmd.args([
        "build",
        "wasm-ui",
        "--target",
        "web",
        "--out-dir",
        "../target/ui",
        "--out-name",
        OUT_NAME,
        "--no-typescript",
    ]);
    cmd.arg(match profile {
        Profile::Dev => "--dev",
        Profile::Release => "--release",
    });
    if profile == Profile::Release {
        // Size over speed for the bundle only: these override the workspace's
        // release profile for this cargo run (the server's build is untouched).
        cmd.envs([
            ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z"),
            ("CARGO_PROFILE_RELEASE_LTO", "fat"),
            ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
            ("CARGO_PROFILE_RELEASE_PANIC", "abort"),
        ]);
    }
    shell::run(&mut cmd).context("wasm-pack could not build wasm-ui")?;

    let wasm = out_dir().join(format!("{OUT_NAME}_bg.wasm"));
    if !wasm.exists() {
        anyhow::bail!("wasm-pack succeeded but {} is missing", wasm.display());
    }
    if profile == Profile::Release {
        optimise(&wasm)?;
    }
    report_size(&wasm)?;
    Ok(wasm)
}

/// Runs `wasm-opt -Oz` in place, if binaryen is installed.
fn optimise(wasm: &Path) -> Result<()> {
    let Some(wasm_opt) = shell::find_program("wasm-opt") else {
        banner("skipping wasm-opt: not installed (`cargo xtask setup` as root installs binaryen)");
        return Ok(());
    };
    banner("shrinking the bundle with wasm-opt -Oz");
    let optimised = wasm.with_extension("opt.wasm");
    // Write beside the input and rename, so a failed run never leaves a
    // truncated bundle behind.
    shell::run(
        shell::command(wasm_opt)
            .arg("-Oz")
            // Binaryen reads rustc's target_features section; these cover
            // what current rustc emits for wasm32 should that section be absent.
            .args([
                "--enable-bulk-memory",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(wasm)
            .arg("-o")
            .arg(&optimised),
    )
    .context("wasm-opt failed on the bundle")?;
    fs::rename(&optimised, wasm)
        .with_context(|| format!("could not replace {}", wasm.display()))?;
    Ok(())
}

/// Prints the bundle size raw and gzipped, which is what a browser downloads.
fn report_size(wasm: &Path) -> Result<()> {
    let bytes = fs::read(wasm).with_context(|| format!("could not read {}", wasm.display()))?;
    let gzipped = gzip_len(&bytes)?;
    note(&format!(
        "{}: {} raw, {} gzipped",
        wasm.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        human_size(bytes.len()),
        human_size(gzipped)
    ));
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// `1234567` -> `1.18 MiB (1234567 bytes)`.
fn human_size(bytes: usize) -> String {
    // Precision loss past 2^52 bytes is irrelevant for a wasm bundle.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if value >= 1024.0 * 1024.0 {
        format!("{:.2} MiB ({bytes} bytes)", value / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB ({bytes} bytes)", value / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_size(2048), "2.0 KiB (2048 bytes)");
        assert_eq!(human_size(3 * 1024 * 1024), "3.00 MiB (3145728 bytes)");
    }

    #[test]
    fn gzip_shrinks_repetitive_input() {
        let input = vec![b'a'; 10_000];
        let compressed = gzip_len(&input).unwrap();
        assert!(compressed < 200, "gzipped to {compressed} bytes");
    }
}
