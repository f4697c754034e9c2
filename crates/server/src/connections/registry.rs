//! The open connections, counted globally and per client address. A new connection over a
//! limit takes the place of the connection idle the longest (the client's own when the client
//! is at its limit); when every connection has a request in flight, the new one is refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::activity::Activity;

/// The open connections.
pub(crate) struct Registry {
    epoch: Instant,
    max: usize,
    per_client: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    open: HashMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
}

struct Entry {
    ip: IpAddr,
    activity: Arc<Activity>,
    close: Arc<Notify>,
}

/// Why a connection was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every connection of this client has a request in flight.
    Client,
    /// Every connection has a request in flight.
    Server,
}

/// A place in the registry, given back when dropped.
pub(crate) struct Slot {
    registry: Arc<Registry>,
    id: u64,
    /// What the connection is doing.
    pub(crate) activity: Arc<Activity>,
    /// Notified when the connection is to be closed to make room.
    pub(crate) close: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.registry.inner.lock();
        if let Some(e) = inner.open.remove(&self.id) {
            inner.release(e.ip);
        }
    }
}

impl Inner {
    fn release(&mut self, ip: IpAddr) {
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Closes the connection idle the longest (of `ip` if given); false if none is idle.
    fn close_oldest_idle(&mut self, ip: Option<IpAddr>) -> bool {
        let oldest = self
            .open
            .iter()
            .filter(|(_, e)| ip.is_none_or(|ip| e.ip == ip))
            .filter_map(|(id, e)| e.activity.idle_since().map(|t| (t, *id)))
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        let e = self.open.remove(&id).expect("listed");
        self.release(e.ip);
        e.close.notify_one();
        true
    }
}

impl Registry {
    /// A registry allowing `max` connections, `per_client` of one address (0: no such limit).
    pub(crate) fn new(epoch: Instant, max: usize, per_client: usize) -> Arc<Registry> {
        Arc::new(Registry {
            epoch,
            max: max.max(1),
            per_client,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Admits a connection from `ip`, closing an idle one if a limit is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let mut inner = self.inner.lock();
        let of_client = inner.per_ip.get(&ip).copied().unwrap_or(0);
        if self.per_client > 0 && of_client >= self.per_client && !inner.close_oldest_idle(Some(ip))
        {
            return Err(Refused::Client);
        }
        if inner.open.len() >= self.max && !inner.close_oldest_idle(None) {
            return Err(Refused::Server);
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let activity = Activity::new(self.epoch);
        let close = Arc::new(Notify::new());
        inner.open.insert(
            id,
            Entry {
                ip,
                activity: activity.clone(),
                close: close.clone(),
            },
        );
        *inner.per_ip.entry(ip).or_default() += 1;
        Ok(Slot {
            registry: self.clone(),
            id,
            activity,
            close,
        })
    }

    /// Closes up to `n` of the connections idle the longest (to free descriptors); returns how
    /// many.
    pub(crate) fn close_idle(&self, n: usize) -> usize {
        let mut inner = self.inner.lock();
        (0..n).take_while(|_| inner.close_oldest_idle(None)).count()
    }

    /// Open connections.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_registry_closes_the_longest_idle_or_refuses() {
        let r = Registry::new(Instant::now(), 3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let a1 = r.admit(a).unwrap();
        let _busy_a1 = a1.activity.request();
        let a2 = r.admit(a).unwrap();
        // a is at its limit: its idle connection a2 makes room, not a1 (busy).
        let a3 = r.admit(a).unwrap();
        assert_eq!(r.len(), 2);
        let _busy_a3 = a3.activity.request();
        assert_eq!(r.admit(a).err(), Some(Refused::Client));
        let b1 = r.admit(b).unwrap();
        // The server is full; b1 is the only idle connection.
        let c1 = r.admit(c).unwrap();
        assert_eq!(r.len(), 3);
        let _busy_c1 = c1.activity.request();
        assert_eq!(r.admit(b).err(), Some(Refused::Server));
        drop((a2, b1));
        assert_eq!(r.len(), 3);
        drop(a1);
        assert_eq!(r.len(), 2);
        assert_eq!(r.close_idle(5), 0);
    }
}
