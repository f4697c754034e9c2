//! Reading a load series from a CSV file for backtests.
//!
//! The time is either one column (`2024-01-01 13:00:00`, `2024-01-01T13:00`, RFC 3339 with an
//! offset, which keeps the local wall-clock time, or `2024/1/1 13:00`), or a date column plus
//! an hour-ending column (`1`…`24`, as in GEFCom: hour 1 is 00:00–01:00). Empty values are
//! missing; anything else that is not a number is an error naming the file, line and column.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};

use crate::ForecastError;

/// Which columns to read.
#[derive(Debug, Clone, Default)]
pub struct CsvColumns {
    /// Time column (or the date column when `hour_column` is set).
    pub time: String,
    /// Hour-ending column (1…24) to combine with a date column.
    pub hour: Option<String>,
    /// Value column (the load).
    pub value: String,
    /// Covariate columns (e.g. temperature).
    pub covariates: Vec<String>,
}

/// Readings of a CSV file: times, values (NaN = missing) and covariates by name.
#[derive(Debug, Clone, Default)]
pub struct CsvSeries {
    /// Local times (start of the hour the value covers).
    pub times: Vec<NaiveDateTime>,
    /// Values, NaN where empty.
    pub values: Vec<f64>,
    /// Covariates by name, NaN where empty.
    pub covariates: Vec<(String, Vec<f64>)>,
}

impl CsvSeries {
    /// Each covariate's hourly means over the `hours` hours after `after` (the last observed
    /// hour), from the rows after it: a forecast's covariates for its lead and horizon, given
    /// as rows with an empty value. An hour without a covariate value is an error naming it.
    pub fn covariates_after(
        &self,
        after: NaiveDateTime,
        hours: usize,
    ) -> Result<Vec<(String, Vec<f64>)>, ForecastError> {
        self.covariates
            .iter()
            .map(|(name, values)| {
                let mut sums = vec![(0.0, 0usize); hours];
                for (t, v) in self.times.iter().zip(values) {
                    let k = (*t - after).num_minutes().div_euclid(60) - 1;
                    if (0..hours as i64).contains(&k) && v.is_finite() {
                        let slot = &mut sums[k as usize];
                        *slot = (slot.0 + v, slot.1 + 1);
                    }
                }
                let means = sums
                    .iter()
                    .enumerate()
                    .map(|(k, &(sum, count))| {
                        if count == 0 {
                            return Err(ForecastError::Covariate {
                                name: name.clone(),
                                message: format!(
                                    "no value for {} (the lead and horizon need one per hour, in rows after the last value)",
                                    after + Duration::hours(k as i64 + 1)
                                ),
                            });
                        }
                        Ok(sum / count as f64)
                    })
                    .collect::<Result<Vec<f64>, _>>()?;
                Ok((name.clone(), means))
            })
            .collect()
    }
}

const DATETIME_FORMATS: [&str; 6] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
];
const DATE_FORMATS: [&str; 3] = ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"];

/// Parses a local date-time in one of the accepted forms.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local());
    }
    DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s.trim(), f).ok())
}

