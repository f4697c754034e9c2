//! Stored forecasts (预测存档), compared with what happened.
//!
//! Every forecast issued for a meter or node can be kept: one JSON file per forecast in
//! `forecasts/` of the data directory, written atomically (temporary file, fsync, rename,
//! directory fsync) under one lock, with its id, target, issue time, origin, horizon, the model
//! of each series and P10/P50/P90 per hour. [`Platform::compare_forecast`] sets the stored
//! hours against the hourly sums the store holds now and scores the hours that have actuals.
//!
//! With a retention ([`crate::PlatformConfig::forecast_retention`]), forecasts issued longer
//! ago are deleted when the platform opens and whenever a forecast is stored; the newest one
//! is always kept, so that ids keep counting up and are never given twice.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shulv_model::{Bucket, Carrier};

use crate::forecasting::{ForecastAnswer, ForecastHour};
use crate::weather::WeatherUsed;
use crate::{Aggregate, Platform, PlatformError, QuerySpec, Target};

const HOUR_MS: i64 = 3_600_000;

/// A forecast as it was issued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredForecast {
    /// Id (`fc000001`, …).
    pub id: String,
    /// The meter or node id.
    pub target: String,
    /// `meter` or `node`.
    pub target_kind: String,
    /// IANA time zone of the hours.
    pub timezone: String,
    /// When it was issued (RFC 3339, UTC).
    pub issued_at: String,
    /// Who issued it (the credential's actor).
    pub issued_by: String,
    /// The first forecast hour (RFC 3339, local offset) = the end of the history.
    pub origin: String,
    /// The first forecast hour (ms UTC).
    pub origin_ms: i64,
    /// Start of the history used.
    pub history_from: String,
    /// Hours forecast.
    pub horizon: usize,
    /// The model asked for (`auto`, `ridge`, …).
    pub model_requested: String,
    /// Node forecasts: how P10/P90 were combined.
    pub intervals: Option<String>,
    /// How the numbers were made.
    pub method: String,
    /// The temperature covariate and the weather of the forecast hours (absent: none; also in
    /// forecasts stored before weather covariates existed).
    #[serde(default)]
    pub weather: Option<WeatherUsed>,
    /// One forecast per carrier.
    pub series: Vec<StoredSeries>,
}

/// One carrier's forecast as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredSeries {
    /// Energy carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Unit of every value.
    pub unit: String,
    /// Concrete model used (`mixed` when a node's meters used different ones).
    pub model: String,
    /// The model with its settings (a meter).
    pub settings: Option<String>,
    /// Meters summed (a node; 1 for a meter).
    pub meters: usize,
    /// P10/P50/P90 per hour.
    pub hours: Vec<ForecastHour>,
    /// Cleaning and model notes.
    pub notes: Vec<String>,
}

/// A stored forecast in a list (without its hours).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastSummary {
    /// Id.
    pub id: String,
    /// The meter or node id.
    pub target: String,
    /// `meter` or `node`.
    pub target_kind: String,
    /// When it was issued (RFC 3339, UTC).
    pub issued_at: String,
    /// The first forecast hour (RFC 3339, local offset).
    pub origin: String,
    /// Hours forecast.
    pub horizon: usize,
    /// The model asked for.
    pub model_requested: String,
    /// `carrier: model` of each series.
    pub models: Vec<String>,
    /// The temperature covariate and the weather of the forecast hours, if any.
    pub weather: Option<WeatherUsed>,
}

/// A stored forecast with the actual values of its hours and its scores.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ForecastComparison {
    /// The forecast as issued (hours of each series in `series` below).
    pub forecast: ForecastSummary,
    /// IANA time zone of the hours.
    pub timezone: String,
    /// Who issued it.
    pub issued_by: String,
    /// How the numbers were made.
    pub method: String,
    /// What counts as an actual, and what the scores mean.
    pub scoring: String,
    /// One comparison per carrier.
    pub series: Vec<ComparedSeries>,
}

