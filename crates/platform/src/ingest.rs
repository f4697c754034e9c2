//! The ingest pipeline: parsed readings → validated, converted store points.
//!
//! Each reading is checked against the registry (known meter, unit of the meter's dimension,
//! timestamp in the accepted range) and converted:
//! - interval meters: the value (converted to the meter's unit) is the quantity of the interval
//!   that starts at the reading's instant;
//! - cumulative registers: the raw register value is kept in the meter's raw series and the
//!   difference to the previous reading (rollover and declared replacements applied) becomes the
//!   quantity of the interval `[previous, this)`;
//! - instantaneous power/flow: the raw sample is kept and the trapezoid integral over
//!   `[previous, this)` becomes the quantity, unless the gap exceeds the meter's `max_gap_s`.
//!
//! Late and out-of-order readings of stateful meters recompute the quantities of both
//! neighbouring intervals; because the store keeps the last write per instant, the result is the
//! same as if the readings had arrived in order.
//!
//! Batch policy: by default a batch is accepted line by line. Good lines are written durably, and
//! the reply lists every refused line with its number, field and reason. With `atomic`, one bad
//! line refuses the whole batch and nothing is written.

use std::collections::{BTreeMap, HashMap};

use shulv_ingest::{LineError, Reading};
use shulv_model::{MeterSpec, ReadingKind, Unit};
use shulv_store::Point;

use crate::registry::MeterSeries;
use crate::{Platform, PlatformError};

/// Options of one ingest call.
#[derive(Clone, Copy, Debug)]
pub struct IngestOptions {
    /// Refuse the whole batch if any line is bad.
    pub atomic: bool,
    /// Instant used for readings without a timestamp (ms UTC).
    pub received_at: i64,
}

/// What happened to a batch.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Readings accepted and durably stored.
    pub accepted: usize,
    /// Points written to the store (a register reading can write up to three).
    pub points_written: usize,
    /// Every refused line, with the reason.
    pub refused: Vec<RefusedLine>,
}

/// A reading that passed validation, ready for conversion.
struct Valid {
    line: usize,
    meter_index: u32,
    ts: i64,
    value: f64,
}

/// Earliest accepted instant: 1990-01-01T00:00:00Z.
pub const EARLIEST_ACCEPTED_MS: i64 = 631_152_000_000;
/// How far into the future a reading may be stamped.
pub const MAX_FUTURE_MS: i64 = 2 * 86_400_000;

