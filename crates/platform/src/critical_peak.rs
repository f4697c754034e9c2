//! Temperature-triggered critical peaks (尖峰): the days on which a tariff's
//! `critical_peak.temperature_trigger_c` fires, read from a stored air-temperature series
//! (an ordinary meter with carrier `air_temperature`, observed or forecast), so bills and
//! schedules need no hand-named `critical_days`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone};
use serde::Serialize;
use shulv_model::{Bucket, Carrier};
use shulv_tariff::Tariff;

use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

/// How a tariff's temperature trigger was evaluated on a stored temperature series.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TemperatureTrigger {
    /// The air-temperature meter read.
    pub meter: String,
    /// The tariff's trigger: a day's maximum at or above it is a critical-peak day, ℃.
    pub trigger_c: f64,
    /// The station the tariff names (`critical_peak.temperature_station`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Every day of the range with readings, in the tariff's time zone.
    pub days: Vec<DayMaximum>,
    /// Days of the range without any reading: the trigger cannot fire on them.
    pub days_without_data: Vec<String>,
}

/// The maximum temperature of one day.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DayMaximum {
    /// Date (`YYYY-MM-DD`, tariff time zone).
    pub date: String,
    /// Highest reading of the day, ℃.
    pub max_c: f64,
    /// The day reached the trigger.
    pub triggered: bool,
}

impl TemperatureTrigger {
    /// The days on which the trigger fired.
    pub fn triggered_days(&self) -> BTreeSet<NaiveDate> {
        self.days
            .iter()
            .filter(|d| d.triggered)
            .filter_map(|d| NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok())
            .collect()
    }
}

impl Platform {
    /// The critical-peak days of `[from, to)`: the caller's, plus those on which the tariff's
    /// temperature trigger fires on the stored `temperature_meter`.
    pub(crate) fn critical_days_of(
        &self,
        tariff: &Tariff,
        named: &BTreeSet<NaiveDate>,
        temperature_meter: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<(BTreeSet<NaiveDate>, Option<TemperatureTrigger>), PlatformError> {
        let mut days = named.clone();
        let trigger = match temperature_meter {
            None => None,
            Some(meter) => {
                let t = self.temperature_trigger(tariff, meter, from, to)?;
                days.extend(t.triggered_days());
                Some(t)
            }
        };
        Ok((days, trigger))
    }

    /// Evaluates `tariff`'s temperature trigger on the stored readings of `meter` (carrier
    /// `air_temperature`) over the tariff-local days that overlap `[from, to)` (ms UTC).
    pub(crate) fn temperature_trigger(
        &self,
        tariff: &Tariff,
        meter: &str,
        from: i64,
        to: i64,
    ) -> Result<TemperatureTrigger, PlatformError> {
        let rule = tariff
            .file()
            .critical_peak
            .as_ref()
            .filter(|c| c.temperature_trigger_c.is_some())
            .ok_or_else(|| {
                PlatformError::Invalid(format!(
                    "temperature_meter: tariff {} {} has no temperature-triggered critical peak \
                     (critical_peak.temperature_trigger_c)",
                    tariff.id(),
                    tariff.version()
                ))
            })?;
        let trigger_c = rule.temperature_trigger_c.unwrap_or(f64::INFINITY);
        let carrier = self
            .with_tree(|t| t.meter(meter).map(|m| m.carrier))
            .ok_or_else(|| PlatformError::NotFound(format!("meter '{meter}'")))?;
        if carrier != Carrier::AirTemperature {
            return Err(PlatformError::Invalid(format!(
                "temperature_meter: meter '{meter}' measures {carrier}, not air_temperature"
            )));
        }
        let tz = tariff.timezone();
        let local_date = |ms: i64| tz.timestamp_millis_opt(ms).single().map(|d| d.date_naive());
        let (Some(first), Some(last)) = (local_date(from), local_date(to - 1)) else {
            return Err(PlatformError::Invalid(format!(
                "temperature_meter: range {from}..{to} is not a valid time range"
            )));
        };
        let answer = self.query(&QuerySpec {
            target: Target::Meter(meter.to_string()),
            from,
            to,
            bucket: Bucket::Hour,
            aggregate: Aggregate::Max,
            carrier: None,
        })?;
        let mut maxima: BTreeMap<NaiveDate, f64> = BTreeMap::new();
        for p in answer.series.iter().flat_map(|s| &s.points) {
            if p.count == 0 || !p.value.is_finite() {
                continue;
            }
            if let Some(d) = local_date(p.ts) {
                let m = maxima.entry(d).or_insert(f64::NEG_INFINITY);
                *m = m.max(p.value);
            }
        }
        let days_without_data = first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter(|d| !maxima.contains_key(d))
            .map(|d| d.to_string())
            .collect();
        let days = maxima
            .into_iter()
            .map(|(date, max_c)| DayMaximum {
                date: date.to_string(),
                max_c,
                triggered: max_c >= trigger_c,
            })
            .collect();
        Ok(TemperatureTrigger {
            meter: meter.to_string(),
            trigger_c,
            station: rule.temperature_station.clone(),
            days,
            days_without_data,
        })
    }
}
