//! Outdoor temperature (气温) as a covariate of stored-data forecasts: hourly means of an
//! `air_temperature` meter (observed weather) over the history, and over the forecast hours
//! either a second such meter (forecast weather) or the observed one (optimistic: the
//! temperatures of those hours are known only after the fact).
//!
//! The temperatures are read on one grid of local hours from the history start to the end of
//! the horizon; gaps of at most [`MAX_GAP_HOURS`] between two readings are interpolated
//! linearly (with a note), any other missing hour that a forecast needs is an error naming the
//! meter and the hour.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use shulv_model::{Bucket, Carrier};

use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// Longest run of missing temperature hours that is interpolated.
pub const MAX_GAP_HOURS: usize = 6;

/// The temperature meters a forecast is asked to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeatherRequest {
    /// Air-temperature meter with the observed weather of the history (and of the forecast
    /// hours when `forecast` is absent).
    pub observed: String,
    /// Air-temperature meter with the forecast weather of the forecast hours.
    pub forecast: Option<String>,
    /// The request fields that named the two meters, as errors and notes cite them.
    pub fields: WeatherFields,
}

/// Names of the request fields of the observed and the forecast temperature meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeatherFields {
    /// Field of [`WeatherRequest::observed`].
    pub observed: &'static str,
    /// Field of [`WeatherRequest::forecast`].
    pub forecast: &'static str,
}

impl WeatherFields {
    /// The fields of `GET /api/v1/forecast` (and `shulv forecast`).
    pub const FORECAST: WeatherFields = WeatherFields {
        observed: "temperature_meter",
        forecast: "temperature_forecast_meter",
    };
    /// The fields of `POST /api/v1/schedules`, where `temperature_meter` is the weather of
    /// the plan (which also fires a critical-peak trigger).
    pub const SCHEDULE: WeatherFields = WeatherFields {
        observed: "observed_temperature_meter",
        forecast: "temperature_meter",
    };
}

/// Which weather a forecast used, as stated in its answer and its stored record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeatherUsed {
    /// The covariate's name in the model settings (`covariates=[…]`).
    pub covariate: String,
    /// Meter of the observed temperatures (history).
    pub observed_meter: String,
    /// Meter of the forecast temperatures (forecast hours), if one was named.
    pub forecast_meter: Option<String>,
    /// Weather of the forecast hours: `forecast`, or `observed` (the temperatures measured in
    /// those hours: optimistic, a real forecast only has forecast weather).
    pub horizon_weather: String,
    /// Carriers whose forecasts were offered the temperature (a node: electricity and heat).
    #[schema(value_type = Vec<String>)]
    pub carriers: Vec<Carrier>,
    /// What was done to the temperatures (interpolated hours).
    pub notes: Vec<String>,
}

/// True for the carriers whose use follows the outdoor temperature (cooling and heating), to
/// which a node forecast applies the temperature covariate.
pub(crate) fn follows_weather(carrier: Carrier) -> bool {
    matches!(carrier, Carrier::Electricity | Carrier::Heat)
}

/// Hourly temperatures on local hours from the history start to the end of the horizon.
#[derive(Clone, Debug)]
pub(crate) struct WeatherGrid {
    /// Local time of `values[0]`.
    start: NaiveDateTime,
    /// Index of the first forecast hour.
    origin: usize,
    /// The request fields of the meters, for errors.
    fields: WeatherFields,
    /// One value per hour after filling short gaps; `None`: missing.
    values: Vec<Option<f64>>,
    /// What the answer says about the weather (its `carriers` are filled by the caller).
    pub(crate) used: WeatherUsed,
}

