//! Wall-clock schedule: reads at multiples of the period since the Unix epoch, stamped with the
//! scheduled instant; a device that failed waits an exponentially growing number of periods.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest back-off of a failing device (unless its period is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The first multiple of `period_ms` at or after `t_ms` (`15m` → the next quarter hour).
pub fn slot_at_or_after(t_ms: i64, period_ms: i64) -> i64 {
    let r = t_ms.rem_euclid(period_ms);
    if r == 0 {
        t_ms
    } else {
        t_ms - r + period_ms
    }
}

/// The next slot after `slot_ms` that is not already past at `now_ms`, and how many slots were
/// skipped because the previous polls ran late (or the device was backing off).
pub fn next_slot(slot_ms: i64, now_ms: i64, period_ms: i64, wait_ms: i64) -> (i64, u64) {
    let earliest = slot_ms + wait_ms.max(period_ms);
    let next = slot_at_or_after(earliest.max(now_ms), period_ms);
    let skipped = ((next - slot_ms) / period_ms - 1).max(0) as u64;
    (next, skipped)
}

/// How long a device that failed `failures` polls in a row waits before the next try: its
/// period doubled per failure after the first, at most 5 minutes (or one period if longer).
pub fn backoff(period: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return period;
    }
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    period.saturating_mul(factor).min(MAX_BACKOFF.max(period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_wall_clock_multiples() {
        let q = 900_000;
        // 2025-03-01T00:07:13Z → 00:15:00Z.
        assert_eq!(slot_at_or_after(1_740_787_633_000, q), 1_740_788_100_000);
        assert_eq!(slot_at_or_after(1_740_788_100_000, q), 1_740_788_100_000);
        assert_eq!(slot_at_or_after(10_001, 10_000), 20_000);
    }

    #[test]
    fn late_polls_skip_past_slots() {
        // On time: the next slot, nothing skipped.
        assert_eq!(next_slot(10_000, 10_400, 10_000, 0), (20_000, 0));
        // The poll ended at 31 s: slots 20 s and 30 s are gone.
        assert_eq!(next_slot(10_000, 31_000, 10_000, 0), (40_000, 2));
        // Backing off 40 s.
        assert_eq!(next_slot(10_000, 10_400, 10_000, 40_000), (50_000, 3));
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let p = Duration::from_secs(10);
        let waits: Vec<u64> = (0..8).map(|f| backoff(p, f).as_secs()).collect();
        assert_eq!(waits, [10, 10, 20, 40, 80, 160, 300, 300]);
        let q = Duration::from_secs(900);
        assert_eq!(backoff(q, 5), q);
    }
}
