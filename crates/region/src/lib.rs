//! # shulv-region: one regional centre over many shulv nodes
//!
//! A regional energy-carbon centre (区域级能碳管理中心) sees many parks and enterprises. shulv grows
//! to it in two ways, both in this crate (see docs/region.md):
//!
//! * **Publish** ([`publish`]): a park or enterprise node copies its store's immutable segment
//!   files and a snapshot of its registry to a shared store — a directory (NFS, an HDFS mount)
//!   or S3-compatible object storage, through the `object_store` crate — in a documented,
//!   Hive-partitioned layout ([`layout`], `LAYOUT.md`), with a manifest and SHA-256 checksums per
//!   publication. Publishing is incremental (a segment file is uploaded once; segment ids are
//!   never reused), resumable and idempotent. Apache Spark jobs (`region/spark/`) scan the
//!   published files for the region-wide questions that need raw data. [`mirror`] copies a
//!   shared store's current publications into a local directory (for a Spark without an S3
//!   connector, or an offline copy).
//! * **Federate** ([`federate`]): a park node forwards the 15-minute totals of chosen nodes of
//!   its tree, by carrier, to a region node as virtual meters, through the collector's durable
//!   queue (`shulv-spool`), so the region's own console, accounts, grades and forecasts work on
//!   about one series per enterprise and carrier, and a park that was offline catches up by
//!   itself.

pub mod federate;
pub mod layout;
mod location;
pub mod mirror;
pub mod publish;
mod registry_table;
mod transfer;

pub use location::{Location, LocationError};

/// Why a region operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    /// The shared store refused or failed an operation.
    #[error("shared store: {0}")]
    Store(#[from] object_store::Error),
    /// A local file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
    /// A manifest or registry snapshot is not what the layout says.
    #[error("{path}: {message}")]
    Invalid {
        /// The object.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The node's platform failed (store checkpoint, query).
    #[error(transparent)]
    Platform(#[from] shulv_platform::PlatformError),
}

impl RegionError {
    pub(crate) fn io(path: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        RegionError::Io {
            path: path.to_string(),
            message: e.to_string(),
        }
    }

    pub(crate) fn invalid(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        RegionError::Invalid {
            path: path.to_string(),
            message: message.into(),
        }
    }
}