/// One carrier's forecast against its actuals.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ComparedSeries {
    /// Energy carrier.
    #[schema(value_type = String)]
    pub carrier: Carrier,
    /// Unit of every value.
    pub unit: String,
    /// Concrete model used.
    pub model: String,
    /// The model with its settings (a meter).
    pub settings: Option<String>,
    /// Every forecast hour with its actual value where the store has one.
    pub hours: Vec<ComparedHour>,
    /// Scores over the hours with actuals.
    pub scores: Scores,
    /// Notes of the forecast.
    pub notes: Vec<String>,
}

/// A forecast hour and what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComparedHour {
    /// Start of the hour (RFC 3339, local offset).
    pub start: String,
    /// Start of the hour (ms UTC).
    pub ts: i64,
    /// 10 % quantile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90 % quantile.
    pub p90: f64,
    /// The stored hourly sum, if the store has readings in that hour.
    pub actual: Option<f64>,
}

/// Scores of P50 and of the P10–P90 interval over the hours with actuals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scores {
    /// Hours forecast.
    pub hours: usize,
    /// Hours with an actual value (the scores are over these).
    pub hours_with_actuals: usize,
    /// Mean absolute percentage error, %, over the hours whose actual is not zero.
    pub mape: Option<f64>,
    /// Hours skipped by MAPE because the actual is zero.
    pub zero_actuals: usize,
    /// Weighted absolute percentage error Σ|P50 − y| / Σ|y|, %.
    pub wape: Option<f64>,
    /// Mean of P50 − y, in the series' unit (positive: the forecast was too high).
    pub bias: Option<f64>,
    /// Σ(P50 − y) / Σ|y|, % (positive: too high).
    pub bias_pct: Option<f64>,
    /// Share of actuals inside [P10, P90], % (nominal 80 %).
    pub coverage_p10_p90: Option<f64>,
}

/// Scores `hours` over those with an actual (see [`Scores`]).
pub fn score(hours: &[ComparedHour]) -> Scores {
    let pairs: Vec<(&ComparedHour, f64)> = hours
        .iter()
        .filter_map(|h| h.actual.map(|a| (h, a)))
        .collect();
    let mut s = Scores {
        hours: hours.len(),
        hours_with_actuals: pairs.len(),
        ..Scores::default()
    };
    if pairs.is_empty() {
        return s;
    }
    let n = pairs.len() as f64;
    let abs_y: f64 = pairs.iter().map(|(_, y)| y.abs()).sum();
    let abs_e: f64 = pairs.iter().map(|(h, y)| (h.p50 - y).abs()).sum();
    let e: f64 = pairs.iter().map(|(h, y)| h.p50 - y).sum();
    let nonzero: Vec<f64> = pairs
        .iter()
        .filter(|(_, y)| *y != 0.0)
        .map(|(h, y)| ((h.p50 - y) / y).abs())
        .collect();
    s.zero_actuals = pairs.len() - nonzero.len();
    s.mape =
        (!nonzero.is_empty()).then(|| 100.0 * nonzero.iter().sum::<f64>() / nonzero.len() as f64);
    s.wape = (abs_y > 0.0).then(|| 100.0 * abs_e / abs_y);
    s.bias = Some(e / n);
    s.bias_pct = (abs_y > 0.0).then(|| 100.0 * e / abs_y);
    let inside = pairs
        .iter()
        .filter(|(h, y)| h.p10 <= *y && *y <= h.p90)
        .count();
    s.coverage_p10_p90 = Some(100.0 * inside as f64 / n);
    s
}

/// The stored forecasts: `forecasts/<id>.json`, all held in memory.
pub(crate) struct ForecastBook {
    dir: PathBuf,
    list: Vec<StoredForecast>,
    /// Forecasts issued longer ago than this are deleted (none: kept for ever).
    retention: Option<std::time::Duration>,
}

impl ForecastBook {
    /// Folder of the data directory that holds the forecasts.
    pub(crate) const DIR: &'static str = "forecasts";

