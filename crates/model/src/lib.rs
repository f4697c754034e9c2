//! # shulv-model
//!
//! Domain vocabulary of shulv (数绿): energy carriers (能源品种), typed units, reading kinds,
//! the organisation tree with its meters and registry files (TOML/CSV), conversions of
//! cumulative registers and instantaneous rates into interval quantities, calendar buckets in
//! a node's time zone, and Chinese public holidays with 调休 make-up workdays.
//!
//! No I/O: everything parses or computes from values given by the caller. Instants are
//! epoch milliseconds (UTC, `i64`).

pub mod calendar;
pub mod carrier;
pub mod convert;
pub mod holidays;
pub mod registry;
pub mod unit;

pub use calendar::{
    bucket_next, bucket_start, format_local, local_to_utc, parse_instant, parse_naive,
    parse_rfc3339, Bucket, TimeError, UnknownBucket,
};
pub use carrier::{Carrier, EmissionSource, ReadingKind, UnknownCarrier, UnknownReadingKind};
pub use convert::{
    power_energy, power_to_intervals, register_delta, register_to_intervals, ConversionError,
    Replacement,
};
pub use holidays::{DayType, HolidayCalendar, HolidayError};
pub use registry::{
    parse_meters_csv, parse_nodes_csv, MergeSummary, MeterSpec, NodeSpec, RegistryError,
    RegistryFile, Tree, DEFAULT_INTERVAL_S, DEFAULT_MAX_GAP_S, DEFAULT_TIMEZONE,
};
pub use unit::{Dimension, Unit, UnitError};

pub use chrono;
pub use chrono_tz;
