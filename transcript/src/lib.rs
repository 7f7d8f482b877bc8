//! Safe chat markdown and daily transcript pages. Pure: no I/O, and it builds
//! for `wasm32-unknown-unknown`, so the browser renders live messages with
//! exactly the code that renders transcript pages.
//!
//! ```
//! let html = transcript::render_html("**hi** <script>alert(1)</script>", &Default::default());
//! assert_eq!(html, "<p><strong>hi</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
//! ```
//!
//! # Layout
//! - [`html`]: chat markdown -> safe HTML (raw HTML escaped, links limited to
//!   http, https and mailto, `[[Wiki Links]]` and `@mentions`).
#![forbid(unsafe_code)]

pub mod html;

pub use html::{render_html, RenderOptions};
