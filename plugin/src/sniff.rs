//! What uploaded bytes really are, from their first bytes: the one
//! sniffer files and pictures share. The type comes from the bytes, never
//! from the uploader's claim or name.

/// How many leading bytes [`sniff_image`] and [`looks_like_markup`] need.
pub const HEAD_BYTES: usize = 16;

/// The raster image type these bytes really are, if one we show inline:
/// PNG, JPEG, GIF or WebP.
pub fn sniff_image(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Whether these bytes start like markup (SVG, XML, HTML), after any
/// byte-order mark and white space: never a picture, and worth a clearer
/// refusal than "not an image".
pub fn looks_like_markup(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| head[i] == b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_raster_images_are_images() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg xmlns="), None);
        assert_eq!(sniff_image(b"<html><script>"), None);
    }

    #[test]
    fn markup_is_recognised_behind_a_bom_and_blanks() {
        assert!(looks_like_markup(b"<svg xmlns="));
        assert!(looks_like_markup(b"\xEF\xBB\xBF  \n<?xml"));
        assert!(looks_like_markup(b"<!DOCTYPE html>"));
        assert!(!looks_like_markup(b"\x89PNG"));
        assert!(!looks_like_markup(b""));
    }
}
