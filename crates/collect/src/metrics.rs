//! Counters of the collector, served as Prometheus text on `/metrics` and as JSON on `/status`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::schedule::now_ms;

/// What the queue holds now.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct QueueStats {
    /// Readings queued and not yet delivered.
    pub records: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// When the oldest queued reading was appended (ms since the epoch).
    pub oldest_append_ms: Option<i64>,
}

/// Counters of one device.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceStats {
    /// Channel name.
    pub channel: String,
    /// Polls done (scheduled instants read or tried).
    pub polls: u64,
    /// Polls in which no request got an answer.
    pub failures: u64,
    /// Failed polls in a row now (0 when the device answers).
    pub consecutive_failures: u32,
    /// Scheduled instants skipped (late polls or back-off).
    pub skipped: u64,
    /// Readings queued.
    pub readings: u64,
    /// Points not forwarded, by reason (`timeout`, `exception`, `transport`, `decode`, `range`).
    pub point_errors: BTreeMap<String, u64>,
    /// Last poll that got an answer (ms since the epoch).
    pub last_success_ms: Option<i64>,
    /// The last error, with its point.
    pub last_error: Option<String>,
}

/// Shared counters of a running collector.
pub struct Metrics {
    started_ms: i64,
    devices: Mutex<BTreeMap<String, DeviceStats>>,
    delivered: AtomicU64,
    refused: AtomicU64,
    forward_error: Mutex<Option<String>>,
    queue_failing: AtomicBool,
    queue: Box<dyn Fn() -> QueueStats + Send + Sync>,
}

/// The `/status` document.
#[derive(Debug, Serialize)]
struct Status {
    started_ms: i64,
    now_ms: i64,
    devices: BTreeMap<String, DeviceStats>,
    queue: QueueStats,
    queue_failing: bool,
    delivered: u64,
    refused: u64,
    forward_error: Option<String>,
}

impl Metrics {
    /// Counters for `devices` (name, channel); `queue` reads the queue's state when asked.
    pub fn new(
        devices: impl IntoIterator<Item = (String, String)>,
        queue: impl Fn() -> QueueStats + Send + Sync + 'static,
    ) -> Metrics {
        Metrics {
            started_ms: now_ms(),
            devices: Mutex::new(
                devices
                    .into_iter()
                    .map(|(name, channel)| {
                        let stats = DeviceStats {
                            channel,
                            ..DeviceStats::default()
                        };
                        (name, stats)
                    })
                    .collect(),
            ),
            delivered: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            forward_error: Mutex::new(None),
            queue_failing: AtomicBool::new(false),
            queue: Box::new(queue),
        }
    }

    /// Changes the counters of `device`.
    pub fn device(&self, device: &str, f: impl FnOnce(&mut DeviceStats)) {
        let mut devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        f(devices.entry(device.to_string()).or_default());
    }

