//! The rule for missing prerequisites (Chromium, chromedriver, PostgreSQL,
//! NATS): under `CI=true` a test that needs one fails, because CI must run
//! it; elsewhere it prints `SKIPPED: <what> because <reason>` where a person
//! sees it, and passes.

use std::io::Write as _;

/// True under CI (`CI=true` or `CI=1`), where a missing prerequisite is a failure.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| {
        let value = value.trim();
        value.eq_ignore_ascii_case("true") || value == "1"
    })
}

/// Returns the prerequisite if it was found. If not, panics under CI, and
/// otherwise prints the skip line and returns `None` (the test then returns).
pub fn require<T>(what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(why) => {
            missing(what, &why);
            None
        }
    }
}

/// Reports that `what` cannot run because of `why`: a panic under CI, a
/// visible skip line elsewhere.
pub fn missing(what: &str, why: &str) {
    if is_ci() {
        panic!("{what}: {why}; CI=true requires this to run, so this is a failure");
    }
    announce(&format!("SKIPPED: {what} because {why}"));
}

/// Writes a line straight to stderr: libtest captures `println!` and
/// `eprintln!` of passing tests, which would hide a skip.
pub fn announce(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_prerequisite_is_returned() {
        assert_eq!(require("x", Ok::<_, String>(7)), Some(7));
    }
}