impl WeatherGrid {
    /// Builds the grid from hourly (local time, mean) readings of the history's meter and of the
    /// horizon's meter, `start` .. `origin` .. `origin + horizon`.
    pub(crate) fn new(
        req: &WeatherRequest,
        history: &BTreeMap<NaiveDateTime, f64>,
        horizon_values: &BTreeMap<NaiveDateTime, f64>,
        start: NaiveDateTime,
        origin: NaiveDateTime,
        horizon: usize,
    ) -> WeatherGrid {
        let at = |i: usize| start + Duration::hours(i as i64);
        let o = (origin - start).num_hours().max(0) as usize;
        let mut values: Vec<Option<f64>> = (0..o + horizon)
            .map(|i| {
                let source = if i < o { history } else { horizon_values };
                source.get(&at(i)).copied()
            })
            .collect();
        let filled = interpolate(&mut values);
        let covariate = match &req.forecast {
            Some(f) => format!("temperature(observed {}, forecast {f})", req.observed),
            None => format!("temperature(observed {})", req.observed),
        };
        let mut notes = Vec::new();
        if filled > 0 {
            notes.push(format!(
                "{filled} missing temperature hours interpolated linearly (gaps of at most {MAX_GAP_HOURS} h)"
            ));
        }
        if req.forecast.is_none() {
            notes.push(format!(
                "the forecast hours use the temperatures observed in them by '{}' (optimistic: a real forecast only has forecast weather; name {} for it)",
                req.observed, req.fields.forecast
            ));
        }
        WeatherGrid {
            start,
            origin: o,
            fields: req.fields,
            values,
            used: WeatherUsed {
                covariate,
                observed_meter: req.observed.clone(),
                forecast_meter: req.forecast.clone(),
                horizon_weather: if req.forecast.is_some() {
                    "forecast"
                } else {
                    "observed"
                }
                .into(),
                carriers: Vec::new(),
                notes,
            },
        }
    }

    /// The temperatures from `from` (local hour, at or after the grid start) to the end of the
    /// horizon, or an error naming the meter and the first missing hour.
    pub(crate) fn covariate(&self, from: NaiveDateTime) -> Result<Vec<f64>, PlatformError> {
        let skip = (from - self.start).num_hours();
        let skip = usize::try_from(skip).map_err(|_| {
            PlatformError::Invalid(format!(
                "{}: the series starts at {from}, before the temperatures read from {}",
                self.fields.observed, self.start
            ))
        })?;
        let mut out = Vec::with_capacity(self.values.len().saturating_sub(skip));
        for (i, v) in self.values.iter().enumerate().skip(skip) {
            match v {
                Some(v) => out.push(*v),
                None => return Err(self.missing(i)),
            }
        }
        Ok(out)
    }

    /// The error for a missing hour `i`.
    fn missing(&self, i: usize) -> PlatformError {
        let hour = self.start + Duration::hours(i as i64);
        let used = &self.used;
        let WeatherFields { observed, forecast } = self.fields;
        if i < self.origin {
            return PlatformError::Invalid(format!(
                "{observed}: meter '{}' has no reading in the hour {hour} of the history (gaps of up to {MAX_GAP_HOURS} h are interpolated); a later 'from' avoids it",
                used.observed_meter
            ));
        }
        match &used.forecast_meter {
            Some(f) => PlatformError::Invalid(format!(
                "{forecast}: meter '{f}' does not cover the forecast hours: no reading in the hour {hour}"
            )),
            None => PlatformError::Invalid(format!(
                "{observed}: meter '{}' does not cover the forecast hours: no reading in the hour {hour} (for forecast weather name {forecast})",
                used.observed_meter
            )),
        }
    }
}

/// Fills runs of at most [`MAX_GAP_HOURS`] missing values between two known values linearly;
/// returns the number of values filled.
fn interpolate(values: &mut [Option<f64>]) -> usize {
    let mut filled = 0;
    let mut last: Option<usize> = None;
    for i in 0..values.len() {
        let Some(b) = values[i] else { continue };
        if let Some(l) = last {
            let gap = i - l - 1;
            if (1..=MAX_GAP_HOURS).contains(&gap) {
                let a = values[l].expect("known");
                for (k, v) in values[l + 1..i].iter_mut().enumerate() {
                    let w = (k + 1) as f64 / (gap + 1) as f64;
                    *v = Some(a + (b - a) * w);
                }
                filled += gap;
            }
        }
        last = Some(i);
    }
    filled
}

impl Platform {
    /// Checks that `meter` exists and measures air temperature; `param` names the request field.
    pub(crate) fn check_temperature_meter(
        &self,
        param: &str,
        meter: &str,
    ) -> Result<(), PlatformError> {
        let carrier = self
            .with_tree(|t| t.meter(meter).map(|m| m.carrier))
            .ok_or_else(|| PlatformError::NotFound(format!("{param}: meter '{meter}'")))?;
        if carrier != Carrier::AirTemperature {
            return Err(PlatformError::Invalid(format!(
                "{param}: meter '{meter}' measures {carrier}, not air_temperature"
            )));
        }
        Ok(())
    }

