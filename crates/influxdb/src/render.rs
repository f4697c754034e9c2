//! Answers written as InfluxDB 1.8 writes them: JSON (whole or chunked) and CSV.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

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

/// The rows of a series, written cell by cell (no intermediate JSON tree: an answer of a
/// million rows costs its text, not ten times that).
struct Rows<'a> {
    rows: &'a [Vec<Cell>],
    series: &'a Series,
    epoch: Epoch,
}

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            seq.serialize_element(&Row {
                cells: row,
                series: self.series,
                epoch: self.epoch,
            })?;
        }
        seq.end()
    }
}

struct Row<'a> {
    cells: &'a [Cell],
    series: &'a Series,
    epoch: Epoch,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.cells.len()))?;
        for c in self.cells {
            match c {
                Cell::Null => seq.serialize_element(&())?,
                Cell::Time(ms) => match self.epoch {
                    Epoch::Integer { nanos } => seq.serialize_element(&integer_time(*ms, nanos))?,
                    Epoch::Rfc3339 => seq.serialize_element(&rfc3339(*ms, self.series))?,
                },
                Cell::Float(v) => seq.serialize_element(v)?,
                Cell::Integer(i) => seq.serialize_element(i)?,
                Cell::Text(t) => seq.serialize_element(t)?,
                Cell::Bool(b) => seq.serialize_element(b)?,
            }
        }
        seq.end()
    }
}

/// A series as InfluxDB writes it: `name`, `tags`, `columns`, `values`, in that order.
#[derive(Serialize)]
struct SeriesDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a std::collections::BTreeMap<String, String>>,
    columns: &'a [String],
    values: Rows<'a>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
}

impl<'a> SeriesDoc<'a> {
    fn new(s: &'a Series, rows: &'a [Vec<Cell>], epoch: Epoch, partial: bool) -> Self {
        SeriesDoc {
            name: s.name.as_deref(),
            tags: (!s.tags.is_empty()).then_some(&s.tags),
            columns: &s.columns,
            values: Rows {
                rows,
                series: s,
                epoch,
            },
            partial,
        }
    }
}

/// A statement's result: `statement_id`, then `series` or `error`.
#[derive(Serialize)]
struct ResultDoc<'a> {
    statement_id: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    series: Vec<SeriesDoc<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
}

impl<'a> ResultDoc<'a> {
    fn new(r: &'a StatementResult, series: Vec<SeriesDoc<'a>>, partial: bool) -> Self {
        ResultDoc {
            statement_id: r.statement_id,
            series: if r.error.is_some() {
                Vec::new()
            } else {
                series
            },
            error: r.error.as_deref(),
            partial,
        }
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    results: Vec<ResultDoc<'a>>,
}

fn text(doc: &Doc<'_>) -> String {
    // The documents hold only strings, numbers and booleans: they always serialize.
    serde_json::to_string(doc).unwrap_or_default()
}

/// The whole answer as one JSON document.
pub fn json(results: &[StatementResult], epoch: Epoch) -> String {
    let results = results
        .iter()
        .map(|r| {
            let series = r
                .series
                .iter()
                .map(|s| SeriesDoc::new(s, &s.values, epoch, false))
                .collect();
            ResultDoc::new(r, series, false)
        })
        .collect();
    text(&Doc { results })
}

/// The answer in chunks of at most `chunk_size` rows, one JSON document each, as InfluxDB
/// streams `chunked=true` answers: `partial` marks a series or a statement continued in the
/// next document.
pub fn json_chunks(results: &[StatementResult], epoch: Epoch, chunk_size: usize) -> Vec<String> {
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
            out.push(text(&Doc {
                results: vec![ResultDoc::new(r, Vec::new(), false)],
            }));
            continue;
        }
        let n = pieces.len();
        for (k, (i, rows, series_partial)) in pieces.into_iter().enumerate() {
            let series = vec![SeriesDoc::new(&r.series[i], rows, epoch, series_partial)];
            out.push(text(&Doc {
                results: vec![ResultDoc::new(r, series, k + 1 < n)],
            }));
        }
    }
    out
}

/// The answer as InfluxDB's CSV: a header `name,tags,<columns>` whenever the columns change,
/// then a row per value row; times are integers (ns unless `epoch` says otherwise).
pub fn csv(results: &[StatementResult], epoch: Epoch) -> String {
    let nanos = match epoch {
        Epoch::Rfc3339 => 1,
        Epoch::Integer { nanos } => nanos,
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
                line.extend(row.iter().map(|c| csv_cell(c, nanos)));
                out.push_str(&line.join(","));
                out.push('\n');
            }
        }
    }
    out
}

/// A cell as InfluxDB's CSV writes it: numbers in their shortest form, times as integers.
fn csv_cell(c: &Cell, nanos: i64) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Time(ms) => integer_time(*ms, nanos).to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Integer(i) => i.to_string(),
        Cell::Text(t) => csv_field(t),
        Cell::Bool(b) => b.to_string(),
    }
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
    use serde_json::Value;

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
        // The members in InfluxDB's order, exactly.
        assert_eq!(
            json(&answer(), Epoch::Rfc3339),
            r#"{"results":[{"statement_id":0,"series":[{"name":"electricity","tags":{"meter":"m1"},"columns":["time","sum"],"values":[["2025-02-28T16:00:00Z",1.5],["2025-02-28T17:00:00Z",null],["2025-02-28T18:00:00.500Z",3]]}]},{"statement_id":1,"error":"database not found: x"}]}"#
        );
        let first_time = |epoch: &str, row: usize| {
            let v: Value = serde_json::from_str(&json(&answer(), epoch.parse().unwrap())).unwrap();
            v["results"][0]["series"][0]["values"][row][0].as_i64()
        };
        assert_eq!(first_time("ms", 0), Some(1_740_758_400_000));
        assert_eq!(first_time("s", 2), Some(1_740_765_600));
        assert_eq!(first_time("ns", 0), Some(1_740_758_400_000_000_000));
    }

    #[test]
    fn chunks_mark_what_continues() {
        let chunks: Vec<Value> = json_chunks(&answer(), Epoch::Rfc3339, 2)
            .iter()
            .map(|c| serde_json::from_str(c).unwrap())
            .collect();
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
