//! `shulv collect`: the channels' tasks, the queue writer, the forwarder and the metrics server.

use std::sync::Arc;
use std::time::Duration;

use shulv_spool::{ForwardEvent, ForwardTarget, Forwarder, Spool, SpoolConfig};
use tokio::sync::mpsc;

use crate::channel;
use crate::config::Config;
use crate::dlt645::Dlt645Poller;
use crate::metrics::{DeviceStats, Metrics, QueueStats};
use crate::modbus::{Link, ModbusPoller};

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The queue could not be opened.
    #[error("spool {dir}: {error}")]
    Spool {
        /// Its directory.
        dir: String,
        /// Why.
        error: shulv_spool::SpoolError,
    },
    /// No token to write with.
    #[error(
        "no write token: set server.token in the configuration or {}",
        crate::config::TOKEN_ENV
    )]
    NoToken,
    /// The metrics listener failed.
    #[error("metrics listener: {0}")]
    Metrics(std::io::Error),
}

/// Polls every device until SIGINT or SIGTERM; readings go to the spool, which the forwarder
/// drains to the target.
pub async fn run(config: Config) -> Result<(), RunError> {
    run_until(config, shutdown_signal()).await
}

/// Like [`run`], until `shutdown` completes (a collector inside another process, e.g. the demo).
pub async fn run_until(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let target = &config.target;
    if target.token.is_none() {
        return Err(RunError::NoToken);
    }
    let mut spool_config = SpoolConfig::new(&config.spool.dir);
    if let Some(b) = config.spool.max_bytes {
        spool_config.max_bytes = b;
    }
    if let Some(b) = config.spool.segment_bytes {
        spool_config.segment_bytes = b;
    }
    let spool = Spool::open(spool_config).map_err(|error| RunError::Spool {
        dir: config.spool.dir.display().to_string(),
        error,
    })?;
    let stats_spool = spool.clone();
    let mut subscribers = Vec::new();
    for channel in &config.mqtt {
        match shulv_mqtt::Subscriber::new(channel) {
            Ok(s) => subscribers.push((channel.name.clone(), s)),
            // `config::load` checked the channel, so this is not expected.
            Err(problems) => {
                tracing::error!(channel = %channel.name, "mqtt: {}", problems.join("; "))
            }
        }
    }
    let gateways = subscribers
        .iter()
        .map(|(name, s)| (name.clone(), s.metrics()))
        .collect();
    let metrics = Arc::new(Metrics::new(
        config
            .channels
            .iter()
            .flat_map(|c| c.devices.iter().map(move |d| device_stats(c, d))),
        gateways,
        move || {
            let s = stats_spool.stats();
            QueueStats {
                records: s.records,
                bytes: s.bytes,
                oldest_append_ms: s.oldest_append_ms,
            }
        },
    ));
    let events_metrics = metrics.clone();
    let forwarder = Forwarder::spawn(
        spool.clone(),
        ForwardTarget {
            url: target.url.clone(),
            token: target.token.clone(),
            timeout: target.timeout,
        },
        move |event| forward_event(&events_metrics, event),
    );
    let (tx, rx) = mpsc::channel::<Vec<Vec<u8>>>(64);
    let mqtt_spool = spool.clone();
    let writer_metrics = metrics.clone();
    let writer = std::thread::Builder::new()
        .name("spool-append".into())
        .spawn(move || append_loop(&spool, rx, &writer_metrics))
        .expect("spawn the spool writer");

    if let Some(listen) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(RunError::Metrics)?;
        tokio::spawn(crate::metrics::serve(listener, metrics.clone()));
    }
    let reporter = target.status_url.clone().map(|url| {
        let token = target.token.clone().unwrap_or_default();
        tokio::spawn(crate::report::run(
            url,
            token,
            target.timeout,
            config.report_every,
            metrics.clone(),
        ))
    });
    let points: usize = config
        .channels
        .iter()
        .flat_map(|c| &c.devices)
        .map(|d| d.points.len())
        .sum();
    tracing::info!(
        channels = config.channels.len(),
        points,
        target = %target.url,
        name = %config.name,
        "collecting"
    );
    let mut tasks = Vec::new();
    for channel in config.channels {
        let (tx, metrics) = (tx.clone(), metrics.clone());
        if let Some(link) = Link::of(&channel.kind) {
            let poller = ModbusPoller::new(&channel, link);
            tasks.push(tokio::spawn(channel::run(channel, poller, tx, metrics)));
        } else if let Some(poller) = Dlt645Poller::of(&channel.kind) {
            tasks.push(tokio::spawn(channel::run(channel, poller, tx, metrics)));
        }
    }
    for (_, subscriber) in subscribers {
        tasks.push(tokio::spawn(subscribe(subscriber, mqtt_spool.clone())));
    }
    tasks.extend(reporter);
    drop(tx);
    shutdown.await;
    tracing::info!("stopping");
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    // Every batch the channels sent is appended before the writer ends.
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    forwarder.stop();
    Ok(())
}

