//! Counters of the collector, served as Prometheus text on `/metrics` and as JSON on `/status`,
//! and reported to the server ([`crate::report`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::lateness::{Lateness, LatenessSummary};
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
    /// Channel kind: `modbus-tcp`, `dlt645-serial`, ….
    pub protocol: String,
    /// Poll period (ms).
    pub period_ms: u64,
    /// shulv meter ids its points feed, each once.
    pub meters: Vec<String>,
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

/// Counters of one MQTT gateway (its subscriptions summed).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GatewayStats {
    /// Connected to the broker now.
    pub connected: bool,
    /// Connected and every subscription granted.
    pub subscribed: bool,
    /// Messages received (those matching no subscription included).
    pub messages: u64,
    /// Readings decoded and queued.
    pub readings: u64,
    /// Values, lines or messages of payloads not forwarded.
    pub payload_errors: u64,
    /// Failed connection attempts and dropped connections.
    pub connection_errors: u64,
    /// When the last message arrived (ms since the epoch).
    pub last_message_ms: Option<i64>,
}

impl From<shulv_mqtt::Snapshot> for GatewayStats {
    fn from(s: shulv_mqtt::Snapshot) -> Self {
        let sum = |f: fn(&shulv_mqtt::SubscriptionSnapshot) -> u64| {
            s.subscriptions.iter().map(f).sum::<u64>()
        };
        GatewayStats {
            connected: s.connected,
            subscribed: s.subscribed,
            messages: sum(|x| x.messages) + s.unmatched,
            readings: sum(|x| x.readings),
            payload_errors: sum(|x| x.decode_errors),
            connection_errors: s.connection_errors,
            last_message_ms: s.last_message_ms,
        }
    }
}

/// Shared counters of a running collector.
pub struct Metrics {
    started_ms: i64,
    devices: Mutex<BTreeMap<String, DeviceStats>>,
    gateways: Vec<(String, Arc<shulv_mqtt::Metrics>)>,
    delivered: AtomicU64,
    refused: AtomicU64,
    lateness: Mutex<Lateness>,
    forward_error: Mutex<Option<String>>,
    queue_failing: AtomicBool,
    queue: Box<dyn Fn() -> QueueStats + Send + Sync>,
    reports: AtomicU64,
    report_failures: AtomicU64,
    report_error: Mutex<Option<String>>,
}

/// The `/status` document.
#[derive(Debug, Serialize)]
pub struct Status {
    /// When the collector started (ms since the epoch).
    pub started_ms: i64,
    /// The collector's clock.
    pub now_ms: i64,
    /// Polled devices by name.
    pub devices: BTreeMap<String, DeviceStats>,
    /// MQTT gateways by name.
    pub gateways: BTreeMap<String, GatewayStats>,
    /// The queue now.
    pub queue: QueueStats,
    /// Appends to the queue are failing (reading stopped).
    pub queue_failing: bool,
    /// Readings delivered to the server.
    pub delivered: u64,
    /// Readings the server refused.
    pub refused: u64,
    /// From scheduled instant to the server's acknowledgement, of the readings it stored.
    pub delivery_lateness: LatenessSummary,
    /// Why the forwarder cannot deliver now.
    pub forward_error: Option<String>,
    /// Status reports sent to the server.
    pub status_reports: u64,
    /// Status reports that failed.
    pub status_report_failures: u64,
    /// Why the last status report failed (none once one succeeds).
    pub status_report_error: Option<String>,
}

impl Metrics {
    /// Counters for `devices` (name and what is known before polling: channel, protocol,
    /// period, meters) and the MQTT `gateways`; `queue` reads the queue's state when asked.
    pub fn new(
        devices: impl IntoIterator<Item = (String, DeviceStats)>,
        gateways: Vec<(String, Arc<shulv_mqtt::Metrics>)>,
        queue: impl Fn() -> QueueStats + Send + Sync + 'static,
    ) -> Metrics {
        Metrics {
            started_ms: now_ms(),
            devices: Mutex::new(devices.into_iter().collect()),
            gateways,
            delivered: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            lateness: Mutex::new(Lateness::default()),
            forward_error: Mutex::new(None),
            queue_failing: AtomicBool::new(false),
            queue: Box::new(queue),
            reports: AtomicU64::new(0),
            report_failures: AtomicU64::new(0),
            report_error: Mutex::new(None),
        }
    }

    /// Changes the counters of `device`.
    pub fn device(&self, device: &str, f: impl FnOnce(&mut DeviceStats)) {
        let mut devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        f(devices.entry(device.to_string()).or_default());
    }

