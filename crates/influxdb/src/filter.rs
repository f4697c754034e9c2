//! `WHERE` conditions on tags, compiled once and applied to each series.

use regex::Regex;
use shulv_influxql::{Cast, CompareOp, Comparison, Cond, Literal, REGEX_SIZE_LIMIT};

use crate::catalog::{SeriesRef, FIELD};

/// A compiled tag condition.
pub enum TagFilter {
    /// Every series (no condition, or time bounds only).
    All,
    /// Both hold.
    And(Box<TagFilter>, Box<TagFilter>),
    /// Either holds.
    Or(Box<TagFilter>, Box<TagFilter>),
    /// The tag equals (or, negated, differs from) the text.
    Equals {
        /// Tag key.
        key: String,
        /// Text compared with.
        value: String,
        /// `!=`
        negated: bool,
    },
    /// The tag matches (or, negated, does not match) the pattern.
    Matches {
        /// Tag key.
        key: String,
        /// The pattern.
        pattern: Regex,
        /// `!~`
        negated: bool,
    },
}

impl TagFilter {
    /// Compiles the tag comparisons of `cond`; time bounds are left to the time range.
    pub fn new(cond: Option<&Cond>) -> Result<TagFilter, String> {
        let Some(cond) = cond else {
            return Ok(TagFilter::All);
        };
        Ok(match cond {
            Cond::Time(_) => TagFilter::All,
            Cond::And(a, b) => TagFilter::And(
                Box::new(TagFilter::new(Some(a))?),
                Box::new(TagFilter::new(Some(b))?),
            ),
            Cond::Or(a, b) => TagFilter::Or(
                Box::new(TagFilter::new(Some(a))?),
                Box::new(TagFilter::new(Some(b))?),
            ),
            Cond::Compare(c) => comparison(c)?,
        })
    }

    /// True if `series` passes.
    pub fn matches(&self, series: &SeriesRef) -> bool {
        match self {
            TagFilter::All => true,
            TagFilter::And(a, b) => a.matches(series) && b.matches(series),
            TagFilter::Or(a, b) => a.matches(series) || b.matches(series),
            TagFilter::Equals {
                key,
                value,
                negated,
            } => (series.tag(key) == value) != *negated,
            TagFilter::Matches {
                key,
                pattern,
                negated,
            } => pattern.is_match(series.tag(key)) != *negated,
        }
    }
}

fn comparison(c: &Comparison) -> Result<TagFilter, String> {
    let key = c.key.name.clone();
    if key == FIELD || c.key.cast.is_some_and(|cast| cast != Cast::Tag) {
        return Err(format!(
            "conditions on the field '{key}' are not supported by shulv; filter on tags and time"
        ));
    }
    let negated = matches!(c.op, CompareOp::Neq | CompareOp::NotMatch);
    match (c.op, &c.value) {
        (CompareOp::Eq | CompareOp::Neq, Literal::String(value)) => Ok(TagFilter::Equals {
            key,
            value: value.clone(),
            negated,
        }),
        (CompareOp::Match | CompareOp::NotMatch, Literal::Regex(r)) => Ok(TagFilter::Matches {
            key,
            pattern: compile(&r.pattern)?,
            negated,
        }),
        (CompareOp::Eq | CompareOp::Neq, _) => Err(format!(
            "tag '{key}' is compared with a non-string; write the value in single quotes"
        )),
        _ => Err(format!(
            "this comparison on tag '{key}' is not supported by shulv; tags take =, !=, =~ and !~"
        )),
    }
}

/// Compiles a pattern of the query with the parser's size limit.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regular expression /{pattern}/: {e}"))
}