    pub(crate) fn open(
        data_dir: &Path,
        retention: Option<std::time::Duration>,
    ) -> Result<Self, PlatformError> {
        let dir = data_dir.join(Self::DIR);
        let mut list = Vec::new();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry
                        .map_err(|e| PlatformError::Io(format!("{}: {e}", dir.display())))?
                        .path();
                    if path.extension().is_none_or(|x| x != "json") {
                        continue;
                    }
                    let bytes = std::fs::read(&path)
                        .map_err(|e| PlatformError::Io(format!("{}: {e}", path.display())))?;
                    let f: StoredForecast = serde_json::from_slice(&bytes)
                        .map_err(|e| PlatformError::Corrupt(format!("{}: {e}", path.display())))?;
                    list.push(f);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(PlatformError::Io(format!("{}: {e}", dir.display()))),
        }
        list.sort_by(|a, b| a.id.cmp(&b.id));
        let mut book = ForecastBook {
            dir,
            list,
            retention,
        };
        book.prune(chrono::Utc::now())?;
        Ok(book)
    }

    /// Deletes the forecasts issued before `now` minus the retention, except the newest;
    /// returns how many were deleted. On an error the list still holds every file not deleted.
    fn prune(&mut self, now: chrono::DateTime<chrono::Utc>) -> Result<usize, PlatformError> {
        let Some(retention) = self.retention else {
            return Ok(0);
        };
        let cutoff = now - chrono::Duration::from_std(retention).unwrap_or(chrono::TimeDelta::MAX);
        let newest = self.list.iter().filter_map(|f| id_number(&f.id)).max();
        let mut expired = Vec::new();
        for f in &self.list {
            let issued = chrono::DateTime::parse_from_rfc3339(&f.issued_at).map_err(|e| {
                PlatformError::Corrupt(format!("forecast {}: issued_at: {e}", f.id))
            })?;
            if issued < cutoff && id_number(&f.id) != newest {
                expired.push(f.id.clone());
            }
        }
        let mut deleted = std::collections::HashSet::new();
        let mut failure = None;
        for id in expired {
            let path = self.dir.join(format!("{id}.json"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    failure = Some(PlatformError::Io(format!("{}: {e}", path.display())));
                    break;
                }
            }
            deleted.insert(id);
        }
        self.list.retain(|f| !deleted.contains(&f.id));
        match failure {
            Some(e) => Err(e),
            None => Ok(deleted.len()),
        }
    }

    fn next_id(&self) -> String {
        let n = self
            .list
            .iter()
            .filter_map(|f| id_number(&f.id))
            .max()
            .unwrap_or(0);
        format!("fc{:06}", n + 1)
    }
}

/// The number of a forecast id (`fc000042` → 42).
fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix("fc")?.parse().ok()
}

