//! Counters of one channel, for the collector's `/metrics` and status.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// Live counters of a channel; cheap to update from the subscription loop.
#[derive(Debug)]
pub struct Metrics {
    connected: AtomicBool,
    subscribed: AtomicBool,
    connects: AtomicU64,
    connection_errors: AtomicU64,
    sink_errors: AtomicU64,
    unmatched: AtomicU64,
    last_message_ms: AtomicI64,
    subscriptions: Vec<(String, [AtomicU64; 3])>,
}

/// A copy of the counters at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Connected to the broker now.
    pub connected: bool,
    /// Connected and every subscription granted by the broker.
    pub subscribed: bool,
    /// Successful connections (CONNACK accepted) since start.
    pub connects: u64,
    /// Failed connection attempts and dropped connections since start.
    pub connection_errors: u64,
    /// Times the sink refused a batch (retried until it accepts).
    pub sink_errors: u64,
    /// Messages whose topic matched no subscription (skipped).
    pub unmatched: u64,
    /// When the last message arrived, epoch ms (none yet: `None`).
    pub last_message_ms: Option<i64>,
    /// Per subscription, in configuration order.
    pub subscriptions: Vec<SubscriptionSnapshot>,
}

/// Counters of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSnapshot {
    /// Its topic filter.
    pub topic: String,
    /// Messages received.
    pub messages: u64,
    /// Readings handed to the sink.
    pub readings: u64,
    /// Values, lines or messages refused (never forwarded).
    pub decode_errors: u64,
}

impl Metrics {
    /// Counters for the subscriptions with these filters, in order.
    pub fn new<'a>(filters: impl IntoIterator<Item = &'a str>) -> Self {
        Metrics {
            connected: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
            connects: AtomicU64::new(0),
            connection_errors: AtomicU64::new(0),
            sink_errors: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
            last_message_ms: AtomicI64::new(i64::MIN),
            subscriptions: filters
                .into_iter()
                .map(|f| (f.to_string(), Default::default()))
                .collect(),
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let last = self.last_message_ms.load(Relaxed);
        Snapshot {
            connected: self.connected.load(Relaxed),
            subscribed: self.subscribed.load(Relaxed),
            connects: self.connects.load(Relaxed),
            connection_errors: self.connection_errors.load(Relaxed),
            sink_errors: self.sink_errors.load(Relaxed),
            unmatched: self.unmatched.load(Relaxed),
            last_message_ms: (last != i64::MIN).then_some(last),
            subscriptions: self
                .subscriptions
                .iter()
                .map(|(topic, c)| SubscriptionSnapshot {
                    topic: topic.clone(),
                    messages: c[0].load(Relaxed),
                    readings: c[1].load(Relaxed),
                    decode_errors: c[2].load(Relaxed),
                })
                .collect(),
        }
    }

    pub(crate) fn connected(&self) {
        self.connected.store(true, Relaxed);
        self.connects.fetch_add(1, Relaxed);
    }

    pub(crate) fn subscribed(&self, granted: bool) {
        self.subscribed.store(granted, Relaxed);
    }

    pub(crate) fn disconnected(&self) {
        self.connected.store(false, Relaxed);
        self.subscribed.store(false, Relaxed);
        self.connection_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn sink_error(&self) {
        self.sink_errors.fetch_add(1, Relaxed);
    }

    pub(crate) fn message(&self, subscription: Option<usize>, now_ms: i64) {
        self.last_message_ms.store(now_ms, Relaxed);
        match subscription {
            Some(i) => self.subscriptions[i].1[0].fetch_add(1, Relaxed),
            None => self.unmatched.fetch_add(1, Relaxed),
        };
    }

    pub(crate) fn decoded(&self, subscription: usize, readings: usize, errors: usize) {
        let c = &self.subscriptions[subscription].1;
        c[1].fetch_add(readings as u64, Relaxed);
        c[2].fetch_add(errors as u64, Relaxed);
    }
}
