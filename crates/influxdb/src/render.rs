//! Answers written as InfluxDB 1.8 writes them: JSON (whole or chunked) and CSV.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::result::{Cell, Series, StatementResult};

/// How times are written: RFC 3339 text, or integers since the epoch in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// RFC 3339 text (`2025-03-01T00:00:00Z`), the default.
    Rfc3339,
    /// Integers in this many ms per unit; `nanos` for ns and µs.
    Integer {
        /// Nanoseconds per unit.
        nanos: i64,
    },
}

impl std::str::FromStr for Epoch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let nanos = match s {
            "ns" | "n" => 1,
            "u" | "µ" | "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(format!(
                    "epoch '{other}' is not one of ns, u, µ, ms, s, m, h"
                ))
            }
        };
        Ok(Epoch::Integer { nanos })
    }
}

impl Epoch {
    fn time(self, ms: i64, series: &Series) -> Value {
        match self {
            Epoch::Integer { nanos } => json!(integer_time(ms, nanos)),
            Epoch::Rfc3339 => json!(rfc3339(ms, series)),
        }
    }
}

fn integer_time(ms: i64, nanos: i64) -> i64 {
    if nanos < 1_000_000 {
        ms.saturating_mul(1_000_000 / nanos)
    } else {
        ms.div_euclid(nanos / 1_000_000)
    }
}

fn rfc3339(ms: i64, series: &Series) -> String {
    let Some(utc) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return ms.to_string();
    };
    let format = if ms % 1000 == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::AutoSi
    };
    match series.tz {
        Some(tz) => utc.with_timezone(&tz).to_rfc3339_opts(format, true),
        None => utc.to_rfc3339_opts(format, true),
    }
}

fn cell(c: &Cell, epoch: Epoch, series: &Series) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Time(ms) => epoch.time(*ms, series),
        Cell::Float(v) => json!(v),
        Cell::Integer(i) => json!(i),
        Cell::Text(s) => json!(s),
        Cell::Bool(b) => json!(b),
    }
}

fn series_json(s: &Series, rows: &[Vec<Cell>], epoch: Epoch, partial: bool) -> Value {
    let mut m = Map::new();
    if let Some(name) = &s.name {
        m.insert("name".into(), json!(name));
    }
    if !s.tags.is_empty() {
        m.insert("tags".into(), json!(s.tags));
    }
    m.insert("columns".into(), json!(s.columns));
    let values: Vec<Value> = rows
        .iter()
        .map(|r| Value::Array(r.iter().map(|c| cell(c, epoch, s)).collect()))
        .collect();
    m.insert("values".into(), Value::Array(values));
    if partial {
        m.insert("partial".into(), json!(true));
    }
    Value::Object(m)
}

fn result_json(r: &StatementResult, series: Vec<Value>, partial: bool) -> Value {
    let mut m = Map::new();
    m.insert("statement_id".into(), json!(r.statement_id));
    if let Some(e) = &r.error {
        m.insert("error".into(), json!(e));
    } else if !series.is_empty() {
        m.insert("series".into(), Value::Array(series));
    }
    if partial {
        m.insert("partial".into(), json!(true));
    }
    Value::Object(m)
}

/// The whole answer as one JSON document.
pub fn json(results: &[StatementResult], epoch: Epoch) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let series = r
                .series
                .iter()
                .map(|s| series_json(s, &s.values, epoch, false))
                .collect();
            result_json(r, series, false)
        })
        .collect();
    json!({ "results": results })
}

/// The answer in chunks of at most `chunk_size` rows, one JSON document each, as InfluxDB
/// streams `chunked=true` answers: `partial` marks a series or a statement continued in the
/// next document.
pub fn json_chunks(results: &[StatementResult], epoch: Epoch, chunk_size: usize) -> Vec<Value> {
    let size = chunk_size.max(1);
    let mut out = Vec::new();
    for r in results {
        let mut pieces: Vec<(usize, &[Vec<Cell>], bool)> = Vec::new();
        for (i, s) in r.series.iter().enumerate() {
            let chunks: Vec<&[Vec<Cell>]> = if s.values.is_empty() {
                vec![&s.values[..]]
            } else {
                s.values.chunks(size).collect()
            };
            let n = chunks.len();
            for (k, c) in chunks.into_iter().enumerate() {
                pieces.push((i, c, k + 1 < n));
            }
        }
        if pieces.is_empty() {
            out.push(json!({ "results": [result_json(r, Vec::new(), false)] }));
            continue;
        }
        let n = pieces.len();
        for (k, (i, rows, series_partial)) in pieces.into_iter().enumerate() {
            let series = vec![series_json(&r.series[i], rows, epoch, series_partial)];
            out.push(json!({ "results": [result_json(r, series, k + 1 < n)] }));
        }
    }
    out
}

