//! What the HTTP handlers share: running platform calls off the async runtime, the body's text,
//! and the answers when the audit log cannot be written. The handlers are in one file per
//! area (system, ingest, registry, query, accounts …); each carries a `#[utoipa::path]` so
//! `/openapi.json` is generated from these very functions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use shulv_platform::Platform;

use crate::error::ApiError;

/// Runs a blocking platform call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    platform: &Arc<Platform>,
    f: impl FnOnce(&Platform) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let platform = platform.clone();
    tokio::task::spawn_blocking(move || f(&platform)).await?
}

/// Now, ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// The answer when an audit entry could not be made durable (the message says whether the
/// entry is kept and written later or refused).
pub fn audit_failed(e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{e}; the change was applied but its audit entry is not durable yet"),
    )
}

/// The answer to a request that needs the audit log while it cannot be written (`error`):
/// `what` (changes, logins) are refused until it can, which it notices by itself.
pub fn audit_down(error: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the audit log cannot be written ({error}), so {what} are refused until it can; free space on the disk of the data directory (no restart needed)"
        ),
    )
}
