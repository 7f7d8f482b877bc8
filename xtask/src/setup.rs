//! `cargo xtask setup`: checks for each tool the build needs and installs only
//! what is missing, so running it twice does nothing the second time.
//!
//! Order matters: the wasm32 target and cargo components first, then the
//! cargo-installed tools (wasm-pack, wasm-bindgen-cli pinned to Cargo.lock),
//! then Debian packages (Chromium, chromedriver), then binaryen's
//! `wasm-opt` from npm into `target/tools` (Debian 12's binaryen 108 breaks
//! wasm-bindgen's externref table, so the bundle would not start).

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::shell::{self, banner, note};

/// The Debian package that provides each system tool we need.
const SYSTEM_TOOLS: [(&str, &str); 2] = [
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
];

/// binaryen from npm, pinned: its `wasm-opt` shrinks the release bundle.
pub const BINARYEN_NPM: &str = "binaryen@132.0.0";

/// What `setup` found about the optional system tools, for later steps.
#[derive(Debug, Default)]
pub struct Browsers {
    /// The Chromium binary, if installed.
    pub chromium: Option<PathBuf>,
    /// The chromedriver binary, if installed.
    pub chromedriver: Option<PathBuf>,
}

impl Browsers {
    /// Looks the browser tools up on `PATH` (Debian puts both in /usr/bin).
    pub fn detect() -> Self {
        Browsers {
            chromium: shell::find_program("chromium"),
            chromedriver: shell::find_program("chromedriver"),
        }
    }

    /// A sentence naming what is missing, or `None` when both are there.
    pub fn missing(&self) -> Option<String> {
        let missing: Vec<&str> = [
            ("chromium", self.chromium.is_none()),
            ("chromedriver", self.chromedriver.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} not found on PATH (install with `cargo xtask setup` as root, or \
                 `apt-get install chromium chromium-driver`)",
                missing.join(" and ")
            )
        })
    }
}

/// Installs whatever is missing. Under CI a tool that cannot be installed is
/// an error; elsewhere it is a warning with the exact command to run.
pub fn setup() -> Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_components()?;
    ensure_wasm_pack()?;
    ensure_wasm_bindgen_cli()?;
    ensure_system_tools()?;
    ensure_binaryen();
    Ok(())
}

