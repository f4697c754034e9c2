//! Per-client bounds of what requests without a credential (logins) make the audit log write:
//! the first entries of a client in a window (and its first refusal by a rate limit) are
//! written in full, the rest are counted, and one summary entry per client and window says how
//! many of which kind there were.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::AuditEntry;

/// Clients tallied at once; beyond, new clients share the tally [`OTHERS`].
const MAX_CLIENTS: usize = 1024;
/// The tally of the clients beyond [`MAX_CLIENTS`].
const OTHERS: &str = "*";

struct Tally {
    start: Instant,
    start_ms: i64,
    written: u32,
    refusal_written: bool,
    counted: BTreeMap<String, u64>,
}

/// The tallies of the clients in their current window.
pub(crate) struct Clients {
    window: Duration,
    per_window: u32,
    tallies: Mutex<HashMap<String, Tally>>,
}

impl Clients {
    /// At most `per_window` entries in full per client and `window`.
    pub fn new(window: Duration, per_window: u32) -> Self {
        Clients {
            window,
            per_window,
            tallies: Mutex::new(HashMap::new()),
        }
    }

    /// True if an entry of `client` may be written in full now: one of the first entries in
    /// the window, or with `refusal` (a rate limit refused the request) the first refusal;
    /// otherwise it is counted as `what`.
    pub fn admit(&self, client: &str, what: &str, refusal: bool, now: Instant) -> bool {
        let mut tallies = self.tallies.lock();
        let key = if tallies.contains_key(client) || tallies.len() < MAX_CLIENTS {
            client
        } else {
            OTHERS
        };
        let tally = tallies.entry(key.to_string()).or_insert_with(|| Tally {
            start: now,
            start_ms: crate::now_ms(),
            written: 0,
            refusal_written: false,
            counted: BTreeMap::new(),
        });
        if refusal && !tally.refusal_written {
            tally.refusal_written = true;
            return true;
        }
        if !refusal && tally.written < self.per_window {
            tally.written += 1;
            return true;
        }
        *tally.counted.entry(what.to_string()).or_default() += 1;
        false
    }

    /// The summary entries of the windows that ended by `now` (all windows with `all`), whose
    /// tallies are forgotten.
    pub fn due(&self, now: Instant, all: bool) -> Vec<AuditEntry> {
        let mut out = Vec::new();
        self.tallies.lock().retain(|client, t| {
            if !all && now.duration_since(t.start) < self.window {
                return true;
            }
            if !t.counted.is_empty() {
                out.push(summary(client, t));
            }
            false
        });
        out
    }
}

fn summary(client: &str, t: &Tally) -> AuditEntry {
    let from = chrono::DateTime::from_timestamp_millis(t.start_ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let ip = if client == OTHERS { "" } else { client };
    AuditEntry::now("anonymous", "audit.summary", client)
        .ip(ip)
        .outcome("denied")
        .details(serde_json::json!({
            "from": from,
            "counted": t.counted,
            "written_in_full": t.written,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entries_in_full_then_counted_and_summarised_per_window() {
        let c = Clients::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        assert!(c.admit("1.2.3.4", "login failed", false, t0));
        assert!(c.admit("1.2.3.4", "login failed", false, t0));
        assert!(!c.admit("1.2.3.4", "login failed", false, t0));
        assert!(c.admit("1.2.3.4", "login denied", true, t0));
        assert!(!c.admit("1.2.3.4", "login denied", true, t0));
        assert!(c.admit("5.6.7.8", "login failed", false, t0));
        assert!(c.due(t0 + Duration::from_secs(59), false).is_empty());
        let due = c.due(t0 + Duration::from_secs(60), false);
        assert_eq!(due.len(), 1, "no summary for a client with nothing counted");
        assert_eq!(due[0].action, "audit.summary");
        assert_eq!(due[0].ip, "1.2.3.4");
        assert_eq!(due[0].details["counted"]["login failed"], 1);
        assert_eq!(due[0].details["counted"]["login denied"], 1);
        // A new window.
        assert!(c.admit(
            "1.2.3.4",
            "login failed",
            false,
            t0 + Duration::from_secs(61)
        ));
        for i in 0..MAX_CLIENTS + 5 {
            let client = format!("10.0.{}.{}", i / 256, i % 256);
            c.admit(&client, "login failed", false, t0);
            c.admit(&client, "login failed", false, t0);
            c.admit(&client, "login failed", false, t0);
        }
        let all = c.due(t0, true);
        assert!(all.len() <= MAX_CLIENTS + 1);
        assert!(all.iter().any(|e| e.target == OTHERS && e.ip.is_empty()));
    }
}