/// Reads the columns of a CSV file with a header line.
pub fn read_csv(path: &Path, cols: &CsvColumns) -> Result<CsvSeries, ForecastError> {
    let file = path.display();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| ForecastError::Input(format!("{file}: {e}")))?;
    let header = rdr
        .headers()
        .map_err(|e| ForecastError::Input(format!("{file}: header: {e}")))?
        .clone();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| {
                ForecastError::Input(format!(
                    "{file}: no column {name:?} (columns: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ))
            })
    };
    let time_i = find(&cols.time)?;
    let hour_i = cols.hour.as_deref().map(find).transpose()?;
    let value_i = find(&cols.value)?;
    let cov_i: Vec<usize> = cols
        .covariates
        .iter()
        .map(|c| find(c))
        .collect::<Result<_, _>>()?;
    let mut out = CsvSeries {
        covariates: cols
            .covariates
            .iter()
            .map(|c| (c.clone(), Vec::new()))
            .collect(),
        ..CsvSeries::default()
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| ForecastError::Input(format!("{file}: {e}")))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| {
            rec.get(i).ok_or_else(|| {
                ForecastError::Input(format!("{file}:{line}: column {name:?} is missing"))
            })
        };
        let bad = |name: &str, v: &str, what: &str| {
            ForecastError::Input(format!(
                "{file}:{line}: column {name:?}: {v:?} is not {what}"
            ))
        };
        let tv = field(time_i, &cols.time)?;
        let t = match (hour_i, &cols.hour) {
            (Some(hi), Some(hname)) => {
                let d = parse_date(tv).ok_or_else(|| bad(&cols.time, tv, "a date"))?;
                let hv = field(hi, hname)?;
                let h: i64 = hv
                    .trim()
                    .parse()
                    .ok()
                    .filter(|h| (1..=24).contains(h))
                    .ok_or_else(|| bad(hname, hv, "an hour ending 1…24"))?;
                d.and_hms_opt(0, 0, 0).expect("midnight") + Duration::hours(h - 1)
            }
            _ => parse_time(tv).ok_or_else(|| bad(&cols.time, tv, "a date-time"))?,
        };
        let num = |i: usize, name: &str| -> Result<f64, ForecastError> {
            let v = field(i, name)?.trim();
            if v.is_empty() {
                return Ok(f64::NAN);
            }
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(name, v, "a finite number"))
        };
        out.times.push(t);
        out.values.push(num(value_i, &cols.value)?);
        for (k, &ci) in cov_i.iter().enumerate() {
            let v = num(ci, &cols.covariates[k])?;
            out.covariates[k].1.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_date_and_hour_ending_columns() {
        let f = write("Date,Hour,load,T\n2014/1/1,1,100,30\n2014/1/1,24,,31.5\n");
        let cols = CsvColumns {
            time: "Date".into(),
            hour: Some("Hour".into()),
            value: "load".into(),
            covariates: vec!["T".into()],
        };
        let s = read_csv(f.path(), &cols).unwrap();
        assert_eq!(s.times[0].to_string(), "2014-01-01 00:00:00");
        assert_eq!(s.times[1].to_string(), "2014-01-01 23:00:00");
        assert_eq!(s.values[0], 100.0);
        assert!(s.values[1].is_nan());
        assert_eq!(s.covariates[0].1, vec![30.0, 31.5]);
    }

    #[test]
    fn covariates_after_the_last_value_are_hourly_means() {
        let f = write(
            "Datetime,MW,T\n2018-01-01 00:00,5,1\n2018-01-01 01:00,,2\n2018-01-01 01:30,,4\n2018-01-01 02:00,,6\n",
        );
        let cols = CsvColumns {
            time: "Datetime".into(),
            value: "MW".into(),
            covariates: vec!["T".into()],
            ..CsvColumns::default()
        };
        let s = read_csv(f.path(), &cols).unwrap();
        let last = parse_time("2018-01-01 00:00").unwrap();
        let c = s.covariates_after(last, 2).unwrap();
        assert_eq!(c, vec![("T".to_string(), vec![3.0, 6.0])]);
        let e = s.covariates_after(last, 3).unwrap_err().to_string();
        assert!(
            e.contains("covariate T") && e.contains("2018-01-01 03:00:00"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_file_line_and_column() {
        let f = write("Datetime,MW\n2018-01-01 00:00:00,5\n2018-01-01 01:00:00,abc\n");
        let cols = CsvColumns {
            time: "Datetime".into(),
            value: "MW".into(),
            ..CsvColumns::default()
        };
        let e = read_csv(f.path(), &cols).unwrap_err().to_string();
        assert!(
            e.contains(":3: column \"MW\": \"abc\" is not a finite number"),
            "{e}"
        );
        let cols = CsvColumns {
            time: "Time".into(),
            value: "MW".into(),
            ..CsvColumns::default()
        };
        let e = read_csv(f.path(), &cols).unwrap_err().to_string();
        assert!(e.contains("no column \"Time\""), "{e}");
    }
}
