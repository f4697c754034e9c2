//! System routes: liveness, Prometheus metrics, store and registry status.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::AppState;

/// Liveness probe.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "The server is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus metrics: ingest counters, WAL size, segment sizes, query latency.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.platform.store_stats();
    let mut text = state.metrics.render(&stats);
    if let Some(extra) = &state.config.extra_metrics {
        text.push_str(&(extra.0)());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Store statistics.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// Bytes of write-ahead log not yet folded into segments.
    pub wal_bytes: u64,
    /// Points in the in-memory buffer.
    pub memtable_points: u64,
    /// Parquet segment files.
    pub segment_files: u64,
    /// Bytes of Parquet segments.
    pub segment_bytes: u64,
    /// Points persisted in segments.
    pub points_persisted: u64,
    /// Meters in the registry.
    pub meters: usize,
    /// Nodes in the registry.
    pub nodes: usize,
}

/// Store and registry statistics.
#[utoipa::path(get, path = "/api/v1/status", tag = "system",
    responses((status = 200, body = StatusBody)))]
pub async fn status(State(state): State<AppState>) -> Json<StatusBody> {
    let s = state.platform.store_stats();
    let file = state.platform.registry_file();
    Json(StatusBody {
        wal_bytes: s.wal_bytes,
        memtable_points: s.memtable_points,
        segment_files: s.segment_files,
        segment_bytes: s.segment_bytes,
        points_persisted: s.points_persisted,
        meters: file.meters.len(),
        nodes: file.nodes.len(),
    })
}
