//! File sizes as people read them, written the same way everywhere a size is
//! shown: the popup, the macro table, the browser's upload progress and the
//! transcript pages (whose bytes must not change between runs, so this is
//! exact integer arithmetic, not floating point).

use std::fmt::Write as _;

/// `512 B`, `1.5 KB`, `12.0 MB`: binary units, one decimal, rounded down.
pub fn human_size(bytes: u64) -> String {
    let mut out = String::new();
    push_size(&mut out, bytes);
    out
}

/// Appends [`human_size`] to `out`.
pub fn push_size(out: &mut String, bytes: u64) {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        let _ = write!(out, "{bytes} B");
        return;
    }
    let mut unit = 0;
    let mut scale: u64 = 1024;
    while unit + 1 < UNITS.len() && bytes / scale >= 1024 {
        unit += 1;
        scale *= 1024;
    }
    let tenths = u128::from(bytes) * 10 / u128::from(scale);
    let _ = write!(out, "{}.{} {}", tenths / 10, tenths % 10, UNITS[unit]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KB");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(5 * 1024 * 1024 + 1), "5.0 MB");
        assert_eq!(human_size(u64::MAX), "16777215.9 TB");
    }
}
