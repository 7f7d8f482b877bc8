//! Paths the tests need, resolved the way cargo and xtask resolve them, and
//! free loopback ports.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The workspace root (this crate lives at `<root>/tests`).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root when relative, as cargo reads it), else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The wasm bundle `cargo xtask build-ui` writes and the server serves at
/// `/assets/ui/`.
pub fn ui_dir() -> PathBuf {
    root().join("target").join("ui")
}

/// The bundle directory, or an error telling how to build it.
pub fn require_ui_bundle() -> Result<PathBuf> {
    let dir = ui_dir();
    let entry = dir.join("backchannel.js");
    if !entry.exists() {
        bail!(
            "the wasm UI bundle is missing ({} does not exist): run `cargo xtask build-ui` \
             (cargo xtask test does this)",
            entry.display()
        );
    }
    Ok(dir)
}

/// `<target>/e2e`, created if needed: screenshots and failure artifacts.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = target_dir().join("e2e");
    fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir)
}

/// A loopback port that was free a moment ago: bind port 0, read, drop.
///
/// Another process could take it before we use it; on a test machine that is
/// rare enough, and servers that need a fixed port across restarts need this.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
