//! The typed syntax tree of the supported InfluxQL subset.

use crate::duration::Duration;

/// One statement of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT …`
    Select(Box<Select>),
    /// `SHOW DATABASES`
    ShowDatabases,
    /// `SHOW MEASUREMENTS …`
    ShowMeasurements(ShowMeasurements),
    /// `SHOW TAG KEYS …`
    ShowTagKeys(ShowTagKeys),
    /// `SHOW TAG VALUES …`
    ShowTagValues(ShowTagValues),
    /// `SHOW FIELD KEYS …`
    ShowFieldKeys(ShowFieldKeys),
    /// `SHOW RETENTION POLICIES [ON db]`; the database, if named.
    ShowRetentionPolicies(Option<String>),
    /// `SHOW SERIES …`
    ShowSeries(ShowSeries),
}

/// A `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The projected fields, in order.
    pub fields: Vec<Field>,
    /// The measurements read (`FROM`).
    pub sources: Vec<Source>,
    /// The `WHERE` condition.
    pub condition: Option<Cond>,
    /// The `GROUP BY` dimensions, in order.
    pub dimensions: Vec<Dimension>,
    /// `fill(…)`; `Fill::Null` when absent, as in InfluxDB.
    pub fill: Fill,
    /// `ORDER BY time DESC` gives `true`.
    pub descending: bool,
    /// `LIMIT n` (points per series).
    pub limit: Option<u64>,
    /// `OFFSET n`.
    pub offset: Option<u64>,
    /// `SLIMIT n` (series).
    pub slimit: Option<u64>,
    /// `SOFFSET n`.
    pub soffset: Option<u64>,
    /// `tz('Asia/Shanghai')`: the zone name as written (the executor checks it).
    pub tz: Option<String>,
}

/// A projected field: an expression and its `AS` alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The expression.
    pub expr: Expr,
    /// The name given with `AS`.
    pub alias: Option<String>,
}

/// An expression of the field list.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `*`, as a whole field or a whole function argument.
    Wildcard,
    /// A field or tag name.
    VarRef(VarRef),
    /// An integer literal.
    Integer(i64),
    /// A decimal literal.
    Number(f64),
    /// A single-quoted string literal.
    String(String),
    /// A duration literal (`1m` in `derivative(mean(value), 1m)`).
    Duration(Duration),
    /// A regex argument (`mean(/^temp/)`).
    Regex(Regex),
    /// A function call.
    Call(Call),
    /// Arithmetic on two expressions.
    Binary(Box<Binary>),
}

/// A name with its optional `::type` cast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The name, unquoted.
    pub name: String,
    /// The cast after `::`, if any.
    pub cast: Option<Cast>,
}

/// The `::type` casts of InfluxQL (Grafana writes `"host"::tag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// `::tag`
    Tag,
    /// `::field`
    Field,
    /// `::integer`
    Integer,
    /// `::float`
    Float,
    /// `::string`
    String,
    /// `::boolean`
    Boolean,
}

/// A call of a known function.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function.
    pub function: crate::Function,
    /// Its arguments, checked against the function's signature.
    pub args: Vec<Expr>,
}

/// `lhs op rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Expr,
    /// Right operand.
    pub rhs: Expr,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A regex literal, checked to compile within the size limit. The executor compiles it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regex {
    /// The pattern, with `\/` unescaped to `/`.
    pub pattern: String,
}

/// A measurement in `FROM`: `m`, `"rp"."m"`, `"db"."rp"."m"`, `db..m`, `/re/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The database, if qualified.
    pub database: Option<String>,
    /// The retention policy, if qualified (`None` for `db..m`).
    pub retention_policy: Option<String>,
    /// The measurement name or pattern.
    pub name: MeasurementName,
}

/// A measurement name or a pattern over names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeasurementName {
    /// An exact name.
    Name(String),
    /// A pattern.
    Regex(Regex),
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Both hold.
    And(Box<Cond>, Box<Cond>),
    /// Either holds.
    Or(Box<Cond>, Box<Cond>),
    /// A bound on `time`.
    Time(TimeCond),
    /// A comparison of a tag or field with a literal.
    Compare(Comparison),
}