    /// Records a batch delivered by the forwarder.
    pub fn delivered(&self, records: usize) {
        self.delivered.fetch_add(records as u64, Ordering::Relaxed);
        *self.forward_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records a line refused by the server.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Records why the forwarder could not deliver.
    pub fn forward_error(&self, message: String) {
        *self.forward_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    /// Sets whether appends to the queue are failing (reading stops meanwhile).
    pub fn queue_failing(&self, failing: bool) {
        self.queue_failing.store(failing, Ordering::Relaxed);
    }

    fn status(&self) -> Status {
        Status {
            started_ms: self.started_ms,
            now_ms: now_ms(),
            devices: self
                .devices
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            queue: (self.queue)(),
            queue_failing: self.queue_failing.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            forward_error: self
                .forward_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// The Prometheus text exposition.
    pub fn prometheus(&self) -> String {
        let s = self.status();
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let per_device = |f: &dyn Fn(&DeviceStats) -> Option<f64>| -> Vec<(String, f64)> {
            s.devices
                .iter()
                .filter_map(|(name, d)| {
                    f(d).map(|v| {
                        let labels = format!(
                            "{{device=\"{}\",channel=\"{}\"}}",
                            label(name),
                            label(&d.channel)
                        );
                        (labels, v)
                    })
                })
                .collect()
        };
        family(
            "shulv_collect_polls_total",
            "counter",
            "Polls of a device (scheduled instants read or tried).",
            per_device(&|d| Some(d.polls as f64)),
        );
        family(
            "shulv_collect_poll_failures_total",
            "counter",
            "Polls in which the device did not answer.",
            per_device(&|d| Some(d.failures as f64)),
        );
        family(
            "shulv_collect_consecutive_failures",
            "gauge",
            "Failed polls of a device in a row now.",
            per_device(&|d| Some(f64::from(d.consecutive_failures))),
        );
        family(
            "shulv_collect_skipped_slots_total",
            "counter",
            "Scheduled instants not read (late polls, back-off of a failing device).",
            per_device(&|d| Some(d.skipped as f64)),
        );
        family(
            "shulv_collect_readings_total",
            "counter",
            "Readings queued for the server.",
            per_device(&|d| Some(d.readings as f64)),
        );
        family(
            "shulv_collect_last_success_timestamp_seconds",
            "gauge",
            "When the device last answered (Unix seconds).",
            per_device(&|d| d.last_success_ms.map(|ms| ms as f64 / 1000.0)),
        );
        let mut errors = Vec::new();
        for (name, d) in &s.devices {
            for (reason, n) in &d.point_errors {
                errors.push((
                    format!(
                        "{{device=\"{}\",channel=\"{}\",reason=\"{}\"}}",
                        label(name),
                        label(&d.channel),
                        label(reason)
                    ),
                    *n as f64,
                ));
            }
        }
        family(
            "shulv_collect_point_errors_total",
            "counter",
            "Point values not forwarded (timeout, exception, transport, decode, range).",
            errors,
        );
        let age = s
            .queue
            .oldest_append_ms
            .map_or(0.0, |t| (s.now_ms - t).max(0) as f64 / 1000.0);
        for (name, kind, help, v) in [
            (
                "shulv_collect_queue_records",
                "gauge",
                "Readings queued, not yet delivered.",
                s.queue.records as f64,
            ),
            (
                "shulv_collect_queue_bytes",
                "gauge",
                "Bytes of the queue on disk.",
                s.queue.bytes as f64,
            ),
            (
                "shulv_collect_queue_oldest_age_seconds",
                "gauge",
                "Age of the oldest queued reading (0 when empty).",
                age,
            ),
            (
                "shulv_collect_queue_append_failing",
                "gauge",
                "1 while the queue cannot be written (reading stopped).",
                f64::from(u8::from(s.queue_failing)),
            ),
            (
                "shulv_collect_delivered_total",
                "counter",
                "Readings delivered to the server.",
                s.delivered as f64,
            ),
            (
                "shulv_collect_refused_total",
                "counter",
                "Readings the server refused (logged).",
                s.refused as f64,
            ),
        ] {
            family(name, kind, help, vec![(String::new(), v)]);
        }
        out
    }

    /// The `/status` JSON.
    pub fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(self.status()).unwrap_or_default()
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn metrics_page(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.prometheus(),
    )
}

async fn status_page(State(m): State<Arc<Metrics>>) -> Json<serde_json::Value> {
    Json(m.status_json())
}

/// Serves `/metrics` and `/status` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    if let Ok(a) = listener.local_addr() {
        tracing::info!("metrics on http://{a}/metrics");
    }
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/status", get(status_page))
        .with_state(metrics);
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_family() {
        let m = Metrics::new([("pm\"1".to_string(), "gw1".to_string())], || QueueStats {
            records: 3,
            bytes: 120,
            oldest_append_ms: Some(now_ms() - 5_000),
        });
        m.device("pm\"1", |d| {
            d.polls = 4;
            d.failures = 1;
            d.last_success_ms = Some(1_740_787_200_000);
            *d.point_errors.entry("timeout".into()).or_default() += 2;
        });
        let text = m.prometheus();
        for needle in [
            "shulv_collect_polls_total{device=\"pm\\\"1\",channel=\"gw1\"} 4",
            "shulv_collect_poll_failures_total{device=\"pm\\\"1\",channel=\"gw1\"} 1",
            "shulv_collect_last_success_timestamp_seconds{device=\"pm\\\"1\",channel=\"gw1\"} 1740787200",
            "shulv_collect_point_errors_total{device=\"pm\\\"1\",channel=\"gw1\",reason=\"timeout\"} 2",
            "shulv_collect_queue_records 3",
            "# TYPE shulv_collect_queue_oldest_age_seconds gauge",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let status = m.status_json();
        assert_eq!(status["devices"]["pm\"1"]["polls"], 4);
        assert_eq!(status["queue"]["records"], 3);
    }
}
