//! `shulv demo`: the demo park loaded through the ordinary ingest pipeline (so registers and
//! power meters are converted exactly as live data would be), from its base year up to the
//! current quarter hour, and kept current while the demo runs ([`live`]).

pub mod live;
pub mod timeline;

use std::borrow::Cow;

use anyhow::Context;
use shulv_ingest::{Instant, Reading};
use shulv_platform::{IngestOptions, Platform, ReplacementRecord};

use timeline::Timeline;

/// Loads the park's registry into an empty data directory, then every reading up to `now_ms`
/// that is not stored yet (all of them on the first start; on a later start, what came due
/// while the demo was stopped).
pub fn load(platform: &Platform, timeline: &mut Timeline, now_ms: i64) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let fresh = platform.registry_file().meters.is_empty();
    if fresh {
        let park = &timeline.years_until(now_ms)[0];
        let registry = shulv_model::RegistryFile::from_toml(&park.registry_toml())
            .context("the demo registry")?;
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
        eprintln!(
            "loading the demo park: {} meters, 15-minute data from 2025-01-01 up to now",
            park.meter_ids().len()
        );
    }
    let total = catch_up(platform, timeline, now_ms, |_| true)?;
    platform.store().flush()?;
    if fresh || total > 0 {
        eprintln!(
            "loaded {total} readings in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Ingests, for every meter `wanted` accepts, the readings due by `until_ms` from its newest
/// stored one on (that one is sent again: resending is harmless). Returns how many were taken.
pub fn catch_up(
    platform: &Platform,
    timeline: &mut Timeline,
    until_ms: i64,
    wanted: impl Fn(&str) -> bool,
) -> anyhow::Result<usize> {
    let years = timeline.years_until(until_ms);
    let options = IngestOptions {
        atomic: true,
        received_at: chrono::Utc::now().timestamp_millis(),
    };
    let mut total = 0usize;
    for id in years[0].meter_ids().iter().filter(|id| wanted(id)) {
        let from = platform.last_reading_ms(id)?.unwrap_or(i64::MIN);
        for park in years.iter().filter(|p| p.end() > from) {
            let readings: Vec<Reading<'_>> = park
                .readings_until(id, until_ms)
                .into_iter()
                .filter(|&(ts, _)| ts >= from)
                .enumerate()
                .map(|(i, (ts, value))| Reading {
                    line: i + 1,
                    meter: Cow::Borrowed(id.as_str()),
                    ts: Instant::Utc(ts),
                    value,
                    unit: None,
                })
                .collect();
            if readings.is_empty() {
                continue;
            }
            let report = platform.ingest(readings, Vec::new(), options)?;
            if let Some(bad) = report.refused.first() {
                anyhow::bail!(
                    "demo meter {id} ({}): reading {} refused: {} ({})",
                    park.year(),
                    bad.line,
                    bad.message,
                    bad.field
                );
            }
            total += report.accepted;
        }
    }
    Ok(total)
}
