//! The demo park's years from its base year (2025) up to now, built as they are needed, and
//! the value a meter shows at any instant (for the simulated devices).

use std::collections::HashMap;
use std::sync::Arc;

use shulv_demo::DemoPark;

/// A meter's readings in time order: (ms UTC, value).
type Readings = Arc<Vec<(i64, f64)>>;

/// The park year by year; a year is built the first time an instant inside it is asked for.
pub struct Timeline {
    years: Vec<DemoPark>,
    /// Readings by (year index, meter id), for the meters the simulated devices show.
    readings: HashMap<(usize, String), Readings>,
}

impl Timeline {
    /// The base year only.
    pub fn new() -> Self {
        Timeline {
            years: vec![DemoPark::new()],
            readings: HashMap::new(),
        }
    }

    /// The years from the base year through the one holding `until_ms` (at least the base year).
    pub fn years_until(&mut self, until_ms: i64) -> &[DemoPark] {
        while self.years.last().is_some_and(|p| p.end() <= until_ms) {
            let next = self.years.last().expect("the base year").next_year();
            self.years.push(next);
        }
        &self.years
    }

    /// The value `meter` shows at `at_ms`: interpolated between its readings around it (a
    /// register rises steadily between quarter hours, a power sample drifts to the next);
    /// `None` before the base year or for an unknown meter.
    pub fn value_at(&mut self, meter: &str, at_ms: i64) -> Option<f64> {
        let year = self
            .years_until(at_ms)
            .iter()
            .position(|p| p.end() > at_ms)?;
        let park = &self.years[year];
        let readings = self
            .readings
            .entry((year, meter.to_string()))
            .or_insert_with(|| Arc::new(park.readings(meter)))
            .clone();
        let after = readings.partition_point(|r| r.0 <= at_ms);
        let (t0, v0) = *readings.get(after.checked_sub(1)?)?;
        let Some(&(t1, v1)) = readings.get(after) else {
            return Some(v0);
        };
        Some(v0 + (v1 - v0) * (at_ms - t0) as f64 / (t1 - t0) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_readings_across_the_new_year() {
        let mut t = Timeline::new();
        let meter = "ent07.cold1.elec";
        let base = DemoPark::new();
        let readings = base.readings(meter);
        let (a, b) = (readings[100], readings[101]);
        assert_eq!(t.value_at(meter, a.0), Some(a.1));
        let mid = t.value_at(meter, (a.0 + b.0) / 2).unwrap();
        assert!((mid - (a.1 + b.1) / 2.0).abs() < 1e-6);
        assert_eq!(t.value_at(meter, base.start() - 1), None);
        assert_eq!(t.value_at("nope", a.0), None);
        // Into the next year, the register keeps rising.
        let end = base.end();
        let (before, after) = (
            t.value_at(meter, end - 60_000).unwrap(),
            t.value_at(meter, end + 3_600_000).unwrap(),
        );
        assert!(after > before, "{before} then {after}");
        assert_eq!(t.years_until(end).len(), 2);
    }
}
