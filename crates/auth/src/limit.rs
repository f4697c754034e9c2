//! In-memory rate limits: failed logins per key (user name, client address) in a sliding
//! window, and a token bucket per credential for every request.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Keys kept before old entries are purged.
const PURGE_ABOVE: usize = 10_000;

/// Allows `max_failures` failures per key within `window`; then the key is blocked until the
/// oldest failure leaves the window.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimiter {
    /// A limiter; `max_failures == 0` disables it.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` if `key` is blocked at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let mut map = self.failures.lock();
        let Some(list) = map.get_mut(key) else {
            return Ok(());
        };
        while list
            .front()
            .is_some_and(|&t| now.duration_since(t) >= self.window)
        {
            list.pop_front();
        }
        if list.len() >= self.max_failures as usize {
            let oldest = list[0];
            Err(self.window.saturating_sub(now.duration_since(oldest)))
        } else {
            Ok(())
        }
    }

    /// Records a failure of `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        if self.max_failures == 0 {
            return;
        }
        let mut map = self.failures.lock();
        if map.len() > PURGE_ABOVE {
            let window = self.window;
            map.retain(|_, l| l.back().is_some_and(|&t| now.duration_since(t) < window));
        }
        let list = map.entry(key.to_string()).or_default();
        list.push_back(now);
        while list.len() > self.max_failures as usize {
            list.pop_front();
        }
    }

    /// Forgets the failures of `key` (after a successful login of that user).
    pub fn clear(&self, key: &str) {
        self.failures.lock().remove(key);
    }
}

/// A token bucket per key: `rate_per_s` requests per second on average, bursts of `burst`.
pub struct TokenBuckets {
    rate_per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl TokenBuckets {
    /// Buckets; `rate_per_s <= 0` disables the limit.
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        TokenBuckets {
            rate_per_s,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `key`'s bucket, or says how long until one is available.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.rate_per_s <= 0.0 {
            return Ok(());
        }
        let mut map = self.buckets.lock();
        if map.len() > PURGE_ABOVE {
            let full_after = Duration::from_secs_f64(self.burst / self.rate_per_s);
            map.retain(|_, (_, last)| now.duration_since(*last) < full_after);
        }
        let (tokens, last) = map.entry(key.to_string()).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.rate_per_s;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate_per_s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_then_expire() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.check("u", t0).is_ok());
            l.fail("u", t0 + Duration::from_secs(i));
        }
        let wait = l.check("u", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.check("other", t0).is_ok());
        assert!(l.check("u", t0 + Duration::from_secs(60)).is_ok());
        l.clear("u");
        assert!(l.check("u", t0 + Duration::from_secs(10)).is_ok());
        assert!(FailureLimiter::new(0, Duration::ZERO)
            .check("u", t0)
            .is_ok());
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let b = TokenBuckets::new(10.0, 5.0);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(b.take("k", t0).is_ok());
        }
        let wait = b.take("k", t0).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        assert!(b.take("k2", t0).is_ok(), "buckets are per key");
        assert!(b.take("k", t0 + Duration::from_millis(100)).is_ok());
        assert!(b.take("k", t0 + Duration::from_millis(100)).is_err());
        let off = TokenBuckets::new(0.0, 0.0);
        for _ in 0..1000 {
            assert!(off.take("k", t0).is_ok());
        }
    }
}