/// What is known of a device before it is polled.
fn device_stats(
    channel: &crate::config::Channel,
    device: &crate::config::Device,
) -> (String, DeviceStats) {
    let mut meters: Vec<String> = Vec::new();
    for p in &device.points {
        if !meters.contains(&p.meter) {
            meters.push(p.meter.clone());
        }
    }
    let stats = DeviceStats {
        channel: channel.name.clone(),
        protocol: channel.kind.protocol().to_string(),
        period_ms: device.period.as_millis() as u64,
        meters,
        ..DeviceStats::default()
    };
    (device.name.clone(), stats)
}

/// Runs one MQTT gateway's subscriptions. Each message's readings are appended to the spool
/// (fsync'd) before the broker gets its QoS 1 acknowledgement, so an acknowledged message is
/// never lost; while the spool cannot be written the subscriber retries and reads nothing else.
async fn subscribe(subscriber: shulv_mqtt::Subscriber, spool: Spool) {
    subscriber
        .run(move |readings: Vec<shulv_mqtt::Reading>| {
            let spool = spool.clone();
            async move {
                let lines: Vec<Vec<u8>> = readings
                    .iter()
                    .map(|r| r.to_line_protocol().into_bytes())
                    .collect();
                tokio::task::spawn_blocking(move || spool.append(&lines))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
        })
        .await;
}

/// Appends each batch of lines to the spool, in order. When an append fails (disk full) the
/// batch is kept and retried; meanwhile the channel of batches fills up and the channels stop
/// reading, so no reading is dropped.
fn append_loop(spool: &Spool, mut rx: mpsc::Receiver<Vec<Vec<u8>>>, metrics: &Metrics) {
    while let Some(mut batch) = rx.blocking_recv() {
        while let Ok(more) = rx.try_recv() {
            batch.extend(more);
        }
        let mut logged = false;
        loop {
            match spool.append(&batch) {
                Ok(()) => {
                    if logged {
                        tracing::warn!("queue writable again; reading resumes");
                    }
                    metrics.queue_failing(false);
                    break;
                }
                Err(e) => {
                    metrics.queue_failing(true);
                    tracing::error!(
                        "QUEUE NOT WRITABLE ({e}): {} readings held, reading stopped until it is",
                        batch.len()
                    );
                    logged = true;
                    std::thread::sleep(Duration::from_secs(5));
                }
            }
        }
    }
}

fn forward_event(metrics: &Metrics, event: ForwardEvent) {
    match event {
        ForwardEvent::Delivered { records, lateness } => metrics.delivered(records, &lateness),
        ForwardEvent::Refused {
            line,
            field,
            message,
        } => {
            metrics.refused();
            tracing::warn!(%line, %field, "server refused the reading: {message}");
        }
        ForwardEvent::Rejected {
            status,
            message,
            retry_in,
        } => {
            let m = format!("server answered {status}: {message}");
            tracing::error!("{m}; retrying in {retry_in:?}");
            metrics.forward_error(m);
        }
        ForwardEvent::Unavailable { message, retry_in } => {
            tracing::warn!("server unavailable: {message}; retrying in {retry_in:?}");
            metrics.forward_error(message);
        }
        ForwardEvent::Split { records } => {
            tracing::info!("server wants smaller batches: {records} records each");
        }
        ForwardEvent::Spool { error, retry_in } => {
            let m = format!("queue read: {error}");
            tracing::error!("{m}; retrying in {retry_in:?}");
            metrics.forward_error(m);
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
