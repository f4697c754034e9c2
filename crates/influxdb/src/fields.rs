//! The field list of a SELECT, compiled: which aggregates to compute, how each output column
//! is made from them, and the column names InfluxDB would give.

use shulv_influxql::{BinaryOp, Call, Cast, Expr, Field, Function};

use crate::accumulate::AggSpec;
use crate::catalog::FIELD;
use crate::filter::compile;
use crate::transform::Transform;

/// How one output column is computed.
#[derive(Debug, Clone)]
pub enum Column {
    /// A number.
    Const(f64),
    /// Aggregate number `i` of [`Fields::aggregates`].
    Aggregate(usize),
    /// The field's value (raw selections).
    Value,
    /// A tag's value (raw selections).
    Tag(String),
    /// A transformation of another column.
    Transform(Transform, Box<Column>),
    /// Arithmetic.
    Binary(BinaryOp, Box<Column>, Box<Column>),
}

/// What kind of rows the SELECT produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stored points, one row each.
    Raw,
    /// Transformations of stored points (`derivative(value)`), one row per point.
    RawTransform,
    /// Aggregates per time bucket.
    Aggregate,
}

/// A compiled field list.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The kind of rows.
    pub mode: Mode,
    /// The distinct aggregates to compute per bucket.
    pub aggregates: Vec<AggSpec>,
    /// Output columns (after `time`) with their names.
    pub columns: Vec<(String, Column)>,
    /// `SELECT *` in a raw selection: every tag (but the grouped ones) and the field, expanded
    /// by the caller.
    pub star: bool,
}

impl Fields {
    /// Compiles `fields`; `group_ms` is the `GROUP BY time()` interval, if any.
    pub fn new(fields: &[Field], group_ms: Option<i64>) -> Result<Fields, String> {
        let mut c = Compiler {
            aggregates: Vec::new(),
            group_ms,
            raw: false,
            raw_transform: false,
            aggregate: false,
        };
        let mut columns = Vec::with_capacity(fields.len());
        let mut star = false;
        for f in fields {
            if f.expr == Expr::Wildcard {
                star = true;
                c.raw = true;
                continue;
            }
            let column = c.column(&f.expr)?;
            let name = f.alias.clone().unwrap_or_else(|| name_of(&f.expr));
            columns.push((name, column));
        }
        let mode = match (c.aggregate, c.raw_transform, c.raw) {
            (true, false, false) => Mode::Aggregate,
            (false, true, false) => Mode::RawTransform,
            (false, false, _) => Mode::Raw,
            _ => return Err("mixing aggregate and non-aggregate queries is not supported".into()),
        };
        if mode == Mode::Aggregate && columns.iter().all(|(_, c)| is_const(c)) {
            return Err("at least 1 non-time field must be queried".into());
        }
        if mode != Mode::Aggregate && group_ms.is_some() {
            return Err("GROUP BY requires at least one aggregate function".into());
        }
        dedupe_names(&mut columns);
        Ok(Fields {
            mode,
            aggregates: c.aggregates,
            columns,
            star,
        })
    }
}

struct Compiler {
    aggregates: Vec<AggSpec>,
    group_ms: Option<i64>,
    raw: bool,
    raw_transform: bool,
    aggregate: bool,
}

impl Compiler {
    fn column(&mut self, expr: &Expr) -> Result<Column, String> {
        Ok(match expr {
            Expr::Integer(i) => Column::Const(*i as f64),
            Expr::Number(n) => Column::Const(*n),
            Expr::VarRef(v) => {
                self.raw = true;
                if v.name == FIELD && v.cast != Some(Cast::Tag) {
                    Column::Value
                } else if v.cast == Some(Cast::Field) {
                    return Err(format!(
                        "unknown field '{}': the only field is '{FIELD}'",
                        v.name
                    ));
                } else {
                    Column::Tag(v.name.clone())
                }
            }
            Expr::Binary(b) => Column::Binary(
                b.op,
                Box::new(self.column(&b.lhs)?),
                Box::new(self.column(&b.rhs)?),
            ),
            Expr::Call(call) => self.call(call)?,
            Expr::Wildcard => {
                return Err("a wildcard can only be a whole field or an argument".into())
            }
            Expr::String(_) | Expr::Duration(_) | Expr::Regex(_) => {
                return Err("a field cannot be a string, duration or regex literal".into())
            }
        })
    }

