//! Loads the demo park into an empty data directory through the ordinary ingest pipeline, so
//! registers and power meters are converted exactly as live data would be.

use std::borrow::Cow;

use anyhow::Context;
use shulv_ingest::{Instant, Reading};
use shulv_platform::{IngestOptions, Platform, ReplacementRecord};

/// Loads the park unless the registry already holds meters.
pub fn load_if_empty(platform: &Platform) -> anyhow::Result<()> {
    if !platform.registry_file().meters.is_empty() {
        eprintln!("demo data already loaded; starting");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let park = shulv_demo::DemoPark::new();
    let registry =
        shulv_model::RegistryFile::from_toml(&park.registry_toml()).context("the demo registry")?;
    platform.apply_registry(registry)?;
    for (meter, at, old_final, new_initial) in park.replacements() {
        platform.add_replacement(
            &meter,
            ReplacementRecord {
                at,
                old_final,
                new_initial,
            },
        )?;
    }
    let ids = park.meter_ids();
    eprintln!(
        "loading the demo park: {} meters, one year of 15-minute data",
        ids.len()
    );
    let options = IngestOptions {
        atomic: true,
        received_at: chrono::Utc::now().timestamp_millis(),
    };
    let mut total = 0usize;
    for id in &ids {
        let readings: Vec<Reading> = park
            .readings(id)
            .into_iter()
            .enumerate()
            .map(|(i, (ts, value))| Reading {
                line: i + 1,
                meter: Cow::Borrowed(id.as_str()),
                ts: Instant::Utc(ts),
                value,
                unit: None,
            })
            .collect();
        let report = platform.ingest(readings, Vec::new(), options)?;
        if let Some(bad) = report.refused.first() {
            anyhow::bail!(
                "demo meter {id}: reading {} refused: {} ({})",
                bad.line,
                bad.message,
                bad.field
            );
        }
        total += report.accepted;
    }
    platform.store().flush()?;
    eprintln!(
        "loaded {total} readings in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
