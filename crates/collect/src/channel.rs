//! The loop of one channel: its devices polled one after the other, each on its wall-clock
//! slots, a failing device backing off; the protocol is a [`Poller`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::{Channel, Device};
use crate::metrics::Metrics;
use crate::schedule::{backoff, next_slot, now_ms, slot_at_or_after};

/// What one poll of a device gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Line-protocol lines of the readings, stamped with the slot.
    pub lines: Vec<Vec<u8>>,
    /// True if the device answered at all (even with an exception or error reply).
    pub answered: bool,
    /// Points not forwarded: message (naming the point) and reason label for metrics.
    pub errors: Vec<(String, &'static str)>,
}

/// Reads the devices of one channel over its one connection.
pub trait Poller: Send {
    /// Reads every point of `device` for the instant `slot_ms`, trying each request up to
    /// `attempts` times.
    fn poll(
        &mut self,
        device: &Device,
        slot_ms: i64,
        attempts: u32,
    ) -> impl Future<Output = Outcome> + Send;
}

/// The pause before retry `attempt` (1, 2, …) of a request: 100 ms, doubling.
pub fn retry_pause(attempt: u32) -> Duration {
    Duration::from_millis(100 << attempt.saturating_sub(1).min(4))
}

/// Polls the devices of `channel` forever, sending each poll's lines to `out`; returns when
/// `out` is closed.
pub async fn run<P: Poller>(
    channel: Channel,
    mut poller: P,
    out: mpsc::Sender<Vec<Vec<u8>>>,
    metrics: Arc<Metrics>,
) {
    let now = now_ms();
    let mut next: Vec<i64> = channel
        .devices
        .iter()
        .map(|d| slot_at_or_after(now, d.period.as_millis() as i64))
        .collect();
    let mut failures = vec![0u32; channel.devices.len()];
    loop {
        let Some(i) = (0..next.len()).min_by_key(|&i| next[i]) else {
            return;
        };
        let device = &channel.devices[i];
        let slot = next[i];
        let wait = slot - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        // A device that is down gets one try per poll, so it delays the others on its channel
        // by one timeout at most.
        let attempts = if failures[i] > 0 {
            1
        } else {
            device.retries + 1
        };
        let outcome = poller.poll(device, slot, attempts).await;
        failures[i] = if outcome.answered { 0 } else { failures[i] + 1 };
        let readings = outcome.lines.len() as u64;
        metrics.device(&device.name, |s| {
            s.polls += 1;
            s.readings += readings;
            s.consecutive_failures = failures[i];
            if outcome.answered {
                s.last_success_ms = Some(now_ms());
            } else {
                s.failures += 1;
            }
            for (message, reason) in &outcome.errors {
                *s.point_errors.entry((*reason).to_string()).or_default() += 1;
                s.last_error = Some(message.clone());
            }
        });
        if !outcome.lines.is_empty() && out.send(outcome.lines).await.is_err() {
            return;
        }
        let period = device.period;
        let (slot_next, skipped) = next_slot(
            slot,
            now_ms(),
            period.as_millis() as i64,
            backoff(period, failures[i]).as_millis() as i64,
        );
        next[i] = slot_next;
        if skipped > 0 {
            metrics.device(&device.name, |s| s.skipped += skipped);
        }
    }
}