/// Installs binaryen's `wasm-opt` from npm into `target/tools` unless a
/// recent enough one is there. Optional: without it the release bundle is
/// just larger, so a failure is a note, not an error.
fn ensure_binaryen() {
    banner("checking binaryen (wasm-opt) for the release bundle");
    if let Some((path, version)) = crate::ui::wasm_opt() {
        note(&format!("wasm-opt {version} at {}", path.display()));
        return;
    }
    if shell::find_program("npm").is_none() {
        note("npm is not installed: release bundles will not be shrunk (install Node.js and npm, then rerun)");
        return;
    }
    let tools = shell::workspace_root().join("target/tools");
    let installed = shell::run(
        shell::command("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg(BINARYEN_NPM),
    );
    if let Err(e) = installed {
        note(&format!(
            "could not install {BINARYEN_NPM} from npm ({e:#}): release bundles will not be shrunk"
        ));
    }
}

fn ensure_wasm_target() -> Result<()> {
    banner("checking the wasm32-unknown-unknown target");
    let target = "wasm32-unknown-unknown";
    if shell::find_program("rustup").is_none() {
        // Without rustup the toolchain came from elsewhere; look in its sysroot.
        let sysroot = shell::probe(shell::command("rustc").args(["--print", "sysroot"]))
            .context("`rustc --print sysroot` failed: is Rust installed?")?;
        let lib = PathBuf::from(sysroot.trim())
            .join("lib/rustlib")
            .join(target);
        if lib.exists() {
            note("installed");
            return Ok(());
        }
        bail!("the {target} target is missing and rustup is not installed: install the target for your toolchain");
    }
    let installed = shell::probe(shell::command("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if installed.lines().any(|line| line.trim() == target) {
        note("installed");
        return Ok(());
    }
    shell::run(shell::command("rustup").args(["target", "add", target]))
}

fn ensure_cargo_components() -> Result<()> {
    banner("checking rustfmt and clippy");
    let mut missing = Vec::new();
    for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if shell::probe(shell::cargo().args([subcommand, "--version"])).is_none() {
            missing.push(component);
        }
    }
    if missing.is_empty() {
        note("installed");
        return Ok(());
    }
    if shell::find_program("rustup").is_none() {
        bail!(
            "{} missing and rustup is not installed: add them to your toolchain",
            missing.join(" and ")
        );
    }
    shell::run(
        shell::command("rustup")
            .args(["component", "add"])
            .args(&missing),
    )
}

fn ensure_wasm_pack() -> Result<()> {
    banner("checking wasm-pack");
    if let Some(version) = shell::probe(shell::command("wasm-pack").arg("--version")) {
        note(&format!("installed: {}", version.trim()));
        return Ok(());
    }
    note("missing; building it from crates.io (takes a few minutes)");
    cargo_install(&["wasm-pack"])
}

/// `cargo install --locked ARGS`, retried without `--locked` if that fails:
/// a yanked or unpublished crate in the tool's own lock file makes `--locked`
/// fail (seen with wasm-bindgen-cli and webpki-roots), and resolving afresh
/// still builds the version asked for.
fn cargo_install(args: &[&str]) -> Result<()> {
    let install = |locked: bool| {
        let mut cmd = shell::cargo();
        cmd.arg("install").args(args);
        if locked {
            cmd.arg("--locked");
        }
        shell::run(&mut cmd)
    };
    if let Err(locked_error) = install(true) {
        note(&format!("{locked_error:#}; retrying without --locked"));
        install(false).with_context(|| format!("cargo install {}", args.join(" ")))?;
    }
    Ok(())
}

fn ensure_wasm_bindgen_cli() -> Result<()> {
    let lock_path = shell::workspace_root().join("Cargo.lock");
    let lock = fs::read_to_string(&lock_path)
        .with_context(|| format!("could not read {}", lock_path.display()))?;
    let wanted = lockfile_version(&lock, "wasm-bindgen").with_context(|| {
        format!(
            "reading the wasm-bindgen version from {}",
            lock_path.display()
        )
    })?;
    banner(&format!(
        "checking wasm-bindgen-cli {wanted} (the wasm-bindgen version in Cargo.lock)"
    ));
    let found = shell::probe(shell::command("wasm-bindgen").arg("--version"))
        .and_then(|output| parse_tool_version(&output));
    match found {
        Some(version) if version == wanted => {
            note(&format!("installed: {version}"));
            return Ok(());
        }
        Some(version) => note(&format!("found {version}; replacing it with {wanted}")),
        None => note("missing; building it from crates.io (takes a few minutes)"),
    }
    cargo_install(&["wasm-bindgen-cli", "--version", &wanted, "--force"])
}

fn ensure_system_tools() -> Result<()> {
    banner("checking chromium and chromedriver");
    let missing: Vec<(&str, &str)> = SYSTEM_TOOLS
        .into_iter()
        .filter(|(program, _)| shell::find_program(program).is_none())
        .collect();
    if missing.is_empty() {
        note("installed");
        return Ok(());
    }
    let programs: Vec<&str> = missing.iter().map(|(program, _)| *program).collect();
    let packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
    note(&format!("missing: {}", programs.join(", ")));

    if shell::is_debian() && shell::is_root() {
        shell::run(
            shell::command("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        shell::run(
            shell::command("apt-get")
                .args(["install", "-y"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        let still_missing: Vec<&str> = programs
            .iter()
            .copied()
            .filter(|program| shell::find_program(program).is_none())
            .collect();
        if !still_missing.is_empty() {
            bail!(
                "apt-get installed {} but {} is still not on PATH",
                packages.join(" "),
                still_missing.join(", ")
            );
        }
        return Ok(());
    }

    let how = if shell::is_debian() {
        format!("sudo apt-get install {}", packages.join(" "))
    } else {
        format!(
            "install {} with your package manager (Chromium and its chromedriver)",
            packages.join(", ")
        )
    };
    if shell::is_ci() {
        bail!(
            "{} missing and this is CI (CI=true), where the browser tests must run; run: {how}",
            programs.join(", ")
        );
    }
    note(&format!(
        "not root, so not installing them; to run the browser tests and shrink the bundle, run: {how}"
    ));
    Ok(())
}

/// The version of package `name` in a Cargo.lock, which must list it exactly once.
pub fn lockfile_version(lock: &str, name: &str) -> Result<String> {
    let mut versions = Vec::new();
    for package in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            package.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if field("name").as_deref() == Some(name) {
            if let Some(version) = field("version") {
                versions.push(version);
            }
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => bail!("package `{name}` is not in Cargo.lock (run `cargo generate-lockfile`?)"),
        many => bail!(
            "Cargo.lock has several versions of `{name}` ({}); wasm-bindgen-cli must match exactly one",
            many.join(", ")
        ),
    }
}

/// The version in a `tool 1.2.3` line, as `wasm-bindgen --version` prints it.
pub fn parse_tool_version(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .nth(1)
        .map(|version| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.130"
"#;

    #[test]
    fn finds_the_exact_package_not_its_namesakes() {
        assert_eq!(lockfile_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
    }

    #[test]
    fn missing_package_is_an_error_that_says_so() {
        let error = lockfile_version(LOCK, "serde").unwrap_err().to_string();
        assert!(error.contains("`serde` is not in Cargo.lock"), "{error}");
    }

    #[test]
    fn two_versions_are_ambiguous() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n");
        let error = lockfile_version(&lock, "wasm-bindgen")
            .unwrap_err()
            .to_string();
        assert!(error.contains("0.2.130, 0.2.99"), "{error}");
    }

    #[test]
    fn reads_wasm_bindgen_version_output() {
        assert_eq!(
            parse_tool_version("wasm-bindgen 0.2.130\n").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(parse_tool_version(""), None);
    }
}
