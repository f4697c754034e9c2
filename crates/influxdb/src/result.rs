//! What a statement answers, before it is rendered as JSON or CSV.

use std::collections::BTreeMap;

use chrono_tz::Tz;

/// The answer to one statement: series, or an error.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementResult {
    /// Position of the statement in the query, from 0.
    pub statement_id: usize,
    /// The series answered (none when nothing matched).
    pub series: Vec<Series>,
    /// Why the statement failed, in InfluxDB's words where it has them.
    pub error: Option<String>,
}

impl StatementResult {
    /// A failed statement.
    pub fn failed(statement_id: usize, error: impl Into<String>) -> Self {
        StatementResult {
            statement_id,
            series: Vec::new(),
            error: Some(error.into()),
        }
    }
}

/// One series of an answer: a name, its tags, columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The measurement (or `databases`, `measurements`, … for SHOW); `None` for SHOW SERIES.
    pub name: Option<String>,
    /// The `GROUP BY` tags of this series (empty: no `tags` member).
    pub tags: BTreeMap<String, String>,
    /// Column names; `time` first when the rows carry times.
    pub columns: Vec<String>,
    /// The rows.
    pub values: Vec<Vec<Cell>>,
    /// The zone of `tz(…)`: times are written with its offset instead of `Z`.
    pub tz: Option<Tz>,
}

impl Series {
    /// A series of plain rows (SHOW answers): no tags, no times.
    pub fn plain(name: Option<&str>, columns: &[&str], values: Vec<Vec<Cell>>) -> Self {
        Series {
            name: name.map(str::to_string),
            tags: BTreeMap::new(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            values,
            tz: None,
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (JSON `null`).
    Null,
    /// An instant, ms since the epoch (written per `epoch` and `tz`).
    Time(i64),
    /// A number.
    Float(f64),
    /// An integer (counts).
    Integer(i64),
    /// Text (tag values, names).
    Text(String),
    /// A boolean.
    Bool(bool),
}

impl Cell {
    /// Text of `s`.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A number, or `Null` for `None` and for values JSON cannot carry (NaN, infinities).
    pub fn number(v: Option<f64>) -> Cell {
        match v {
            Some(v) if v.is_finite() => Cell::Float(v),
            _ => Cell::Null,
        }
    }
}