    fn call(&mut self, call: &Call) -> Result<Column, String> {
        let f = call.function;
        if AggSpec::is_aggregate(f) {
            check_field_argument(call)?;
            self.aggregate = true;
            let percentile = match call.args.get(1) {
                Some(Expr::Integer(i)) => *i as f64,
                Some(Expr::Number(n)) => *n,
                _ => 0.0,
            };
            if f == Function::Percentile && !(0.0..=100.0).contains(&percentile) {
                return Err(format!("percentile {percentile} is not between 0 and 100"));
            }
            let spec = AggSpec {
                function: f,
                percentile,
            };
            let i = match self.aggregates.iter().position(|a| *a == spec) {
                Some(i) => i,
                None => {
                    self.aggregates.push(spec);
                    self.aggregates.len() - 1
                }
            };
            return Ok(Column::Aggregate(i));
        }
        if !Transform::is_transform(f) {
            return Err(format!("function {}() is not supported by shulv", f.name()));
        }
        let input = match call.args.first() {
            Some(Expr::Call(inner)) if AggSpec::is_aggregate(inner.function) => {
                if self.group_ms.is_none() {
                    return Err(format!(
                        "{}() of an aggregate requires a GROUP BY time() clause",
                        f.name()
                    ));
                }
                self.call(inner)?
            }
            Some(Expr::Call(inner)) => {
                return Err(format!(
                    "{}() of {}() is not supported by shulv",
                    f.name(),
                    inner.function.name()
                ))
            }
            _ => {
                if self.group_ms.is_some() {
                    return Err(format!(
                        "aggregate function required inside the call to {}",
                        f.name()
                    ));
                }
                check_field_argument(call)?;
                self.raw_transform = true;
                Column::Value
            }
        };
        let unit_ms = match call.args.get(1) {
            Some(Expr::Duration(d)) => (d.as_nanos() / 1_000_000).max(1),
            _ => match f {
                Function::Derivative | Function::NonNegativeDerivative => {
                    self.group_ms.unwrap_or(1000)
                }
                _ => 1000,
            },
        };
        let window = match call.args.get(1) {
            Some(Expr::Integer(n)) => usize::try_from(*n).unwrap_or(usize::MAX),
            _ => 1,
        };
        Ok(Column::Transform(
            Transform {
                function: f,
                unit_ms,
                window,
            },
            Box::new(input),
        ))
    }
}

/// The argument of an aggregate must be the field (by name, `*` or a regex matching it).
fn check_field_argument(call: &Call) -> Result<(), String> {
    let f = call.function.name();
    match call.args.first() {
        Some(Expr::VarRef(v)) if v.name == FIELD && v.cast != Some(Cast::Tag) => Ok(()),
        Some(Expr::Wildcard) => Ok(()),
        Some(Expr::Regex(r)) if compile(&r.pattern)?.is_match(FIELD) => Ok(()),
        Some(Expr::VarRef(v)) => Err(format!(
            "{f}() of '{}' is not supported: the only field is '{FIELD}'",
            v.name
        )),
        _ => Err(format!(
            "{f}() takes the field '{FIELD}' as its first argument"
        )),
    }
}

fn is_const(c: &Column) -> bool {
    match c {
        Column::Const(_) => true,
        Column::Binary(_, a, b) => is_const(a) && is_const(b),
        _ => false,
    }
}

/// The column name InfluxDB gives an expression: a call's function name (`mean_value` for
/// `mean(*)`), a field's name, or for arithmetic the name of its first call or field.
fn name_of(expr: &Expr) -> String {
    match expr {
        Expr::Call(c) => match c.args.first() {
            Some(Expr::Wildcard | Expr::Regex(_)) => format!("{}_{FIELD}", c.function.name()),
            _ => c.function.name().to_string(),
        },
        Expr::VarRef(v) => v.name.clone(),
        Expr::Binary(b) => {
            let l = name_of(&b.lhs);
            if l.is_empty() {
                name_of(&b.rhs)
            } else {
                l
            }
        }
        _ => String::new(),
    }
}

/// Repeated names get `_1`, `_2`, … as in InfluxDB.
fn dedupe_names(columns: &mut [(String, Column)]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (name, _) in columns.iter_mut() {
        let n = seen.entry(name.clone()).or_insert(0);
        if *n > 0 {
            *name = format!("{name}_{n}");
        }
        *n += 1;
    }
}

/// Evaluates arithmetic on two values; `None` when either is missing or the result is not a
/// number (division by zero).
pub fn arithmetic(op: BinaryOp, a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let v = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
    };
    v.is_finite().then_some(v)
}
