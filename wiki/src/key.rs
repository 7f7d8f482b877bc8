//! [`PageKey`]: the page a URL's `{*path}` names, parsed once where the
//! request comes in, so handlers pass a typed key along instead of the raw
//! text each of them parsed again.

use crate::pages::PagePath;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

/// The `{*path}` of a page URL: a valid [`PagePath`], or none when the text
/// cannot name a page (a route then answers as for a missing page, in its
/// own format, which is why this is not a rejection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey(Option<PagePath>);

impl PageKey {
    pub fn parse(raw: &str) -> PageKey {
        PageKey(PagePath::parse(raw).ok())
    }

    /// The page path, `None` when the URL named no valid path.
    pub fn path(&self) -> Option<&PagePath> {
        self.0.as_ref()
    }

    /// Where a browser reads the page: its URL, or `/` for an invalid path.
    pub fn url(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| "/".to_owned(), PagePath::url)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageKey {
    type Rejection = PathRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(PageKey::parse(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_parsed_once_and_invalid_text_names_no_page() {
        let key = PageKey::parse("/My Team/a&b/");
        assert_eq!(key.path().map(PagePath::as_str), Some("My Team/a&b"));
        assert_eq!(key.url(), "/pages/My%20Team/a%26b");
        let bad = PageKey::parse("a/../b");
        assert_eq!(bad.path(), None);
        assert_eq!(bad.url(), "/");
    }
}
