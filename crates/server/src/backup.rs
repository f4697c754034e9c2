//! `GET /api/v1/backup`: a consistent backup of the whole data directory, streamed as a tar
//! archive while writes go on (see `shulv_platform::backup` for what it holds and how it is
//! checked).

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use shulv_auth::Principal;
use tokio::sync::mpsc;

use crate::access::{audit_entry, ClientIp};
use crate::error::{ApiError, ErrorBody};
use crate::routes::audit_failed;
use crate::AppState;

/// Bytes handed to the response body at a time.
const CHUNK: usize = 256 * 1024;

/// A writer that sends what it is given to the response body, in chunks.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the client closed the connection"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A consistent backup of the whole data directory (store, registry, credentials, audit log)
/// as a tar archive, taken while writes go on: every write acknowledged before the request is
/// in it. The last entry, `BACKUP.json`, lists every file with its SHA-256; `shulv restore`
/// checks them (administrators).
#[utoipa::path(get, path = "/api/v1/backup", tag = "system",
    responses((status = 200, description = "tar archive", content_type = "application/x-tar", body = Vec<u8>),
        (status = 503, description = "The snapshot could not be written", body = ErrorBody)))]
pub async fn backup(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(ip): Extension<ClientIp>,
) -> Result<Response, ApiError> {
    let platform = state.platform.clone();
    let access = state.access.clone();
    let (dir, points) = tokio::task::spawn_blocking(move || {
        let dir = platform.snapshot_dir();
        let snapshot = platform
            .snapshot(&dir)
            .map_err(ApiError::from)
            .and_then(|points| {
                access.copy_to(&dir).map_err(ApiError::from)?;
                Ok(points)
            });
        let entry = audit_entry(&principal, &ip, "backup", "data directory");
        let entry = match &snapshot {
            Ok(points) => entry.details(serde_json::json!({ "points": points })),
            Err(e) => entry
                .outcome("failed")
                .details(serde_json::json!({ "error": e.message() })),
        };
        let audited = access.audit.record(&entry).map_err(audit_failed);
        match snapshot.and_then(|p| audited.map(|()| p)) {
            Ok(points) => Ok((dir, points)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    })
    .await??;

    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = shulv_platform::backup::write_archive(&dir, points, &mut out) {
            tracing::warn!("backup aborted: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("removing the snapshot {}: {e}", dir.display());
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let name = format!(
        "attachment; filename=\"shulv-backup-{}.tar\"",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
