//! Profile pictures: an upload turned into a few small, safe images, and
//! the letter image people without one get.
//!
//! [`process`] refuses anything that is not a raster image *before*
//! decoding: the first bytes must be PNG, JPEG, GIF or WebP
//! ([`crate::sniff`]; the uploader's name and type are ignored), so SVG,
//! HTML or a renamed file never reach a decoder (415
//! `unsupported_media_type`). The header's dimensions are checked next
//! (at most [`MAX_SIDE`] a side and [`MAX_PIXELS`] in all, 413), and the
//! decoder runs under `image::Limits`, so a small file claiming a huge
//! picture cannot take the memory. Then the picture is turned upright
//! (EXIF orientation), cropped to its centre square, scaled to each of
//! [`SIZES`] with a Lanczos filter (a cheap box filter first takes very
//! large pictures down to twice the largest size), and encoded as JPEG.
//!
//! Why JPEG for every size: the pictures are mostly photos, for which JPEG
//! at quality 85 is 3–10 times smaller than PNG (about 2–12 KB from 32 to
//! 256 pixels), and the bytes live in the database. Transparency is lost:
//! it is flattened onto white, which is what the chat's light panels show
//! behind a picture anyway. One output type also means one content type to
//! serve. The original upload is not kept.
//!
//! All of it is CPU work: callers run [`process`] in `spawn_blocking`
//! ([`process_blocking`]).
//!
//! [`letter_svg`] draws the fallback: the first letter of the name on a
//! colour chosen from a hash of the user id (stable across renames), every
//! character escaped.

use crate::error::AppError;
use crate::sniff::{looks_like_markup, sniff_image, HEAD_BYTES};
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use protocol::{ErrorCode, UserId};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// The sizes (square, in pixels) every picture is stored and served at.
pub const SIZES: [u32; 4] = [32, 64, 128, 256];
/// The size lists and messages show (`Face::avatar_url`).
pub const LIST_SIZE: u32 = 64;
/// The size a profile page shows (`UserProfile::avatar`).
pub const PAGE_SIZE: u32 = 128;
/// The longest side a picture may have.
pub const MAX_SIDE: u32 = 8000;
/// The most pixels a picture may have (a 12-megapixel phone photo fits
/// three times).
pub const MAX_PIXELS: u64 = 40_000_000;
/// What the decoder may allocate: a full-size RGBA picture and change.
const MAX_DECODE_BYTES: u64 = 4 * MAX_PIXELS + 64 * 1024 * 1024;
/// The content type every stored size has.
pub const STORED_TYPE: &str = "image/jpeg";
/// JPEG quality of the stored sizes.
const QUALITY: u8 = 85;

/// One stored size: `(size, content type, bytes)`, as
/// [`crate::store::Profiles::set_avatar`] takes them.
pub type Encoded = (u32, String, Vec<u8>);

/// [`process`] on the blocking pool, off the async workers.
pub async fn process_blocking(bytes: Vec<u8>) -> Result<Vec<Encoded>, AppError> {
    tokio::task::spawn_blocking(move || process(&bytes))
        .await
        .map_err(|e| anyhow::anyhow!("resizing a picture panicked: {e}"))?
}

/// The picture in `bytes` at every one of [`SIZES`], or why not.
pub fn process(bytes: &[u8]) -> Result<Vec<Encoded>, AppError> {
    let square = decode_square(bytes)?;
    // Very large pictures go down to twice the largest size with a cheap
    // filter first; Lanczos over 3,000 pixels a side for each size would
    // take far longer for no visible gain.
    let largest = SIZES[SIZES.len() - 1];
    let base = if square.width() > 2 * largest {
        square.thumbnail_exact(2 * largest, 2 * largest)
    } else {
        square
    };
    SIZES
        .iter()
        .map(|&size| {
            let scaled = base.resize_exact(size, size, FilterType::Lanczos3);
            Ok((
                size,
                STORED_TYPE.to_owned(),
                encode_jpeg(&on_white(&scaled))?,
            ))
        })
        .collect()
}

/// Decodes `bytes` (after the checks in the module doc), upright, cropped
/// to its centre square.
fn decode_square(bytes: &[u8]) -> Result<DynamicImage, AppError> {
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    let Some(mime) = sniff_image(head) else {
        return Err(unsupported(if looks_like_markup(head) {
            "SVG, HTML and other markup cannot be a profile picture; send a PNG, JPEG, GIF or WebP image"
        } else {
            "a profile picture must be a PNG, JPEG, GIF or WebP image"
        }));
    };
    let format = ImageFormat::from_mime_type(mime)
        .ok_or_else(|| unsupported("a profile picture must be a PNG, JPEG, GIF or WebP image"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(not_readable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the picture is {width}x{height} pixels; at most {MAX_SIDE} a side and \
                 {} megapixels are taken",
                MAX_PIXELS / 1_000_000
            ),
        ));
    }
    let orientation = decoder.orientation().map_err(not_readable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(not_readable)?;
    image.apply_orientation(orientation);
    let side = image.width().min(image.height());
    if side == 0 {
        return Err(unsupported("the picture is empty"));
    }
    let (x, y) = ((image.width() - side) / 2, (image.height() - side) / 2);
    Ok(image.crop_imm(x, y, side, side))
}