/// The answer as InfluxDB's CSV: a header `name,tags,<columns>` whenever the columns change,
/// then a row per value row; times are integers (ns unless `epoch` says otherwise).
pub fn csv(results: &[StatementResult], epoch: Epoch) -> String {
    let epoch = match epoch {
        Epoch::Rfc3339 => Epoch::Integer { nanos: 1 },
        e => e,
    };
    let mut out = String::new();
    let mut header: Option<Vec<String>> = None;
    for r in results {
        if let Some(e) = &r.error {
            out.push_str("name,tags,error\n");
            out.push_str(&format!(",,{}\n", csv_field(e)));
            header = None;
            continue;
        }
        for s in &r.series {
            if header.as_ref() != Some(&s.columns) {
                let mut line = vec!["name".to_string(), "tags".to_string()];
                line.extend(s.columns.iter().map(|c| csv_field(c)));
                out.push_str(&line.join(","));
                out.push('\n');
                header = Some(s.columns.clone());
            }
            let tags: Vec<String> = s.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let name = s.name.clone().unwrap_or_default();
            for row in &s.values {
                let mut line = vec![csv_field(&name), csv_field(&tags.join(","))];
                line.extend(row.iter().map(|c| match cell(c, epoch, s) {
                    Value::Null => String::new(),
                    Value::String(t) => csv_field(&t),
                    v => v.to_string(),
                }));
                out.push_str(&line.join(","));
                out.push('\n');
            }
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Vec<StatementResult> {
        let mut s = Series::plain(
            Some("electricity"),
            &["time", "sum"],
            vec![
                vec![Cell::Time(1_740_758_400_000), Cell::Float(1.5)],
                vec![Cell::Time(1_740_762_000_000), Cell::Null],
                vec![Cell::Time(1_740_765_600_500), Cell::Integer(3)],
            ],
        );
        s.tags.insert("meter".into(), "m1".into());
        vec![
            StatementResult {
                statement_id: 0,
                series: vec![s],
                error: None,
            },
            StatementResult::failed(1, "database not found: x"),
        ]
    }

    #[test]
    fn json_as_influxdb_writes_it() {
        let v = json(&answer(), Epoch::Rfc3339);
        let expected: Value = serde_json::from_str(
            r#"{"results":[{"statement_id":0,"series":[{"name":"electricity","tags":{"meter":"m1"},"columns":["time","sum"],"values":[["2025-02-28T16:00:00Z",1.5],["2025-02-28T17:00:00Z",null],["2025-02-28T18:00:00.500Z",3]]}]},{"statement_id":1,"error":"database not found: x"}]}"#,
        )
        .unwrap();
        assert_eq!(v, expected);
        let ms = json(&answer(), "ms".parse().unwrap());
        assert_eq!(
            ms["results"][0]["series"][0]["values"][0][0],
            1_740_758_400_000i64
        );
        let s = json(&answer(), "s".parse().unwrap());
        assert_eq!(
            s["results"][0]["series"][0]["values"][2][0],
            1_740_765_600i64
        );
        let ns = json(&answer(), "ns".parse().unwrap());
        assert_eq!(
            ns["results"][0]["series"][0]["values"][0][0],
            1_740_758_400_000_000_000i64
        );
    }

    #[test]
    fn chunks_mark_what_continues() {
        let chunks = json_chunks(&answer(), Epoch::Rfc3339, 2);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0]["results"][0]["partial"], true);
        assert_eq!(chunks[0]["results"][0]["series"][0]["partial"], true);
        assert_eq!(
            chunks[1]["results"][0]["series"][0]["values"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(chunks[1]["results"][0].get("partial").is_none());
        assert_eq!(chunks[2]["results"][0]["error"], "database not found: x");
    }

    #[test]
    fn csv_as_influxdb_writes_it() {
        assert_eq!(
            csv(&answer(), Epoch::Rfc3339),
            "name,tags,time,sum\nelectricity,meter=m1,1740758400000000000,1.5\nelectricity,meter=m1,1740762000000000000,\nelectricity,meter=m1,1740765600500000000,3\nname,tags,error\n,,database not found: x\n"
        );
    }
}