impl Platform {
    /// Validates, converts and durably stores `readings`. `parse_errors` are the lines the parser
    /// already refused; they are reported with the others.
    pub fn ingest(
        &self,
        readings: Vec<Reading<'_>>,
        parse_errors: Vec<LineError>,
        options: IngestOptions,
    ) -> Result<IngestReport, PlatformError> {
        let mut refused: Vec<RefusedLine> =
            parse_errors.into_iter().map(RefusedLine::from).collect();
        let mut interval_points = Vec::with_capacity(readings.len());
        let mut stateful: BTreeMap<u32, Vec<Valid>> = BTreeMap::new();
        let latest_accepted = options.received_at + MAX_FUTURE_MS;
        {
            let registry = self.registry.read();
            let mut unit_cache: HashMap<(u32, &str), Result<f64, String>> = HashMap::new();
            for reading in &readings {
                let Some((meter, target)) = registry.ingest_target(&reading.meter) else {
                    refused.push(line_error(
                        reading.line,
                        "meter",
                        format!("unknown meter '{}'", reading.meter),
                    ));
                    continue;
                };
                let series = target.series;
                let index = series.quantity / 2;
                let factor = match &reading.unit {
                    None => 1.0,
                    Some(unit) => {
                        match unit_cache
                            .entry((index, unit.as_ref()))
                            .or_insert_with(|| unit_factor(meter, unit))
                        {
                            Ok(f) => *f,
                            Err(msg) => {
                                refused.push(line_error(reading.line, "unit", msg.clone()));
                                continue;
                            }
                        }
                    }
                };
                let ts = match reading.ts.resolve(target.tz, options.received_at) {
                    Ok(ms) => ms,
                    Err(e) => {
                        refused.push(line_error(reading.line, "timestamp", e.to_string()));
                        continue;
                    }
                };
                if !(EARLIEST_ACCEPTED_MS..=latest_accepted).contains(&ts) {
                    refused.push(line_error(
                        reading.line,
                        "timestamp",
                        format!(
                            "instant {} is outside the accepted range 1990-01-01 .. now + 2 days",
                            shulv_model::format_local(ts, chrono_tz::UTC)
                        ),
                    ));
                    continue;
                }
                let value = reading.value * factor;
                if !value.is_finite() {
                    refused.push(line_error(
                        reading.line,
                        "value",
                        format!(
                            "{} {} is not finite once converted to {}",
                            reading.value,
                            reading.unit.as_deref().unwrap_or_default(),
                            meter.unit
                        ),
                    ));
                    continue;
                }
                match meter.reading {
                    ReadingKind::Interval => interval_points.push(Point {
                        series: series.quantity,
                        ts,
                        value,
                    }),
                    _ => stateful.entry(index).or_default().push(Valid {
                        line: reading.line,
                        meter_index: index,
                        ts,
                        value,
                    }),
                }
            }
        }
        if options.atomic && !refused.is_empty() {
            refused.sort_by_key(|e| e.line);
            return Ok(IngestReport {
                accepted: 0,
                points_written: 0,
                refused,
            });
        }
        let accepted_interval = interval_points.len();
        if stateful.is_empty() {
            self.store.write(&interval_points)?;
            refused.sort_by_key(|e| e.line);
            return Ok(IngestReport {
                accepted: accepted_interval,
                points_written: accepted_interval,
                refused,
            });
        }

        // Stateful meters: serialise so that neighbour look-ups see a consistent history.
        let mut state = self.stateful.lock();
        let mut points = interval_points;
        let mut accepted = accepted_interval;
        let mut new_last: HashMap<u32, (i64, f64)> = HashMap::new();
        let mut conversion_refused = Vec::new();
        {
            let registry = self.registry.read();
            for (index, mut valid) in stateful {
                valid.sort_by_key(|v| v.ts);
                let meter_id = registry.meter_id_of_index(index);
                let Some(meter) = meter_id.and_then(|id| registry.tree().meter(id)) else {
                    continue;
                };
                let replacements = registry.replacements(&meter.id);
                let series = MeterSeries::of_index(index);
                let mut history = MeterHistory {
                    store: &self.store,
                    series: series.raw,
                    last: match state.get(&index) {
                        Some(&last) => Some(last),
                        None => self.store.last_point(series.raw)?,
                    },
                    overlay: BTreeMap::new(),
                };
                for v in valid {
                    let before = points.len();
                    match convert(meter, &replacements, &mut history, &v, series, &mut points) {
                        Ok(()) => accepted += 1,
                        Err(msg) => {
                            points.truncate(before);
                            conversion_refused.push(line_error(v.line, "value", msg));
                        }
                    }
                    debug_assert_eq!(v.meter_index, index);
                }
                if let Some(last) = history.last {
                    new_last.insert(index, last);
                }
            }
        }
        if options.atomic && !conversion_refused.is_empty() {
            conversion_refused.sort_by_key(|e| e.line);
            return Ok(IngestReport {
                accepted: 0,
                points_written: 0,
                refused: conversion_refused,
            });
        }
        self.store.write(&points)?;
        state.extend(new_last);
        refused.extend(conversion_refused);
        refused.sort_by_key(|e| e.line);
        Ok(IngestReport {
            accepted,
            points_written: points.len(),
            refused,
        })
    }
}

/// A line of a batch that was not stored, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RefusedLine {
    /// 1-based line of the body (for JSON: 1-based index of the reading).
    pub line: usize,
    /// The field that is wrong, e.g. `meter`, `unit`, `timestamp`, `field value`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl From<LineError> for RefusedLine {
    fn from(e: LineError) -> Self {
        RefusedLine {
            line: e.line,
            field: e.field,
            message: e.message,
        }
    }
}

