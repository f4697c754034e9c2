//! Errors of the spool, each naming the file or directory concerned.

use std::path::PathBuf;

/// What went wrong with the spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Reading, writing or syncing a file failed.
    #[error("spool file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The append would take the spool beyond `max_bytes`; nothing of it was stored.
    #[error("spool {dir} is full: {used} of {max} bytes in use and {needed} more needed; nothing was stored (the forwarder must drain it first, or raise max_bytes)")]
    Full {
        /// The spool directory.
        dir: PathBuf,
        /// Bytes of segment files now.
        used: u64,
        /// The configured limit.
        max: u64,
        /// Bytes the refused append needed.
        needed: u64,
    },
    /// A file holds something the spool did not write.
    #[error("spool file {path} is corrupt at byte {offset}: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// Another process has the spool open.
    #[error("spool {0} is in use by another process (its LOCK file is locked)")]
    Locked(PathBuf),
    /// A record cannot be stored as one line.
    #[error("record {index} of the append is not one line: {what}; nothing was stored")]
    BadRecord {
        /// 0-based index in the append.
        index: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// The batch does not start at the oldest un-acked record (acked already by someone else,
    /// or from before a reopen).
    #[error(
        "batch starting at record {batch} does not follow the acked cursor at record {cursor}"
    )]
    StaleBatch {
        /// The batch's first sequence number.
        batch: u64,
        /// The cursor's sequence number.
        cursor: u64,
    },
    /// The configuration cannot work.
    #[error("spool configuration: {0}")]
    Config(String),
}

impl SpoolError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SpoolError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        SpoolError::Corrupt {
            path: path.into(),
            offset,
            what: what.into(),
        }
    }
}

/// Adds the path to an `io::Result`.
pub(crate) trait At<T> {
    fn at(self, path: &std::path::Path) -> Result<T, SpoolError>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T, SpoolError> {
        self.map_err(|e| SpoolError::io(path, e))
    }
}
