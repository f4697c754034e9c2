//! The limit of open file descriptors: raised at start from the soft limit to the hard one, so
//! that connections and the store's files fit (a soft limit of 1024 is common).

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Used when the hard limit is unlimited (Linux refuses more than `nr_open`, 1 048 576 by
/// default).
const UNLIMITED_TARGET: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, logs what it did, and returns the soft
/// limit now in force.
pub fn raise() -> u64 {
    let old = getrlimit(Resource::Nofile);
    let current = old.current.unwrap_or(u64::MAX);
    let target = old.maximum.unwrap_or(UNLIMITED_TARGET);
    if target <= current {
        tracing::info!("open file limit: {current} (soft = hard)");
        return current;
    }
    let new = Rlimit {
        current: Some(target),
        maximum: old.maximum,
    };
    match setrlimit(Resource::Nofile, new) {
        Ok(()) => {
            tracing::info!(
                "raised the soft open file limit from {current} to {target} (the hard limit)"
            );
            target
        }
        Err(e) => {
            tracing::warn!(
                "could not raise the soft open file limit from {current} to {target}: {e}; connections are limited accordingly"
            );
            current
        }
    }
}