impl Platform {
    /// Stores a forecast as issued by `issued_by`; returns its id.
    pub fn store_forecast(
        &self,
        answer: &ForecastAnswer,
        issued_by: &str,
    ) -> Result<String, PlatformError> {
        let tz: chrono_tz::Tz = answer
            .timezone
            .parse()
            .map_err(|_| PlatformError::Invalid(format!("time zone {}", answer.timezone)))?;
        let origin_ms = answer
            .series
            .first()
            .and_then(|s| s.hours.first())
            .map(|h| h.ts)
            .ok_or_else(|| PlatformError::Invalid("an empty forecast is not stored".into()))?;
        let mut book = self.forecasts.lock();
        let stored = StoredForecast {
            id: book.next_id(),
            target: answer.target.clone(),
            target_kind: answer.target_kind.clone(),
            timezone: answer.timezone.clone(),
            issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            issued_by: issued_by.into(),
            origin: shulv_model::format_local(origin_ms, tz),
            origin_ms,
            history_from: answer.history_from.clone(),
            horizon: answer.horizon,
            model_requested: answer.model_requested.clone(),
            intervals: answer.intervals.clone(),
            method: answer.method.clone(),
            weather: answer.weather.clone(),
            series: answer
                .series
                .iter()
                .map(|s| StoredSeries {
                    carrier: s.carrier,
                    unit: s.unit.clone(),
                    model: s.model.clone(),
                    settings: s.settings.clone(),
                    meters: s.meters.len().max(1),
                    hours: s.hours.clone(),
                    notes: s.cleaning.iter().chain(&s.notes).cloned().collect(),
                })
                .collect(),
        };
        std::fs::create_dir_all(&book.dir)
            .map_err(|e| PlatformError::Io(format!("{}: {e}", book.dir.display())))?;
        let bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|e| PlatformError::Io(format!("encoding forecast {}: {e}", stored.id)))?;
        let path = book.dir.join(format!("{}.json", stored.id));
        crate::registry::write_atomically(&path, &bytes)?;
        let id = stored.id.clone();
        book.list.push(stored);
        book.prune(chrono::Utc::now())?;
        Ok(id)
    }

    /// Every stored forecast, oldest first.
    pub fn stored_forecasts(&self) -> Vec<StoredForecast> {
        self.forecasts.lock().list.clone()
    }

    /// One stored forecast.
    pub fn stored_forecast(&self, id: &str) -> Result<StoredForecast, PlatformError> {
        self.forecasts
            .lock()
            .list
            .iter()
            .find(|f| f.id == id)
            .cloned()
            .ok_or_else(|| PlatformError::NotFound(format!("forecast '{id}'")))
    }

    /// A stored forecast against the hourly sums stored now for its target (a node: the sum of
    /// every meter of the carrier below it), scored over the hours that have actuals.
    pub fn compare_forecast(&self, id: &str) -> Result<ForecastComparison, PlatformError> {
        let f = self.stored_forecast(id)?;
        let target = match f.target_kind.as_str() {
            "meter" => Target::Meter(f.target.clone()),
            _ => Target::Node(f.target.clone()),
        };
        let mut series = Vec::new();
        for s in &f.series {
            let answer = self.query(&QuerySpec {
                target: target.clone(),
                from: f.origin_ms,
                to: f.origin_ms + f.horizon as i64 * HOUR_MS,
                bucket: Bucket::Hour,
                aggregate: Aggregate::Sum,
                carrier: (f.target_kind == "node").then_some(s.carrier),
            })?;
            let actual: std::collections::HashMap<i64, f64> = answer
                .series
                .iter()
                .filter(|a| a.carrier == s.carrier && a.unit == s.unit)
                .flat_map(|a| &a.points)
                .filter(|p| p.count > 0)
                .map(|p| (p.ts, p.value))
                .collect();
            let hours: Vec<ComparedHour> = s
                .hours
                .iter()
                .map(|h| ComparedHour {
                    start: h.start.clone(),
                    ts: h.ts,
                    p10: h.p10,
                    p50: h.p50,
                    p90: h.p90,
                    actual: actual.get(&h.ts).copied(),
                })
                .collect();
            series.push(ComparedSeries {
                carrier: s.carrier,
                unit: s.unit.clone(),
                model: s.model.clone(),
                settings: s.settings.clone(),
                scores: score(&hours),
                hours,
                notes: s.notes.clone(),
            });
        }
        Ok(ForecastComparison {
            forecast: summary(&f),
            timezone: f.timezone.clone(),
            issued_by: f.issued_by.clone(),
            method: f.method.clone(),
            scoring: "actual = the hourly sum the store holds now for the target (a node: every meter of the carrier below it, also meters the forecast skipped); an hour without readings has no actual (the newest hour may still be incomplete); scores over the hours with actuals: MAPE skips zero actuals, WAPE = Σ|P50 − y|/Σ|y|, bias = mean(P50 − y) (positive: forecast too high), coverage = share of actuals inside [P10, P90] (nominal 80 %)".into(),
            series,
        })
    }
}

