//! shulv-spool: the store-and-forward queue of field collection and region mode.
//!
//! A [`Spool`] is a durable local FIFO of opaque records, one InfluxDB line-protocol line each
//! (bytes without the newline). [`Spool::append`] returns Ok only once the records are written
//! and fdatasync'd; a SIGKILL at any moment loses none of them, and a write torn by the crash
//! is truncated at the next [`Spool::open`]. [`Spool::peek`] and [`Spool::ack`] consume in
//! order; the cursor is fdatasync'd, so after a crash at most the batch in flight is sent again.
//!
//! A [`Forwarder`] drains a spool to a shulv server (`/api/v2/write`) or any
//! InfluxDB-compatible write URL, at least once and in order. See docs/collect.md.

mod backoff;
mod cursor;
mod error;
mod forward;
mod frame;
mod recover;
mod segment;
mod spool;

pub use error::SpoolError;
pub use forward::{
    ForwardEvent, ForwardTarget, Forwarder, ForwarderHandle, MAX_BATCH_BYTES, MAX_BATCH_RECORDS,
};
pub use spool::{Batch, Spool, SpoolConfig, SpoolStats};
