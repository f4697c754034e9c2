//! shulv-influxql: the InfluxQL that Grafana's InfluxDB data source (InfluxQL mode) and the
//! InfluxDB 1.x clients send to `/query`, parsed into a typed AST with InfluxDB-style errors.
//! Nothing here runs a query: the executor maps the AST onto shulv's query engine.
//!
//! [`parse`] takes the whole `q` parameter (statements separated by `;`) and returns every
//! [`Statement`] or the first [`ParseError`] with its line and column in the whole text.
//!
//! ```
//! use shulv_influxql::{parse, Statement};
//!
//! let q = r#"SELECT mean("value") FROM "cpu" WHERE time > now() - 6h GROUP BY time(1m) fill(null)"#;
//! assert!(matches!(parse(q).unwrap()[..], [Statement::Select(_)]));
//! let e = parse("SELECT FROM cpu").unwrap_err();
//! assert_eq!(
//!     e.to_string(),
//!     "error parsing query: found FROM, expected field, function or number at line 1, char 8"
//! );
//! ```
//!
//! # Supported subset
//!
//! - `SHOW DATABASES`
//! - `SHOW MEASUREMENTS [ON db] [WITH MEASUREMENT = m | =~ /re/] [WHERE cond] [LIMIT n]
//!   [OFFSET n]`
//! - `SHOW TAG KEYS [ON db] [FROM sources] [WHERE cond] [LIMIT n] [OFFSET n]`
//! - `SHOW TAG VALUES [ON db] [FROM sources] WITH KEY = "k" | IN ("a", "b") | =~ /re/
//!   [WHERE cond] [LIMIT n] [OFFSET n]`
//! - `SHOW FIELD KEYS [ON db] [FROM sources]`, `SHOW RETENTION POLICIES [ON db]`
//! - `SHOW SERIES [ON db] [FROM sources] [WHERE cond] [LIMIT n] [OFFSET n]`
//! - `SELECT fields FROM sources [WHERE cond] [GROUP BY dims] [fill(…)] [ORDER BY time
//!   [ASC|DESC]] [LIMIT n] [OFFSET n] [SLIMIT n] [SOFFSET n] [tz('Area/City')]`
//!   - fields: `*`, names (`value`, `"value"`, `"host"::tag`), the calls of [`Function`]
//!     (nested: `derivative(mean(value), 1m)`), `+ - * /`, numbers, parentheses, `AS alias`;
//!   - sources: `m`, `"m"`, `"rp"."m"`, `"db"."rp"."m"`, `db..m`, `/re/`, comma lists;
//!   - cond: `time` compared (`= < <= > >=`) with `now()`, RFC 3339 strings, epochs (`17…`
//!     in ns, `1700000000000ms`, `1700000000s`), each `± duration`; tags and fields compared
//!     with strings, numbers and booleans (`= != <> < <= > >=`) or regexes (`=~ !~`); `AND`,
//!     `OR`, parentheses. [`time_range`] turns the time bounds into `[from, to)` in ms;
//!   - dims: `time(15m)`, `time(1h, 30m)`, tag names, `*`, `/re/`;
//!   - `fill(null | none | previous | linear | <number>)`.
//! - Durations: `ns u µ ms s m h d w`, combined (`1h30m`).
//! - Keywords in any case; identifiers case-sensitive; `"quoted \" identifiers"`,
//!   `'strings with \' escapes'`; `-- line` and `/* block */` comments.
//!
//! Valid InfluxQL outside the subset (`SELECT INTO`, subqueries, `DELETE`, `DROP`, `CREATE`,
//! `SHOW CONTINUOUS QUERIES`, cardinality statements, …) is refused with an error naming it
//! ("… is not supported by shulv"), never parsed into something else. Unknown functions and
//! unexpanded Grafana variables (`$timeFilter`, `$__interval`) are errors.
//!
//! # Limits
//!
//! Queries of at most [`MAX_QUERY_BYTES`], expressions and parentheses nested at most
//! [`MAX_DEPTH`] deep, `LIMIT` and `SLIMIT` at most [`MAX_LIMIT`], at most [`MAX_REGEXES`]
//! regexes that each compile within [`REGEX_SIZE_LIMIT`] (Rust regexes run in linear time). Parsing is a single pass without
//! backtracking: its time is linear in the query length.

mod ast;
mod duration;
mod error;
mod function;
mod lexer;
mod parse;
mod time_range;
mod timestamp;

pub use ast::{
    Binary, BinaryOp, Call, Cast, CompareOp, Comparison, Cond, Dimension, Expr, Field, Fill,
    Literal, MeasurementName, Regex, Select, ShowFieldKeys, ShowMeasurements, ShowSeries,
    ShowTagKeys, ShowTagValues, Source, Statement, TagKeySelector, TimeBase, TimeCond, TimeExpr,
    TimeOp, VarRef,
};
pub use duration::Duration;
pub use error::ParseError;
pub use function::Function;
pub use time_range::{time_range, TimeRange, TimeRangeError};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Deepest nesting of parentheses, calls and conditions.
pub const MAX_DEPTH: usize = 64;
/// Largest `LIMIT` and `SLIMIT`.
pub const MAX_LIMIT: u64 = 1_000_000;
/// Most regex literals in one query (each is compiled once to be checked).
pub const MAX_REGEXES: usize = 64;
/// Largest compiled size of a regex, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Parses every statement of `query` (separated by `;`).
pub fn parse(query: &str) -> Result<Vec<Statement>, ParseError> {
    if query.len() > MAX_QUERY_BYTES {
        let fail = error::Fail::new(
            0,
            format!(
                "query of {} bytes exceeds the maximum of {MAX_QUERY_BYTES}",
                query.len()
            ),
        );
        return Err(ParseError::new(query, fail));
    }
    parse::statements(query).map_err(|fail| ParseError::new(query, fail))
}
