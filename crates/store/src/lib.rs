//! # shulv-store: embedded durable time-series store
//!
//! Generic store for `u32` series ids in one data directory. Writes go to a write-ahead log
//! (group commit: one `fdatasync` for all concurrent callers), then into an in-memory
//! memtable; a background thread flushes the memtable into immutable Apache Parquet segment
//! files partitioned by UTC month (`segments/YYYY-MM/`), and compacts partitions. The live
//! set of files, the WAL position and the series registry are in `MANIFEST.json`, replaced
//! atomically. See `SCHEMA.md` for the on-disk format.
//!
//! ## Rollups and why they are exact
//! Every raw segment file is written with *partials* — per series × bucket (UTC hour, local
//! day, local month in the series' time zone): count, sum, min, max, first/last ts, last value —
//! in three companion Parquet files. Partials of two point sets can be combined exactly when
//! the sets are disjoint. The store keeps the invariant **no (series, ts) is stored in two
//! live files**: when a flush would add points to a partition where an existing file holds
//! the same series over an intersecting time range, those files are merged with the new
//! points (newest wins) into one new file whose partials are recomputed. Compaction merges
//! all files of a partition. Hence the maintained rollup of a bucket is the combination of
//! the partials of all live files (and of retained partials of raw points dropped by
//! retention), plus the memtable aggregated on the fly. If the memtable may hold a point that
//! duplicates persisted data, a rollup query flushes first. Month partials are cached in
//! memory per partition; hour/day partials are read from the partial files, never from raw
//! data. Sums may differ from a raw rescan by floating-point reassociation only.
//!
//! ## Compaction
//! Each flush adds a file to its month partition. The background merges files of similar size:
//! raw files are tiered by row count (tier `k`: `4^k` to `4^(k+1)` quarter memtables), and a
//! tier with `compaction_trigger_files` files is merged into one file of a higher tier, so new
//! flushes are never merged into the month's big file one by one (each point is rewritten about
//! once per tier) and the maintenance lock, which flushes wait for, is held for small merges
//! only. A partition with expired raw data, or with four tiers' worth of files, is merged whole;
//! so is every partition by an explicit [`Store::compact`].
//!
//! Limitation: once retention dropped raw points, a late rewrite of such an instant cannot be
//! deduplicated against the dropped point and is counted in addition to it.

mod bucket;
mod compaction;
mod discard;
mod error;
mod manifest;
mod memtable;
mod rollup;
mod scan;
mod segment;
mod store;
mod wal;

use std::path::PathBuf;
use std::time::Duration;

pub use error::StoreError;
pub use store::Store;

/// Series identifier.
pub type SeriesId = u32;

/// A map keyed by series id. Series ids come from the store's own callers, not from outside
/// input, so a fast non-cryptographic hash is safe (ahash, already in the tree through arrow).
pub(crate) type SeriesMap<V> = std::collections::HashMap<SeriesId, V, ahash::RandomState>;

/// The time zone of every registered series.
pub(crate) type TzMap = SeriesMap<chrono_tz::Tz>;

/// One reading: `value` of `series` at `ts` (ms since the Unix epoch, UTC).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Series id.
    pub series: SeriesId,
    /// Instant, ms since epoch UTC.
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// What [`Store::checkpoint`] copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Segment files (raw and partial files).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Raw points in them.
    pub points: u64,
}

/// Store configuration.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Data directory (created if missing).
    pub dir: PathBuf,
    /// Flush when the memtable holds this many points (default 2 000 000).
    pub memtable_max_points: usize,
    /// Flush when the oldest memtable point is this old (default 30 s).
    pub flush_interval: Duration,
    /// Raw points older than now − retention are dropped at compaction; rollups are kept.
    pub raw_retention: Option<Duration>,
    /// Merge the files of one size tier of a partition in the background once the tier has
    /// this many (default 8); see the crate docs on compaction.
    pub compaction_trigger_files: usize,
}

impl StoreConfig {
    /// Configuration with defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            dir: dir.into(),
            memtable_max_points: 2_000_000,
            flush_interval: Duration::from_secs(30),
            raw_retention: None,
            compaction_trigger_files: 8,
        }
    }
}

/// Rollup granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// UTC hour.
    Hour,
    /// Local calendar day in the series' time zone.
    Day,
    /// Local calendar month in the series' time zone.
    Month,
}

impl Level {
    /// All levels, finest first.
    pub const ALL: [Level; 3] = [Level::Hour, Level::Day, Level::Month];

    /// The levels whose partials a raw segment keeps beside its points: months only. Hour and
    /// day rollups of raw points are computed from the raw file when asked (at 300–400 M
    /// points/s): for 15-minute meters hour partials (one row of nine columns per four
    /// readings) took twice the disk of the readings, and day partials another tenth.
    /// Rollup-only segments (what retention keeps of dropped points) have all three.
    pub(crate) const KEPT_FOR_RAW: [Level; 1] = [Level::Month];

    /// `hour`, `day` or `month`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Hour => "hour",
            Level::Day => "day",
            Level::Month => "month",
        }
    }
}

/// Aggregate of one series in one bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollup {
    /// Series id.
    pub series: SeriesId,
    /// Bucket start, ms UTC.
    pub bucket_start: i64,
    /// Number of (deduplicated) points.
    pub count: u64,
    /// Sum of values.
    pub sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Instant of the latest point in the bucket.
    pub last_ts: i64,
    /// Value of the latest point in the bucket.
    pub last: f64,
}

/// Counters and sizes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// Bytes in WAL files.
    pub wal_bytes: u64,
    /// Points in memory (not yet in segments).
    pub memtable_points: u64,
    /// Live segments (raw and rollup-only).
    pub segment_files: u64,
    /// Bytes of live segments, partial files included.
    pub segment_bytes: u64,
    /// Bytes of live raw Parquet files only.
    pub raw_bytes: u64,
    /// Points in live raw segment files.
    pub points_persisted: u64,
    /// Points acknowledged since open.
    pub points_written_total: u64,
    /// WAL group commits (fdatasync calls) since open.
    pub wal_syncs: u64,
    /// Flushes since open.
    pub flushes: u64,
    /// Compactions since open.
    pub compactions: u64,
}

/// Result of [`Store::verify`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    /// Segments checked.
    pub files_checked: u64,
    /// Raw points read.
    pub points_checked: u64,
    /// Stored partials compared.
    pub rollups_checked: u64,
    /// Problems found (empty when healthy).
    pub mismatches: Vec<String>,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}
