//! What a connection is doing, for its timeouts and for choosing which connection to close
//! under pressure: requests in flight (a response body still being sent counts), when it last
//! became idle, and since when it has been sending a request head.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The activity of one connection. Times are milliseconds since the server's `epoch`.
pub(crate) struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    idle_since: AtomicU64,
    /// 1 + the time the current request head started arriving, 0 when none is arriving.
    head_since: AtomicU64,
}

impl Activity {
    /// A new connection: its first request head is due from now.
    pub(crate) fn new(epoch: Instant) -> Arc<Activity> {
        let now = ms_since(epoch);
        Arc::new(Activity {
            epoch,
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            head_since: AtomicU64::new(now + 1),
        })
    }

    fn now(&self) -> u64 {
        ms_since(self.epoch)
    }

    /// Bytes arrived: when the connection was idle, a request head has started.
    pub(crate) fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Acquire) == 0
        {
            self.head_since.store(self.now() + 1, Ordering::Release);
        }
    }

    /// A request head was read: the request is in flight until the guard is dropped (with the
    /// response body, once it has been sent).
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
        InFlight(self.clone())
    }

    /// Since when the connection has had nothing in flight (ms since the epoch), or `None`.
    pub(crate) fn idle_since(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Acquire) == 0)
            .then(|| self.idle_since.load(Ordering::Acquire))
    }

    /// When the connection is due to be closed: a head not complete `header` after it started,
    /// or `idle` after the last response without a new request; `None` while a request is in
    /// flight.
    pub(crate) fn deadline(&self, header: Duration, idle: Duration) -> Option<Instant> {
        let idle_since = self.idle_since()?;
        let head = self.head_since.load(Ordering::Acquire);
        let (from, limit) = if head > 0 {
            (head - 1, header)
        } else {
            (idle_since, idle)
        };
        Some(self.epoch + Duration::from_millis(from) + limit)
    }
}

fn ms_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

/// A request in flight on a connection.
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.now(), Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it has been sent (or dropped).
pub(crate) struct Tracked {
    inner: Body,
    _in_flight: InFlight,
}

impl Tracked {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Body, in_flight: InFlight) -> Tracked {
        Tracked {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_state_of_the_connection() {
        let epoch = Instant::now();
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(60));
        let a = Activity::new(epoch);
        let first = a.deadline(header, idle).unwrap();
        assert!(first <= Instant::now() + header && first > Instant::now() + header / 2);
        let r = a.request();
        assert_eq!(a.deadline(header, idle), None);
        assert_eq!(a.idle_since(), None);
        drop(r);
        let after = a.deadline(header, idle).unwrap();
        assert!(
            after > Instant::now() + idle / 2,
            "idle timeout once a response is sent"
        );
        a.bytes_read();
        let head = a.deadline(header, idle).unwrap();
        assert!(
            head <= Instant::now() + header,
            "header timeout once a head starts"
        );
    }
}
