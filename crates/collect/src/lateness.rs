//! Delivery lateness: for each reading the server stored, the time from its scheduled instant
//! (its timestamp) to the forwarder's acknowledgement, as the forwarder measured it
//! ([`shulv_spool::ForwardEvent::Delivered`]). Kept as the last [`WINDOW`] values (for the
//! quantiles) and a sum and count since start: a Prometheus summary.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

/// Acknowledged readings the quantiles are computed over.
pub const WINDOW: usize = 10_000;
/// Quantiles served.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// The lateness of recent deliveries.
#[derive(Debug, Default)]
pub struct Lateness {
    recent: VecDeque<Duration>,
    sum: Duration,
    count: u64,
}

/// The summary at one instant (seconds).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatenessSummary {
    /// `(quantile, seconds)` over the last [`WINDOW`] readings; empty before the first.
    pub quantiles: Vec<(f64, f64)>,
    /// Sum of every lateness since start (s).
    pub sum_seconds: f64,
    /// Readings measured since start.
    pub count: u64,
}

impl Lateness {
    /// Adds the lateness of readings just acknowledged.
    pub fn record(&mut self, values: &[Duration]) {
        for v in values {
            if self.recent.len() == WINDOW {
                self.recent.pop_front();
            }
            self.recent.push_back(*v);
            self.sum += *v;
        }
        self.count += values.len() as u64;
    }

    /// The quantiles (nearest rank) and totals.
    pub fn summary(&self) -> LatenessSummary {
        let mut sorted: Vec<Duration> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        let quantiles = if sorted.is_empty() {
            Vec::new()
        } else {
            QUANTILES
                .iter()
                .map(|q| {
                    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
                    (*q, sorted[rank - 1].as_secs_f64())
                })
                .collect()
        };
        LatenessSummary {
            quantiles,
            sum_seconds: self.sum.as_secs_f64(),
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_over_the_window_totals_since_start() {
        let mut l = Lateness::default();
        assert!(l.summary().quantiles.is_empty());
        let secs: Vec<Duration> = (1..=100).map(Duration::from_secs).collect();
        l.record(&secs);
        let s = l.summary();
        assert_eq!(s.quantiles, [(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]);
        assert_eq!((s.count, s.sum_seconds), (100, 5050.0));
        l.record(&vec![Duration::ZERO; WINDOW]);
        let s = l.summary();
        assert_eq!(s.quantiles[2], (0.99, 0.0));
        assert_eq!(s.count, 100 + WINDOW as u64);
    }
}