/// `time <op> <time expression>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCond {
    /// The comparison.
    pub op: TimeOp,
    /// The instant compared with.
    pub value: TimeExpr,
}

/// Comparisons allowed on `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOp {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
}

/// An instant: `now()`, an RFC 3339 string or an epoch, plus or minus durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeExpr {
    /// What the offset is added to.
    pub base: TimeBase,
    /// Sum of the `+ d` and `- d` terms, in nanoseconds.
    pub offset: Duration,
}

/// The base of a [`TimeExpr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBase {
    /// `now()`: the instant the executor runs the query.
    Now,
    /// Nanoseconds since the Unix epoch (`'2025-01-01T00:00:00Z'`, `1700000000000ms`, `17…`).
    Absolute(i64),
}

impl TimeExpr {
    /// The instant in nanoseconds since the epoch, given `now` in nanoseconds;
    /// `None` on overflow.
    pub fn eval_ns(&self, now_ns: i64) -> Option<i64> {
        let base = match self.base {
            TimeBase::Now => now_ns,
            TimeBase::Absolute(ns) => ns,
        };
        base.checked_add(self.offset.as_nanos())
    }
}

/// `key <op> value` on a tag or field.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The tag or field.
    pub key: VarRef,
    /// The operator.
    pub op: CompareOp,
    /// The literal compared with (a regex exactly for `=~` and `!~`).
    pub value: Literal,
}

/// Operators of tag and field comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `=~`
    Match,
    /// `!~`
    NotMatch,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'text'`
    String(String),
    /// An integer.
    Integer(i64),
    /// A decimal number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `/re/`
    Regex(Regex),
}

/// A `GROUP BY` dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    /// `time(interval[, offset])`.
    Time {
        /// Bucket width (positive).
        interval: Duration,
        /// Shift of the bucket boundaries, if given (may be negative).
        offset: Option<Duration>,
    },
    /// A tag name.
    Tag(String),
    /// `*`: every tag.
    Wildcard,
    /// Tags whose names match.
    Regex(Regex),
}

/// `fill(…)`: what empty `GROUP BY time` buckets hold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fill {
    /// `fill(null)` (the default).
    #[default]
    Null,
    /// `fill(none)`: no row.
    None,
    /// `fill(<number>)`.
    Value(f64),
    /// `fill(previous)`.
    Previous,
    /// `fill(linear)`.
    Linear,
}

/// `SHOW MEASUREMENTS …`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowMeasurements {
    /// `ON db`
    pub database: Option<String>,
    /// `WITH MEASUREMENT = name` or `=~ /re/`.
    pub with_measurement: Option<MeasurementName>,
    /// `WHERE` (tag conditions).
    pub condition: Option<Cond>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// `SHOW TAG KEYS …`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowTagKeys {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM …` (empty: all measurements).
    pub sources: Vec<Source>,
    /// `WHERE`
    pub condition: Option<Cond>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// `SHOW TAG VALUES …`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowTagValues {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM …` (empty: all measurements).
    pub sources: Vec<Source>,
    /// `WITH KEY …`
    pub key: TagKeySelector,
    /// `WHERE`
    pub condition: Option<Cond>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}

/// Which tag keys `SHOW TAG VALUES` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKeySelector {
    /// `WITH KEY = "k"`
    Eq(String),
    /// `WITH KEY IN ("a", "b")`
    In(Vec<String>),
    /// `WITH KEY =~ /re/`
    Regex(Regex),
}

/// `SHOW FIELD KEYS …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowFieldKeys {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM …` (empty: all measurements).
    pub sources: Vec<Source>,
}

/// `SHOW SERIES …`
#[derive(Debug, Clone, PartialEq)]
pub struct ShowSeries {
    /// `ON db`
    pub database: Option<String>,
    /// `FROM …` (empty: all measurements).
    pub sources: Vec<Source>,
    /// `WHERE`
    pub condition: Option<Cond>,
    /// `LIMIT n`
    pub limit: Option<u64>,
    /// `OFFSET n`
    pub offset: Option<u64>,
}
