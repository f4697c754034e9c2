//! Reports the collector's status to the shulv server: at start and every 30 s
//! (`[collector] report_every`), its devices
//! (meters, last successful read, failures, last error), MQTT gateways and queue go to
//! `POST <server.url>/api/v1/collectors/<name>/status` with the write token. A failed report is
//! logged and counted (`shulv_collect_status_report_failures_total`); it never delays reading
//! or forwarding. Not done with `server.write_url`, which need not be a shulv server.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::metrics::{Metrics, Status};

/// Longest error text sent (the server takes 1 000 characters).
const MAX_ERROR_CHARS: usize = 500;

/// The report, as the server's `CollectorReport` reads it.
#[derive(Serialize)]
struct Report<'a> {
    started_ms: i64,
    sent_ms: i64,
    devices: Vec<Device<'a>>,
    gateways: Vec<Gateway<'a>>,
    queue: Queue,
}

#[derive(Serialize)]
struct Device<'a> {
    name: &'a str,
    channel: &'a str,
    protocol: &'a str,
    meters: &'a [String],
    period_ms: u64,
    last_success_ms: Option<i64>,
    consecutive_failures: u32,
    last_error: Option<String>,
}

#[derive(Serialize)]
struct Gateway<'a> {
    name: &'a str,
    connected: bool,
    messages: u64,
    last_message_ms: Option<i64>,
    errors: u64,
}

#[derive(Serialize)]
struct Queue {
    records: u64,
    oldest_append_ms: Option<i64>,
}

/// The JSON body of a report of `status`.
fn body(status: &Status) -> Vec<u8> {
    let report = Report {
        started_ms: status.started_ms,
        sent_ms: status.now_ms,
        devices: status
            .devices
            .iter()
            .map(|(name, d)| Device {
                name,
                channel: &d.channel,
                protocol: &d.protocol,
                meters: &d.meters,
                period_ms: d.period_ms,
                last_success_ms: d.last_success_ms,
                consecutive_failures: d.consecutive_failures,
                last_error: d
                    .last_error
                    .as_ref()
                    .map(|e| e.chars().take(MAX_ERROR_CHARS).collect()),
            })
            .collect(),
        gateways: status
            .gateways
            .iter()
            .map(|(name, g)| Gateway {
                name,
                connected: g.connected,
                messages: g.messages,
                last_message_ms: g.last_message_ms,
                errors: g.payload_errors,
            })
            .collect(),
        queue: Queue {
            records: status.queue.records,
            oldest_append_ms: status.queue.oldest_append_ms,
        },
    };
    serde_json::to_vec(&report).unwrap_or_default()
}

/// Posts one report; the server's answer when it is not 2xx.
fn post(agent: &ureq::Agent, url: &str, token: &str, body: &[u8]) -> Result<(), String> {
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Token {token}"))
        .send(body)
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("POST {url}: HTTP {status}: {}", text.trim()))
    }
}

/// Reports to `url` now and `every` after until the task is dropped.
pub async fn run(
    url: String,
    token: String,
    timeout: Duration,
    every: Duration,
    metrics: Arc<Metrics>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let body = body(&metrics.status());
        let (agent, url2, token2) = (agent.clone(), url.clone(), token.clone());
        let outcome = tokio::task::spawn_blocking(move || post(&agent, &url2, &token2, &body))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        if let Err(e) = &outcome {
            tracing::warn!("status report not taken: {e}; next in {every:?}");
        }
        metrics.reported(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{DeviceStats, QueueStats};

    #[test]
    fn the_report_has_what_the_server_reads() {
        let device = DeviceStats {
            channel: "gw1".into(),
            protocol: "modbus-tcp".into(),
            period_ms: 10_000,
            meters: vec!["a.main".into()],
            last_error: Some("x".repeat(2_000)),
            ..DeviceStats::default()
        };
        let m = Metrics::new([("pm1".to_string(), device)], Vec::new(), || QueueStats {
            records: 4,
            bytes: 100,
            oldest_append_ms: Some(1),
        });
        let v: serde_json::Value = serde_json::from_slice(&body(&m.status())).unwrap();
        let d = &v["devices"][0];
        assert_eq!(d["name"], "pm1");
        assert_eq!(d["meters"], serde_json::json!(["a.main"]));
        assert_eq!(d["period_ms"], 10_000);
        assert_eq!(d["last_error"].as_str().unwrap().len(), MAX_ERROR_CHARS);
        assert_eq!(v["queue"]["records"], 4);
        assert!(v["sent_ms"].as_i64().unwrap() >= v["started_ms"].as_i64().unwrap());
    }
}
