//! `cargo xtask build-ui`: builds `wasm-ui` with wasm-pack into `target/ui`
//! (which the plugin serves at `/assets/ui/`; `BACKCHANNEL_UI_DIR` overrides
//! where it looks), runs release builds through binaryen's `wasm-opt -O1`, and
//! reports the bundle size raw and gzipped; it writes a `.gz` beside each
//! `.wasm` and `.js` file, which the server sends to browsers that take gzip.
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
    /// Optimised and run through `wasm-opt -O1`: for `cargo xtask run`.
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
    precompress(&out_dir())?;
    Ok(wasm)
}

/// Writes `NAME.gz` beside every `.wasm` and `.js` file of the bundle, which
/// the server sends to browsers that accept gzip (most of the bundle's
/// bytes are the wasm module: about 2.4× smaller gzipped). Done once here
/// rather than per request; a stale `.gz` is replaced on every build.
fn precompress(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))? {
        let path = entry?.path();
        let bundled = path
            .extension()
            .is_some_and(|ext| ext == "wasm" || ext == "js");
        if !bundled {
            continue;
        }
        let bytes =
            fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&bytes)?;
        let mut gz = path.clone().into_os_string();
        gz.push(".gz");
        fs::write(&gz, encoder.finish()?)
            .with_context(|| format!("could not write {}", Path::new(&gz).display()))?;
    }
    Ok(())
}

/// The oldest binaryen whose `wasm-opt` keeps wasm-bindgen's externref
/// table intact. Debian 12's binaryen 108 turns it into a funcref table and
/// the bundle then fails to start (`WebAssembly.Table.set(): Argument 1 is
/// invalid for table`).
const MIN_BINARYEN: u32 = 116;

/// A `wasm-opt` recent enough to use, and its version: the one `cargo xtask
/// setup` puts in `target/tools` first, else one on `PATH`.
pub fn wasm_opt() -> Option<(PathBuf, u32)> {
    let local = shell::workspace_root().join("target/tools/node_modules/.bin/wasm-opt");
    [Some(local), shell::find_program("wasm-opt")]
        .into_iter()
        .flatten()
        .filter(|path| path.exists())
        .find_map(|path| {
            let output = shell::probe(shell::command(&path).arg("--version"))?;
            let version = binaryen_version(&output)?;
            (version >= MIN_BINARYEN).then_some((path, version))
        })
}

/// `wasm-opt version 132 (version_132)` -> 132.
fn binaryen_version(output: &str) -> Option<u32> {
    output
        .split_whitespace()
        .skip_while(|word| *word != "version")
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `wasm-opt -O1` in place, if a recent enough binaryen is installed.
///
/// `-O1`, not `-Oz`: what browsers download is the gzipped file, and on this
/// bundle (measured 2026-12-01, binaryen 132) `-O1` gives 155 KB gzipped
/// against 165 KB for `-Oz` and `-Os` and 166 KB for `-O2`: `-Oz` makes the
/// raw file 6% smaller but harder to compress.
fn optimise(wasm: &Path) -> Result<()> {
    let Some((wasm_opt, _)) = wasm_opt() else {
        banner(&format!(
            "skipping wasm-opt: none of binaryen {MIN_BINARYEN} or later is installed (`cargo xtask setup` installs one from npm)"
        ));
        return Ok(());
    };
    banner("optimising the bundle with wasm-opt -O1");
    let optimised = wasm.with_extension("opt.wasm");
    // Write beside the input and rename, so a failed run never leaves a
    // truncated bundle behind.
    shell::run(
        shell::command(wasm_opt)
            .arg("-O1")
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
    fn binaryen_versions_are_read_from_wasm_opt_output() {
        assert_eq!(
            binaryen_version("wasm-opt version 132 (version_132)\n"),
            Some(132)
        );
        assert_eq!(binaryen_version("wasm-opt version 108\n"), Some(108));
        assert_eq!(binaryen_version("something else"), None);
    }

    #[test]
    fn gzip_shrinks_repetitive_input() {
        let input = vec![b'a'; 10_000];
        let compressed = gzip_len(&input).unwrap();
        assert!(compressed < 200, "gzipped to {compressed} bytes");
    }
}
