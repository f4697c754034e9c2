//! The web console: the single-page application built from `web/` (Vite), embedded into the
//! binary at compile time by `build.rs` and served at `/`.
//!
//! `/` and `/assets/*` are routes (public: the shell carries no data; every figure it shows
//! comes from the API with the user's credential). Any other GET outside the API paths answers
//! `index.html`, so deep links such as `/carbon` open the console; API paths keep their 404.
//! Hashed assets are cached for a year, `index.html` is revalidated on every load.

use axum::extract::Path;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// The embedded file at `path` (relative to `web/dist`).
fn asset(path: &str) -> Option<&'static [u8]> {
    embedded::ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

/// Content type by file extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file_response(path: &str, bytes: &'static [u8], cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The console's `index.html`, if the build is embedded.
pub(crate) fn index_html() -> Option<&'static str> {
    asset("index.html").and_then(|b| std::str::from_utf8(b).ok())
}

fn index() -> Response {
    match asset("index.html") {
        Some(bytes) => file_response("index.html", bytes, "no-cache"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /assets/{*file}`: a hashed build asset (immutable).
async fn hashed_asset(Path(file): Path<String>) -> Response {
    let path = format!("assets/{file}");
    match asset(&path) {
        Some(bytes) => file_response(&path, bytes, "public, max-age=31536000, immutable"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The console's routes (their access rule is `Public`, see [`crate::access::policy`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { index() }))
        .route("/assets/{*file}", get(hashed_asset))
}

/// True for paths the API owns (they never fall back to the console).
pub(crate) fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || [
            "/api",
            "/write",
            "/ping",
            "/metrics",
            "/healthz",
            "/openapi.json",
        ]
        .contains(&path)
}

/// Fallback of the router: `index.html` for GET of a console path (deep links of the
/// single-page application), a top-level file of `web/dist` (e.g. `favicon.svg`) by name, and
/// 404 for everything else, API paths included.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if (method != Method::GET && method != Method::HEAD) || is_api_path(path) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let name = path.trim_start_matches('/');
    if !name.contains('/') && name.contains('.') {
        return match asset(name) {
            Some(bytes) => file_response(name, bytes, "public, max-age=3600"),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    index()
}

/// Path of the first embedded script (for tests).
#[cfg(test)]
pub(crate) fn first_script() -> &'static str {
    embedded::ASSETS
        .iter()
        .map(|(p, _)| *p)
        .find(|p| p.starts_with("assets/") && p.ends_with(".js"))
        .expect("a built script")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_embedded() {
        let html = std::str::from_utf8(asset("index.html").expect("index.html")).unwrap();
        assert!(html.contains("<div id=\"app\">"), "{html}");
        assert!(embedded::ASSETS
            .iter()
            .any(|(p, _)| p.starts_with("assets/") && p.ends_with(".js")));
    }

    #[test]
    fn api_paths_never_fall_back() {
        for p in [
            "/api/v1/nope",
            "/api",
            "/write",
            "/metrics",
            "/healthz",
            "/openapi.json",
        ] {
            assert!(is_api_path(p), "{p}");
        }
        for p in ["/", "/carbon", "/explore/ent01", "/writer", "/apix"] {
            assert!(!is_api_path(p), "{p}");
        }
        assert_eq!(
            content_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
    }
}
