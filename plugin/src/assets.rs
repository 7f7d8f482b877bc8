//! Static assets: the popup's stylesheet, boot script, the person picker's
//! script and the stock room icon (compiled into the binary) and the wasm bundle (served from `Config::ui_dir`).

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeDir;

const CHAT_CSS: &str = include_str!("../assets/chat.css");
const BOOT_JS: &str = include_str!("../assets/boot.js");
/// The person picker's suggestions (see the file's head).
const PICKER_JS: &str = include_str!("../assets/picker.js");
/// The stock icon of a room without an avatar (see [`crate::rooms::STOCK_AVATAR`]).
const ROOM_SVG: &str = include_str!("../assets/room.svg");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/chat.css",
            get(|| async { text("text/css; charset=utf-8", CHAT_CSS) }),
        )
        .route(
            "/assets/boot.js",
            get(|| async { text("text/javascript; charset=utf-8", BOOT_JS) }),
        )
        .route(
            "/assets/picker.js",
            get(|| async { text("text/javascript; charset=utf-8", PICKER_JS) }),
        )
        .route(
            crate::rooms::STOCK_AVATAR,
            get(|| async { text("image/svg+xml", ROOM_SVG) }),
        )
        .route("/assets/ui/{*file}", get(ui_bundle))
}

fn text(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Serves the wasm-pack output. `ServeDir` refuses paths that climb out of
/// the directory and sets the content type (`application/wasm` for the
/// module). Where the build left a `NAME.gz` beside a file (`cargo xtask
/// build-ui` does), browsers that accept gzip get that instead, with
/// `Content-Encoding: gzip` and `Vary: Accept-Encoding`.
async fn ui_bundle(State(state): State<AppState>, request: Request<axum::body::Body>) -> Response {
    let (mut parts, body) = request.into_parts();
    let file = parts
        .uri
        .path()
        .strip_prefix("/assets/ui")
        .unwrap_or("/")
        .to_owned();
    parts.uri = match file.parse() {
        Ok(uri) => uri,
        Err(_) => return crate::error::AppError::not_found().into_response(),
    };
    let request = Request::from_parts(parts, body);
    let mut response = match ServeDir::new(&state.config.ui_dir)
        .precompressed_gzip()
        .oneshot(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