/// The list entry of a stored forecast.
pub fn summary(f: &StoredForecast) -> ForecastSummary {
    ForecastSummary {
        id: f.id.clone(),
        target: f.target.clone(),
        target_kind: f.target_kind.clone(),
        issued_at: f.issued_at.clone(),
        origin: f.origin.clone(),
        horizon: f.horizon,
        model_requested: f.model_requested.clone(),
        models: f
            .series
            .iter()
            .map(|s| format!("{}: {}", s.carrier, s.model))
            .collect(),
        weather: f.weather.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(p10: f64, p50: f64, p90: f64, actual: Option<f64>) -> ComparedHour {
        ComparedHour {
            start: String::new(),
            ts: 0,
            p10,
            p50,
            p90,
            actual,
        }
    }

    /// A stored forecast with id `fc{n:06}` issued at `issued`.
    fn stored(n: u64, issued: chrono::DateTime<chrono::Utc>) -> StoredForecast {
        StoredForecast {
            id: format!("fc{n:06}"),
            target: "m".into(),
            target_kind: "meter".into(),
            timezone: "Asia/Shanghai".into(),
            issued_at: issued.to_rfc3339(),
            issued_by: "test".into(),
            origin: String::new(),
            origin_ms: 0,
            history_from: String::new(),
            horizon: 24,
            model_requested: "naive24".into(),
            intervals: None,
            method: String::new(),
            weather: None,
            series: Vec::new(),
        }
    }

    #[test]
    fn retention_deletes_old_forecasts_but_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let forecasts = dir.path().join(ForecastBook::DIR);
        std::fs::create_dir_all(&forecasts).unwrap();
        let now = chrono::Utc::now();
        let day = chrono::Duration::days(1);
        for (n, age) in [(1, 40), (2, 10), (3, 50)] {
            let f = stored(n, now - day * age);
            std::fs::write(
                forecasts.join(format!("{}.json", f.id)),
                serde_json::to_vec(&f).unwrap(),
            )
            .unwrap();
        }
        // Kept for ever without a retention.
        assert_eq!(ForecastBook::open(dir.path(), None).unwrap().list.len(), 3);
        // 30 days: fc000001 goes; fc000003 is older but the newest id, so it stays.
        let month = std::time::Duration::from_secs(30 * 86_400);
        let mut book = ForecastBook::open(dir.path(), Some(month)).unwrap();
        let ids: Vec<&str> = book.list.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["fc000002", "fc000003"]);
        assert!(!forecasts.join("fc000001.json").exists());
        assert_eq!(book.next_id(), "fc000004");
        // A year later only the newest is left.
        assert_eq!(book.prune(now + day * 365).unwrap(), 1);
        assert_eq!(book.list.len(), 1);
        assert_eq!(book.next_id(), "fc000004");
    }

    #[test]
    fn scores_are_over_the_hours_with_actuals() {
        let hours = [
            hour(8.0, 10.0, 12.0, Some(11.0)), // inside, e = -1
            hour(8.0, 10.0, 12.0, Some(5.0)),  // outside, e = +5
            hour(-1.0, 0.0, 1.0, Some(0.0)),   // zero actual: skipped by MAPE, inside
            hour(8.0, 10.0, 12.0, None),       // not yet happened
        ];
        let s = score(&hours);
        assert_eq!((s.hours, s.hours_with_actuals, s.zero_actuals), (4, 3, 1));
        let mape = 100.0 * (1.0 / 11.0 + 5.0 / 5.0) / 2.0;
        assert!((s.mape.unwrap() - mape).abs() < 1e-12);
        assert!((s.wape.unwrap() - 100.0 * 6.0 / 16.0).abs() < 1e-12);
        assert!((s.bias.unwrap() - 4.0 / 3.0).abs() < 1e-12);
        assert!((s.bias_pct.unwrap() - 100.0 * 4.0 / 16.0).abs() < 1e-12);
        assert!((s.coverage_p10_p90.unwrap() - 200.0 / 3.0).abs() < 1e-12);
        let none = score(&hours[3..]);
        assert_eq!(none.hours_with_actuals, 0);
        assert!(none.mape.is_none() && none.wape.is_none() && none.coverage_p10_p90.is_none());
    }
}
