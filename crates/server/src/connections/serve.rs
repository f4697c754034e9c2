//! The accept loop and the life of one connection.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::activity::Tracked;
use super::io::TrackedIo;
use super::registry::{Refused, Registry, Slot};
use super::ConnectionLimits;

/// Time given to requests in flight after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);
/// Pause after an accept error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Idle connections closed after such an accept error, to free descriptors.
const SHED_ON_ACCEPT_ERROR: usize = 16;
/// Least time between two warnings of the same kind.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What every connection shares.
struct Shared {
    router: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    builder: auto::Builder<TokioExecutor>,
    shutdown: watch::Receiver<bool>,
}

/// Serves `router` on `listener` (over TLS with `tls`) under `limits` until `signal`
/// completes, then lets requests in flight finish for up to 10 s.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let registry = Registry::new(
        Instant::now(),
        limits.max_connections,
        limits.max_connections_per_client,
    );
    let (stop, shutdown) = watch::channel(false);
    let shared = Arc::new(Shared {
        router,
        limits,
        tls: tls.map(TlsAcceptor::from),
        builder: auto::Builder::new(TokioExecutor::new()),
        shutdown,
    });
    let mut refused = Warning::new();
    let mut failed = Warning::new();
    tokio::pin!(signal);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut signal => break,
        };
        match accepted {
            Ok((stream, peer)) => match registry.admit(peer.ip().to_canonical()) {
                Ok(slot) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(shared.clone(), stream, peer, slot));
                }
                Err(why) => refused.warn(|n| {
                    let limit = match why {
                        Refused::Client => "the limit of connections of one client",
                        Refused::Server => "the server's connection limit",
                    };
                    tracing::warn!(
                        "refused {n} connection(s) (latest from {peer}): {limit} is reached and every connection has a request in flight"
                    )
                }),
            },
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                let shed = registry.close_idle(SHED_ON_ACCEPT_ERROR);
                failed.warn(|n| {
                    tracing::warn!(
                        "accepting connections failed {n} time(s): {e}; closed {shed} idle connection(s), retrying in {} ms",
                        ACCEPT_BACKOFF.as_millis()
                    )
                });
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let deadline = Instant::now() + DRAIN;
    while registry.len() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Errors of one connection that the accept loop skips at once.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// Counts events and logs at most one warning per [`WARN_EVERY`].
struct Warning {
    last: Option<Instant>,
    count: u64,
}

impl Warning {
    fn new() -> Warning {
        Warning {
            last: None,
            count: 0,
        }
    }

    fn warn(&mut self, log: impl FnOnce(u64)) {
        self.count += 1;
        if self.last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            log(self.count);
            self.last = Some(Instant::now());
            self.count = 0;
        }
    }
}

/// One connection: the TLS handshake if any, then HTTP/1.1 or HTTP/2 until the client closes,
/// a timeout, a close to make room, or shutdown.
async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, slot: Slot) {
    let io = TrackedIo::new(stream, slot.activity.clone());
    match &shared.tls {
        None => http(&shared, io, peer, &slot).await,
        Some(acceptor) => {
            let mut shutdown = shared.shutdown.clone();
            let handshake = tokio::select! {
                r = tokio::time::timeout(shared.limits.header_read_timeout, acceptor.accept(io)) => r,
                () = slot.close.notified() => return,
                _ = shutdown.wait_for(|&s| s) => return,
            };
            match handshake {
                Ok(Ok(tls)) => http(&shared, tls, peer, &slot).await,
                Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        }
    }
}

async fn http<I>(shared: &Shared, io: I, peer: SocketAddr, slot: &Slot)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let router = shared.router.clone();
    let activity = slot.activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let in_flight = activity.request();
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await?;
            Ok::<_, Infallible>(response.map(|b| Tracked::new(b, in_flight)))
        }
    });
    let conn = shared.builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let limits = &shared.limits;
    let mut shutdown = shared.shutdown.clone();
    let mut draining = false;
    loop {
        let deadline = slot
            .activity
            .deadline(limits.header_read_timeout, limits.idle_timeout);
        // While a request is in flight, look again after a header timeout.
        let wake = deadline.unwrap_or_else(|| Instant::now() + limits.header_read_timeout);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection from {peer}: {e}");
                }
                return;
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let due = slot
                    .activity
                    .deadline(limits.header_read_timeout, limits.idle_timeout);
                if due.is_some_and(|d| d <= Instant::now()) && !draining {
                    return;
                }
            }
            () = slot.close.notified() => return,
            _ = shutdown.wait_for(|&s| s), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}
