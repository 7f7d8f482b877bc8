//! The rule for missing prerequisites (Chromium, chromedriver, a service):
//! under `CI=true` the test fails, because CI must run it; elsewhere it prints
//! `SKIPPED: <test> because <reason>` where a person sees it, and passes.

use std::io::Write;

/// True under CI (`CI=true` or `CI=1`).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| {
        let value = value.trim();
        value.eq_ignore_ascii_case("true") || value == "1"
    })
}

/// Returns the prerequisite if it was found. If not, panics under CI, and
/// otherwise prints the skip line and returns `None` (the test then returns).
pub fn require<T>(test: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(why) if is_ci() => {
            panic!("{test}: {why}; CI=true requires this test to run, so this is a failure")
        }
        Err(why) => {
            announce(&format!("SKIPPED: {test} because {why}"));
            None
        }
    }
}

/// Writes a line straight to stderr: libtest captures `println!` and
/// `eprintln!` of passing tests, which would hide a skip.
pub fn announce(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