/// The picture as RGB, any transparency flattened onto white.
fn on_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = pixel.0;
        let blend = |c: u8| {
            let (c, a) = (u16::from(c), u16::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        out.0 = [blend(r), blend(g), blend(b)];
    }
    rgb
}

fn encode_jpeg(image: &RgbImage) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(image)
        .map_err(|e| anyhow::anyhow!("encoding a picture as JPEG: {e}"))?;
    Ok(out)
}

fn unsupported(message: &str) -> AppError {
    AppError::new(ErrorCode::UnsupportedMediaType, message)
}

fn not_readable(error: image::ImageError) -> AppError {
    match error {
        image::ImageError::Limits(_) => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the picture is too large to read; at most {MAX_SIDE} pixels a side and \
                 {} megapixels are taken",
                MAX_PIXELS / 1_000_000
            ),
        ),
        other => unsupported(&format!("the picture cannot be read: {other}")),
    }
}

/// Background colours for letter images: each has at least 4.5:1 contrast
/// with the white letter.
const LETTER_COLOURS: [&str; 10] = [
    "#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#7d4e00", "#1a7f37", "#0a7e8c",
    "#57606a", "#3e4ea8",
];

/// The letter image for `user` called `name`: an SVG of `size` pixels.
pub fn letter_svg(user: &UserId, name: &str, size: u32) -> String {
    let letter: String = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .or_else(|| user.as_str().chars().find(|c| c.is_alphanumeric()))
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned());
    let hash = Sha256::digest(user.as_str().as_bytes());
    let colour = LETTER_COLOURS[usize::from(hash[0]) % LETTER_COLOURS.len()];
    let letter = escape_xml(&letter);
    let font = size * 9 / 20;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
         viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"{letter}\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"{colour}\"/>\
         <text x=\"50%\" y=\"50%\" dy=\".35em\" text-anchor=\"middle\" fill=\"#ffffff\" \
         font-family=\"sans-serif\" font-size=\"{font}\">{letter}</text></svg>"
    )
}

/// Text safe inside XML character data and attribute values.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image: RgbaImage = ImageBuffer::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 0, 255, 0])
            }
        });
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_wide_picture_becomes_every_size_of_square_jpeg() {
        let sizes = process(&png(300, 100)).unwrap();
        assert_eq!(sizes.iter().map(|s| s.0).collect::<Vec<_>>(), SIZES);
        for (size, content_type, bytes) in sizes {
            assert_eq!(content_type, "image/jpeg");
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (size, size));
            // The transparent right half came out white.
            let corner = decoded.to_rgb8().get_pixel(size - 1, 0).0;
            assert!(corner.iter().all(|c| *c > 240), "{corner:?}");
        }
    }

    #[test]
    fn markup_and_garbage_are_refused_before_decoding() {
        for bytes in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"[..],
            b"<!DOCTYPE html><script>alert(1)</script>",
            b"just text",
            b"",
        ] {
            let refused = process(bytes).unwrap_err();
            assert_eq!(refused.code, ErrorCode::UnsupportedMediaType, "{bytes:?}");
        }
        assert!(process(b"<svg/>").unwrap_err().message.contains("SVG"));
        // The right magic, then nonsense.
        let broken = process(b"\x89PNG\r\n\x1a\nnonsense").unwrap_err();
        assert_eq!(broken.code, ErrorCode::UnsupportedMediaType);
    }

    #[test]
    fn letters_are_escaped_and_coloured_by_id() {
        let svg = letter_svg(&UserId::new("alice"), "<b>", 64);
        assert!(svg.contains(">B</text>"), "{svg}");
        let svg = letter_svg(&UserId::new("x"), "&", 64);
        assert!(svg.contains(">X</text>"), "falls back to the id: {svg}");
        let svg = letter_svg(&UserId::new("x\"><script>"), "\"", 32);
        assert!(!svg.contains("<script"), "{svg}");
        assert_eq!(
            letter_svg(&UserId::new("bob"), "Bob", 32),
            letter_svg(&UserId::new("bob"), "Bob", 32)
        );
        assert_eq!(
            escape_xml("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
