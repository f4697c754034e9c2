//! The functions shulv knows, and their signatures.

/// A function of the field list. Unknown names are refused by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `count(x)`
    Count,
    /// `distinct(x)`
    Distinct,
    /// `mean(x)`
    Mean,
    /// `median(x)`
    Median,
    /// `mode(x)`
    Mode,
    /// `spread(x)`
    Spread,
    /// `stddev(x)`
    Stddev,
    /// `sum(x)`
    Sum,
    /// `integral(x[, unit])`
    Integral,
    /// `first(x)`
    First,
    /// `last(x)`
    Last,
    /// `max(x)`
    Max,
    /// `min(x)`
    Min,
    /// `percentile(x, n)`
    Percentile,
    /// `difference(x)`
    Difference,
    /// `non_negative_difference(x)`
    NonNegativeDifference,
    /// `derivative(x[, unit])`
    Derivative,
    /// `non_negative_derivative(x[, unit])`
    NonNegativeDerivative,
    /// `cumulative_sum(x)`
    CumulativeSum,
    /// `moving_average(x, n)`
    MovingAverage,
    /// `elapsed(x[, unit])`
    Elapsed,
}

/// What a function's second argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Second {
    /// No second argument.
    Nothing,
    /// An optional duration (`derivative(x, 1m)`).
    OptionalDuration,
    /// A required number (`percentile(x, 95)`).
    Number,
    /// A required positive integer (`moving_average(x, 3)`).
    Count,
}

const ALL: &[(&str, Function)] = &[
    ("count", Function::Count),
    ("distinct", Function::Distinct),
    ("mean", Function::Mean),
    ("median", Function::Median),
    ("mode", Function::Mode),
    ("spread", Function::Spread),
    ("stddev", Function::Stddev),
    ("sum", Function::Sum),
    ("integral", Function::Integral),
    ("first", Function::First),
    ("last", Function::Last),
    ("max", Function::Max),
    ("min", Function::Min),
    ("percentile", Function::Percentile),
    ("difference", Function::Difference),
    ("non_negative_difference", Function::NonNegativeDifference),
    ("derivative", Function::Derivative),
    ("non_negative_derivative", Function::NonNegativeDerivative),
    ("cumulative_sum", Function::CumulativeSum),
    ("moving_average", Function::MovingAverage),
    ("elapsed", Function::Elapsed),
];

impl Function {
    /// The function of a name, case-insensitively.
    pub fn from_name(name: &str) -> Option<Function> {
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| *f)
    }

    /// The lower-case name, as InfluxDB names the result column.
    pub fn name(self) -> &'static str {
        ALL.iter().find(|(_, f)| *f == self).map_or("", |(n, _)| n)
    }

    pub(crate) fn second(self) -> Second {
        match self {
            Function::Integral
            | Function::Derivative
            | Function::NonNegativeDerivative
            | Function::Elapsed => Second::OptionalDuration,
            Function::Percentile => Second::Number,
            Function::MovingAverage => Second::Count,
            _ => Second::Nothing,
        }
    }
}