fn line_error(line: usize, field: &str, message: String) -> RefusedLine {
    RefusedLine {
        line,
        field: field.to_string(),
        message,
    }
}

/// Factor that converts a value in `unit` into the meter's unit, or why it cannot.
fn unit_factor(meter: &MeterSpec, unit: &str) -> Result<f64, String> {
    let given: Unit = unit
        .parse()
        .map_err(|e| format!("unknown unit '{unit}': {e}"))?;
    given.convert(1.0, meter.unit).map_err(|_| {
        format!(
            "unit '{unit}' does not match meter '{}' (unit {})",
            meter.id, meter.unit
        )
    })
}

/// The raw readings of one stateful meter: what the store holds plus what this batch added.
struct MeterHistory<'a> {
    store: &'a shulv_store::Store,
    series: u32,
    /// Latest raw reading (stored or in this batch).
    last: Option<(i64, f64)>,
    /// Raw readings of this batch that precede `last` (late arrivals).
    overlay: BTreeMap<i64, f64>,
}

impl MeterHistory<'_> {
    fn before(&self, ts: i64) -> Result<Option<(i64, f64)>, PlatformError> {
        let stored = self.store.last_before(self.series, ts)?;
        let batch = self.overlay.range(..ts).next_back().map(|(&t, &v)| (t, v));
        Ok(later(stored, batch))
    }

    fn after(&self, ts: i64) -> Result<Option<(i64, f64)>, PlatformError> {
        let stored = self.store.first_after(self.series, ts)?;
        let batch = self.overlay.range(ts + 1..).next().map(|(&t, &v)| (t, v));
        Ok(match (stored, batch) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        })
    }
}

fn later(a: Option<(i64, f64)>, b: Option<(i64, f64)>) -> Option<(i64, f64)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Quantity of the interval between two raw readings of `meter`, or None across a gap.
fn quantity_between(
    meter: &MeterSpec,
    replacements: &[shulv_model::Replacement],
    prev: (i64, f64),
    next: (i64, f64),
) -> Result<Option<f64>, String> {
    match meter.reading {
        ReadingKind::Cumulative => {
            shulv_model::register_delta(prev, next, meter.rollover, replacements)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        _ => Ok(shulv_model::power_energy(
            prev,
            next,
            meter.max_gap_s.unwrap_or(3600),
        )),
    }
}

/// Converts one raw reading of a stateful meter into store points.
fn convert(
    meter: &MeterSpec,
    replacements: &[shulv_model::Replacement],
    history: &mut MeterHistory<'_>,
    reading: &Valid,
    series: MeterSeries,
    points: &mut Vec<Point>,
) -> Result<(), String> {
    let now = (reading.ts, reading.value);
    let in_order = history.last.is_none_or(|last| now.0 > last.0);
    let (prev, next) = if in_order {
        (history.last, None)
    } else {
        let prev = history.before(now.0).map_err(|e| e.to_string())?;
        let next = if history.last.is_some_and(|l| l.0 == now.0) {
            None
        } else {
            history.after(now.0).map_err(|e| e.to_string())?
        };
        (prev, next)
    };
    if let Some(prev) = prev {
        if let Some(q) = quantity_between(meter, replacements, prev, now)? {
            points.push(Point {
                series: series.quantity,
                ts: prev.0,
                value: q,
            });
        }
    }
    if let Some(next) = next {
        // Across a gap there is nothing to integrate between this reading and the next.
        if let Some(q) = quantity_between(meter, replacements, now, next)? {
            points.push(Point {
                series: series.quantity,
                ts: now.0,
                value: q,
            });
        }
    }
    points.push(Point {
        series: series.raw,
        ts: now.0,
        value: now.1,
    });
    if in_order || history.last.is_some_and(|l| l.0 == now.0) {
        history.last = Some(now);
    } else {
        history.overlay.insert(now.0, now.1);
    }
    Ok(())
}
