//! Time limits of requests (reading the body included) and clear JSON answers for bodies over
//! the limit of their route.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// True for the routes that take readings.
fn is_ingest(path: &str) -> bool {
    matches!(
        path,
        "/write" | "/api/v2/write" | "/api/v1/readings" | "/api/v1/readings/csv"
    )
}

/// The body limit of a path.
pub fn body_limit(path: &str) -> usize {
    if is_ingest(path) {
        crate::MAX_INGEST_BODY_BYTES
    } else if path == "/api/v1/registry" {
        crate::MAX_REGISTRY_BODY_BYTES
    } else if path == "/api/v1/login" {
        crate::MAX_LOGIN_BODY_BYTES
    } else {
        crate::MAX_BODY_BYTES
    }
}

/// Middleware around the whole router.
pub async fn limits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let limit = if is_ingest(&path) {
        state.config.ingest_timeout
    } else {
        state.config.request_timeout
    };
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(r) => r,
        Err(_) => {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request did not complete within {} s and was abandoned (a write may still have been applied; check before retrying)",
                    limit.as_secs_f64()
                ),
            )
            .into_response()
        }
    };
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"))
    {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {} bytes {path} accepts; split it",
                body_limit(&path)
            ),
        )
        .into_response();
    }
    response
}
