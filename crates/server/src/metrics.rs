//! Counters for `/metrics`, rendered in the Prometheus text exposition format.
//!
//! A handful of atomics and one fixed-bucket histogram do not justify a metrics framework.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shulv_store::StoreStats;

/// Upper bounds (seconds) of the query latency histogram.
const LATENCY_BOUNDS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    points_accepted: AtomicU64,
    lines_refused: AtomicU64,
    ingest_requests: AtomicU64,
    queries: AtomicU64,
    query_seconds_micros: AtomicU64,
    query_buckets: [AtomicU64; LATENCY_BOUNDS.len()],
}

impl Metrics {
    /// Records an ingest request.
    pub fn ingested(&self, accepted: usize, refused: usize) {
        self.ingest_requests.fetch_add(1, Ordering::Relaxed);
        self.points_accepted
            .fetch_add(accepted as u64, Ordering::Relaxed);
        self.lines_refused
            .fetch_add(refused as u64, Ordering::Relaxed);
    }

    /// Records the latency of a query.
    pub fn queried(&self, elapsed: Duration) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.query_seconds_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bound, counter) in LATENCY_BOUNDS.iter().zip(&self.query_buckets) {
            if secs <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Renders every metric, with the store's statistics.
    pub fn render(&self, store: &StoreStats) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "shulv_ingest_points_total",
            "Readings accepted and made durable.",
            self.points_accepted.load(Ordering::Relaxed),
        );
        counter(
            "shulv_ingest_refused_lines_total",
            "Lines refused by validation.",
            self.lines_refused.load(Ordering::Relaxed),
        );
        counter(
            "shulv_ingest_requests_total",
            "Ingest requests served.",
            self.ingest_requests.load(Ordering::Relaxed),
        );
        counter(
            "shulv_store_points_written_total",
            "Points written to the store since start.",
            store.points_written_total,
        );
        let mut gauge = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            "shulv_wal_bytes",
            "Size of the write-ahead log.",
            store.wal_bytes,
        );
        gauge(
            "shulv_memtable_points",
            "Points in the in-memory buffer.",
            store.memtable_points,
        );
        gauge(
            "shulv_segment_files",
            "Parquet segment files.",
            store.segment_files,
        );
        gauge(
            "shulv_segment_bytes",
            "Bytes of Parquet segments.",
            store.segment_bytes,
        );
        let name = "shulv_query_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Latency of /api/v1/query.\n# TYPE {name} histogram"
        );
        for (bound, c) in LATENCY_BOUNDS.iter().zip(&self.query_buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let count = self.queries.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.query_seconds_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}
