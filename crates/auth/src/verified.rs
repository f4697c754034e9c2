//! Passwords verified recently. InfluxDB 1.x clients and Grafana send a user's password with
//! every request (HTTP Basic or `u`/`p`), and an argon2 verification costs tens of milliseconds
//! of CPU each time. As InfluxDB's own authentication cache does, a successful verification is
//! remembered for a few minutes as a salted SHA-256 of the password, and only for the user's
//! password hash of that moment: a new password, or any other change of the hash, ends it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::random_bytes;

/// Users remembered at most; beyond, the expired are dropped, then everything.
const MAX_ENTRIES: usize = 10_000;

/// Recent successful password verifications, by user name.
pub(crate) struct VerifiedPasswords {
    entries: Mutex<HashMap<String, Entry>>,
    ttl: Duration,
}

struct Entry {
    salt: [u8; 16],
    digest: [u8; 32],
    password_hash: String,
    until: Instant,
}

fn salted(salt: &[u8; 16], password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(password.as_bytes());
    h.finalize().into()
}

impl VerifiedPasswords {
    /// Verifications are remembered for `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        VerifiedPasswords {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// True if `password` of user `name` was verified within the time limit against
    /// `password_hash`, the user's current hash.
    pub(crate) fn holds(&self, name: &str, password: &str, password_hash: &str) -> bool {
        let entries = self.entries.lock();
        entries.get(name).is_some_and(|e| {
            e.until > Instant::now()
                && e.password_hash == password_hash
                && e.digest == salted(&e.salt, password)
        })
    }

    /// Remembers that `password` of user `name` matched `password_hash`.
    pub(crate) fn remember(&self, name: &str, password: &str, password_hash: &str) {
        let Ok(salt) = random_bytes::<16>() else {
            return;
        };
        let now = Instant::now();
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            name.to_string(),
            Entry {
                salt,
                digest: salted(&salt, password),
                password_hash: password_hash.to_string(),
                until: now + self.ttl,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_for_the_same_password_and_hash_until_it_expires() {
        let v = VerifiedPasswords::new(Duration::from_secs(60));
        assert!(!v.holds("alice", "pw", "h1"));
        v.remember("alice", "pw", "h1");
        assert!(v.holds("alice", "pw", "h1"));
        assert!(!v.holds("alice", "other", "h1"));
        assert!(
            !v.holds("alice", "pw", "h2"),
            "a changed password hash ends it"
        );
        assert!(!v.holds("bob", "pw", "h1"));
        let expired = VerifiedPasswords::new(Duration::ZERO);
        expired.remember("alice", "pw", "h1");
        assert!(!expired.holds("alice", "pw", "h1"));
    }
}
