//! When each meter last reported: the newest stored point of its quantity series, for the
//! console's "meters that stopped reporting" alarms.

use crate::{Platform, PlatformError};

impl Platform {
    /// The timestamp (ms UTC) of the newest stored quantity of `meter_id`; `None` if the meter
    /// is unknown or has no data.
    pub fn last_reading_ms(&self, meter_id: &str) -> Result<Option<i64>, PlatformError> {
        let Some(series) = self.registry.read().series_of(meter_id) else {
            return Ok(None);
        };
        Ok(self.store.last_ts(series.quantity)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{IngestOptions, Platform, PlatformConfig};
    use shulv_ingest::{Instant, Reading};
    use std::borrow::Cow;

    #[test]
    fn newest_point_of_a_meter() {
        let dir = tempfile::tempdir().unwrap();
        let p = Platform::open(PlatformConfig::new(dir.path())).unwrap();
        let file = shulv_model::RegistryFile::from_toml(
            "[[node]]\nid='n'\nname='n'\nkind='site'\n[[meter]]\nid='m'\nname='m'\nnode='n'\ncarrier='electricity'\nunit='kWh'\nreading='interval'\n",
        )
        .unwrap();
        p.apply_registry(file).unwrap();
        assert_eq!(p.last_reading_ms("m").unwrap(), None);
        assert_eq!(p.last_reading_ms("nope").unwrap(), None);
        let t0 = 1_740_758_400_000i64;
        let readings = (0..3)
            .map(|i| Reading {
                line: i + 1,
                meter: Cow::Borrowed("m"),
                ts: Instant::Utc(t0 + i as i64 * 900_000),
                value: 1.0,
                unit: None,
            })
            .collect();
        let options = IngestOptions {
            atomic: true,
            received_at: t0 + 3_600_000,
        };
        p.ingest(readings, Vec::new(), options).unwrap();
        assert_eq!(p.last_reading_ms("m").unwrap(), Some(t0 + 1_800_000));
    }
}
