//! Letter case for names: the avatar's capital and case-insensitive `@`
//! matching and sorting.
//!
//! In the bundle these ask the browser (`toUpperCase`, `toLowerCase`, which
//! apply the same Unicode case mappings as Rust's): Rust's own would link
//! its case tables, about 24 KB of data (10 KB gzipped) for a few names.
//! Natively (the unit tests) they are Rust's, so the pure state code still
//! runs without a browser.

/// `text` in lower case.
pub fn lower(text: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JsString::from(text).to_lower_case().into()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.to_lowercase()
    }
}

/// `text` in upper case.
pub fn upper(text: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::JsString::from(text).to_upper_case().into()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_follows_unicode_not_just_ascii() {
        assert_eq!(lower("Élodie ÀB"), "élodie àb");
        assert_eq!(upper("élodie"), "ÉLODIE");
        assert_eq!(upper("ß"), "SS");
    }
}
