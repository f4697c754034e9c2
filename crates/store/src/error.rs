//! Error type of the store.

use std::io;
use std::path::PathBuf;

use crate::SeriesId;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The WAL append or fsync failed; the write was not applied.
    #[error("cannot make the write durable: {}{}: {source}; nothing of it was stored", full(source), path.display())]
    Durability {
        /// WAL file that could not be written.
        path: PathBuf,
        /// Underlying OS error.
        source: io::Error,
    },
    /// A previous WAL failure could not be rolled back; writes are refused until restart.
    #[error("writes are refused until restart: the WAL {} could not be rolled back after a failed write: {detail}", path.display())]
    WalPoisoned {
        /// WAL file in an unknown state.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Another process (or another `Store` in this process) holds the data directory.
    #[error("data directory is locked by another store instance: {}", .0.display())]
    Locked(PathBuf),
    /// The series was never registered.
    #[error("unknown series {0} (register it first)")]
    UnknownSeries(SeriesId),
    /// The series is already registered with another time zone.
    #[error("series {series} is registered with time zone {existing}, cannot re-register with {requested}")]
    SeriesConflict {
        /// Series id.
        series: SeriesId,
        /// Time zone on record.
        existing: String,
        /// Time zone asked for.
        requested: String,
    },
    /// A file in the data directory is damaged or not what the store wrote.
    #[error("corrupt data file {}: {detail}", path.display())]
    Corrupt {
        /// Damaged file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An I/O error on a given path.
    #[error("I/O error on {}: {}{source}", path.display(), full(source))]
    Io {
        /// File or directory involved.
        path: PathBuf,
        /// Underlying OS error.
        source: io::Error,
    },
    /// The store is shutting down or its writer thread stopped.
    #[error("the store is closed")]
    Closed,
}

/// `"disk full: "` when `e` says the file system is out of space or quota, else nothing.
fn full(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => "disk full: ",
        _ => "",
    }
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            path: path.into(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn parquet(path: impl Into<PathBuf>, e: parquet::errors::ParquetError) -> Self {
        match e {
            parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
                Ok(ioe) => StoreError::io(path, *ioe),
                Err(other) => StoreError::corrupt(path, other),
            },
            other => StoreError::corrupt(path, other),
        }
    }
}

/// Shorthand result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attach a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| StoreError::io(path, e))
    }
}