    /// Records a batch delivered by the forwarder, with the lateness of the readings stored.
    pub fn delivered(&self, records: usize, lateness: &[Duration]) {
        self.delivered.fetch_add(records as u64, Ordering::Relaxed);
        self.lateness
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(lateness);
        *self.forward_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records the outcome of a status report to the server.
    pub fn reported(&self, outcome: Result<(), String>) {
        self.reports.fetch_add(1, Ordering::Relaxed);
        if outcome.is_err() {
            self.report_failures.fetch_add(1, Ordering::Relaxed);
        }
        *self.report_error.lock().unwrap_or_else(|e| e.into_inner()) = outcome.err();
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

    /// Every counter now.
    pub fn status(&self) -> Status {
        Status {
            started_ms: self.started_ms,
            now_ms: now_ms(),
            devices: self
                .devices
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            gateways: self
                .gateways
                .iter()
                .map(|(name, m)| (name.clone(), m.snapshot().into()))
                .collect(),
            queue: (self.queue)(),
            queue_failing: self.queue_failing.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            delivery_lateness: self
                .lateness
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .summary(),
            forward_error: self
                .forward_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            status_reports: self.reports.load(Ordering::Relaxed),
            status_report_failures: self.report_failures.load(Ordering::Relaxed),
            status_report_error: self
                .report_error
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
        let per_gateway = |f: &dyn Fn(&GatewayStats) -> Option<f64>| -> Vec<(String, f64)> {
            s.gateways
                .iter()
                .filter_map(|(name, g)| {
                    f(g).map(|v| (format!("{{gateway=\"{}\"}}", label(name)), v))
                })
                .collect()
        };
        family(
            "shulv_collect_mqtt_connected",
            "gauge",
            "1 while the MQTT gateway is connected to its broker.",
            per_gateway(&|g| Some(f64::from(u8::from(g.connected)))),
        );
        family(
            "shulv_collect_mqtt_messages_total",
            "counter",
            "MQTT messages received.",
            per_gateway(&|g| Some(g.messages as f64)),
        );
        family(
            "shulv_collect_mqtt_readings_total",
            "counter",
            "Readings decoded from MQTT messages and queued.",
            per_gateway(&|g| Some(g.readings as f64)),
        );
        family(
            "shulv_collect_mqtt_payload_errors_total",
            "counter",
            "Values, lines or messages of MQTT payloads not forwarded.",
            per_gateway(&|g| Some(g.payload_errors as f64)),
        );
        family(
            "shulv_collect_mqtt_connection_errors_total",
            "counter",
            "Failed connection attempts and dropped connections to the broker.",
            per_gateway(&|g| Some(g.connection_errors as f64)),
        );
        family(
            "shulv_collect_mqtt_last_message_timestamp_seconds",
            "gauge",
            "When the gateway's last MQTT message arrived (Unix seconds).",
            per_gateway(&|g| g.last_message_ms.map(|ms| ms as f64 / 1000.0)),
        );
        let late = &s.delivery_lateness;
        // A summary: its quantile rows, then `_sum` and `_count` (the suffix takes the place
        // of the labels).
        let mut rows: Vec<(String, f64)> = late
            .quantiles
            .iter()
            .map(|(q, v)| (format!("{{quantile=\"{q}\"}}"), *v))
            .collect();
        rows.push(("_sum".into(), late.sum_seconds));
        rows.push(("_count".into(), late.count as f64));
        family(
            "shulv_collect_delivery_lateness_seconds",
            "summary",
            "From a reading's scheduled instant to the server's acknowledgement of it (quantiles over the last 10 000 stored).",
            rows,
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
            (
                "shulv_collect_status_reports_total",
                "counter",
                "Status reports sent to the server.",
                s.status_reports as f64,
            ),
            (
                "shulv_collect_status_report_failures_total",
                "counter",
                "Status reports the server did not take.",
                s.status_report_failures as f64,
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
        let device = DeviceStats {
            channel: "gw1".into(),
            ..DeviceStats::default()
        };
        let mqtt = Arc::new(shulv_mqtt::Metrics::new(["meters/#"]));
        let m = Metrics::new(
            [("pm\"1".to_string(), device)],
            vec![("mq1".to_string(), mqtt)],
            || QueueStats {
                records: 3,
                bytes: 120,
                oldest_append_ms: Some(now_ms() - 5_000),
            },
        );
        m.delivered(2, &[Duration::from_secs(1), Duration::from_secs(3)]);
        m.reported(Err("HTTP 404".into()));
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
            "shulv_collect_mqtt_connected{gateway=\"mq1\"} 0",
            "shulv_collect_mqtt_messages_total{gateway=\"mq1\"} 0",
            "shulv_collect_mqtt_payload_errors_total{gateway=\"mq1\"} 0",
            "# TYPE shulv_collect_delivery_lateness_seconds summary",
            "shulv_collect_delivery_lateness_seconds{quantile=\"0.5\"} 1\n",
            "shulv_collect_delivery_lateness_seconds{quantile=\"0.99\"} 3\n",
            "shulv_collect_delivery_lateness_seconds_sum 4\n",
            "shulv_collect_delivery_lateness_seconds_count 2\n",
            "shulv_collect_status_report_failures_total 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let status = m.status_json();
        assert_eq!(status["devices"]["pm\"1"]["polls"], 4);
        assert_eq!(status["queue"]["records"], 3);
        assert_eq!(status["gateways"]["mq1"]["connected"], false);
        assert_eq!(status["status_report_error"], "HTTP 404");
    }
}
