//! shulv-fieldsim: simulated field devices for `shulv demo`, served in-process on loopback so
//! the demo's collector reads them over the real protocols: a Modbus TCP power analyser
//! ([`modbus`], built on tokio-modbus's server) and a DL/T 645-2007 meter behind a transparent
//! TCP gateway ([`dlt645`], on shulv's own codec). Each value follows a caller's function of the
//! wall clock, so the readings the collector takes continue the demo park's data.

pub mod dlt645;
pub mod modbus;

use std::sync::Arc;

/// A device quantity as a function of the wall clock (ms since the Unix epoch), in the unit the
/// device reports; `None` while it has no value (the device then answers with an error).
pub type Signal = Arc<dyn Fn(i64) -> Option<f64> + Send + Sync>;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