    /// Hourly mean temperatures of `meter` over `[from, to)` (ms UTC) by local hour of `tz`.
    pub(crate) fn hourly_temperatures(
        &self,
        meter: &str,
        from: i64,
        to: i64,
        tz: chrono_tz::Tz,
    ) -> Result<BTreeMap<NaiveDateTime, f64>, PlatformError> {
        let answer = self.query(&QuerySpec {
            target: Target::Meter(meter.to_string()),
            from,
            to,
            bucket: Bucket::Hour,
            aggregate: Aggregate::Mean,
            carrier: None,
        })?;
        // Sum and count per local hour (the DST fall-back hour holds two UTC hours).
        let mut hours: BTreeMap<NaiveDateTime, (f64, f64)> = BTreeMap::new();
        for p in answer.series.iter().flat_map(|s| &s.points) {
            if p.count == 0 || !p.value.is_finite() {
                continue;
            }
            let t = chrono::DateTime::from_timestamp_millis(p.ts)
                .expect("timestamp in range")
                .with_timezone(&tz)
                .naive_local();
            let e = hours.entry(t).or_default();
            e.0 += p.value;
            e.1 += 1.0;
        }
        Ok(hours.into_iter().map(|(t, (s, n))| (t, s / n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2025, 7, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::hours(h)
    }

    fn grid(obs: &[(i64, f64)], fc: Option<&[(i64, f64)]>) -> WeatherGrid {
        let map = |v: &[(i64, f64)]| v.iter().map(|&(h, x)| (t(h), x)).collect();
        let observed: BTreeMap<_, _> = map(obs);
        let req = WeatherRequest {
            observed: "wx".into(),
            forecast: fc.map(|_| "wxf".into()),
            fields: WeatherFields::FORECAST,
        };
        let horizon = fc.map_or_else(|| observed.clone(), map);
        WeatherGrid::new(&req, &observed, &horizon, t(0), t(24), 24)
    }

    #[test]
    fn short_gaps_are_interpolated_and_noted() {
        let obs: Vec<(i64, f64)> = (0..48)
            .filter(|h| !(10..13).contains(h))
            .map(|h| (h, h as f64))
            .collect();
        let g = grid(&obs, None);
        let c = g.covariate(t(0)).unwrap();
        assert_eq!(c.len(), 48);
        assert!(c
            .iter()
            .enumerate()
            .all(|(i, v)| (v - i as f64).abs() < 1e-9));
        assert!(g.used.notes[0].starts_with("3 missing temperature hours"));
        assert_eq!(g.used.horizon_weather, "observed");
        assert_eq!(g.used.covariate, "temperature(observed wx)");
        // A later start takes the tail only.
        assert_eq!(g.covariate(t(30)).unwrap()[0], 30.0);
    }

    #[test]
    fn long_gaps_and_uncovered_horizons_name_the_meter_and_hour() {
        let obs: Vec<(i64, f64)> = (0..48)
            .filter(|h| !(5..12).contains(h))
            .map(|h| (h, 1.0))
            .collect();
        let e = grid(&obs, None).covariate(t(0)).unwrap_err().to_string();
        assert!(
            e.contains("meter 'wx'") && e.contains("2025-07-01 05:00:00"),
            "{e}"
        );
        // Starting after the gap is fine.
        assert!(grid(&obs, None).covariate(t(12)).is_ok());
        let short: Vec<(i64, f64)> = (0..30).map(|h| (h, 1.0)).collect();
        let e = grid(&short, None).covariate(t(0)).unwrap_err().to_string();
        assert!(
            e.contains("does not cover the forecast hours") && e.contains("2025-07-02 06:00:00"),
            "{e}"
        );
        let fc: Vec<(i64, f64)> = (24..40).map(|h| (h, 2.0)).collect();
        let g = grid(&short, Some(&fc));
        let e = g.covariate(t(0)).unwrap_err().to_string();
        assert!(
            e.starts_with("temperature_forecast_meter: meter 'wxf'")
                && e.contains("2025-07-02 16:00:00"),
            "{e}"
        );
        assert_eq!(g.used.horizon_weather, "forecast");
    }

    #[test]
    fn the_forecast_meter_supplies_the_horizon() {
        let obs: Vec<(i64, f64)> = (0..48).map(|h| (h, 1.0)).collect();
        let fc: Vec<(i64, f64)> = (0..48).map(|h| (h, 2.0)).collect();
        let c = grid(&obs, Some(&fc)).covariate(t(0)).unwrap();
        assert!(c[..24].iter().all(|&v| v == 1.0) && c[24..].iter().all(|&v| v == 2.0));
    }
}
