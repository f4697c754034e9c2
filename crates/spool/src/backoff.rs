//! Exponential back-off with jitter: 250 ms doubling to a 30 s cap, each delay drawn from
//! [½, 1] of its step so many collectors coming back at once do not retry in lockstep.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FIRST: Duration = Duration::from_millis(250);
const CAP: Duration = Duration::from_secs(30);

/// Delays between failed attempts.
pub(crate) struct Backoff {
    step: Duration,
    rng: u64,
}

impl Backoff {
    pub fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        Backoff {
            step: FIRST,
            rng: seed | 1,
        }
    }

    /// The next delay.
    pub fn next(&mut self) -> Duration {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = 0.5 + (self.rng >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
        let d = self.step.mul_f64(fraction);
        self.step = (self.step * 2).min(CAP);
        d
    }

    /// After a success: start again from the first step.
    pub fn reset(&mut self) {
        self.step = FIRST;
    }
}
