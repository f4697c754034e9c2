//! The connections of `serve` and `serve_tls`: a header-read timeout (slow or silent clients),
//! an idle keep-alive timeout, a limit on open connections that leaves file descriptors to the
//! store, a limit per client address, and an accept loop that survives running out of file
//! descriptors (it closes idle connections and retries shortly instead of spinning or exiting).

mod activity;
mod io;
mod registry;
mod serve;

use std::time::Duration;

pub use serve::serve;

/// Largest default connection limit, whatever the file-descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS_CAP: usize = 16_384;
/// Default limit of connections of one client address.
pub const DEFAULT_MAX_PER_CLIENT: usize = 256;

/// Limits and timeouts of the server's connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; over it, a new connection replaces the one idle the longest
    /// (refused if every connection has a request in flight).
    pub max_connections: usize,
    /// Open connections of one client address at most (0: no such limit); over it, the
    /// client's connection idle the longest makes room.
    pub max_connections_per_client: usize,
    /// Time a client has to send a whole request head (and, over TLS, to complete the
    /// handshake) once it starts one or opens the connection.
    pub header_read_timeout: Duration,
    /// Time a kept-alive connection may stay without a new request.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults for a process that may open `fd_limit` file descriptors: a quarter of them
    /// (at least 256, at most half) stay free for the store's files, the rest may be
    /// connections, up to [`DEFAULT_MAX_CONNECTIONS_CAP`].
    pub fn for_fd_limit(fd_limit: u64) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: max_connections_for(fd_limit),
            max_connections_per_client: DEFAULT_MAX_PER_CLIENT,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The largest connection limit that leaves the store its headroom of `fd_limit`.
pub fn max_connections_for(fd_limit: u64) -> usize {
    let headroom = (fd_limit / 4).max(256.min(fd_limit / 2));
    let free = fd_limit.saturating_sub(headroom).max(1);
    usize::try_from(free)
        .unwrap_or(usize::MAX)
        .min(DEFAULT_MAX_CONNECTIONS_CAP)
}

impl Default for ConnectionLimits {
    /// The defaults at the common soft limit of 1024 descriptors.
    fn default() -> Self {
        Self::for_fd_limit(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_descriptors() {
        assert_eq!(max_connections_for(1024), 768);
        assert_eq!(max_connections_for(256), 128);
        assert_eq!(max_connections_for(20_000), 15_000);
        assert_eq!(max_connections_for(1 << 20), DEFAULT_MAX_CONNECTIONS_CAP);
        assert_eq!(max_connections_for(0), 1);
    }
}
