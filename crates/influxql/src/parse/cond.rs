//! `WHERE` conditions: tag and field comparisons, time bounds, `AND`, `OR`, parentheses.

use super::Parser;
use crate::ast::{CompareOp, Comparison, Cond, Literal, TimeBase, TimeCond, TimeExpr, TimeOp};
use crate::duration::Duration;
use crate::error::{Fail, PResult};
use crate::lexer::Tok;
use crate::timestamp;

impl Parser<'_> {
    /// A condition: `OR` of `AND`s of comparisons or parenthesised conditions.
    pub(super) fn condition(&mut self) -> PResult<Cond> {
        self.nested(|p| {
            let mut lhs = p.and_cond()?;
            while p.eat_kw("OR")? {
                let rhs = p.and_cond()?;
                lhs = Cond::Or(Box::new(lhs), Box::new(rhs));
            }
            Ok(lhs)
        })
    }

    fn and_cond(&mut self) -> PResult<Cond> {
        let mut lhs = self.cond_atom()?;
        while self.eat_kw("AND")? {
            let rhs = self.cond_atom()?;
            lhs = Cond::And(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn cond_atom(&mut self) -> PResult<Cond> {
        if self.eat(&Tok::LParen)? {
            let inner = self.condition()?;
            self.expect(&Tok::RParen, ")")?;
            return Ok(inner);
        }
        let key = self.var_ref()?;
        if key.cast.is_none() && key.name.eq_ignore_ascii_case("time") {
            return self.time_cond();
        }
        let op = match self.tok.kind {
            Tok::Eq => CompareOp::Eq,
            Tok::Neq => CompareOp::Neq,
            Tok::Lt => CompareOp::Lt,
            Tok::Lte => CompareOp::Lte,
            Tok::Gt => CompareOp::Gt,
            Tok::Gte => CompareOp::Gte,
            Tok::EqRegex => CompareOp::Match,
            Tok::NeqRegex => CompareOp::NotMatch,
            _ => return Err(self.unexpected("=, !=, <>, <, <=, >, >=, =~ or !~")),
        };
        self.bump()?;
        let value = if matches!(op, CompareOp::Match | CompareOp::NotMatch) {
            Literal::Regex(self.regex()?)
        } else {
            self.literal()?
        };
        Ok(Cond::Compare(Comparison { key, op, value }))
    }

    /// A string, number or boolean on the right of a comparison.
    fn literal(&mut self) -> PResult<Literal> {
        let lit = match &self.tok.kind {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Integer(n) => Literal::Integer(*n),
            Tok::Number(x) => Literal::Number(*x),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Minus => {
                self.bump()?;
                let lit = match self.tok.kind {
                    Tok::Integer(n) => Literal::Integer(-n),
                    Tok::Number(x) => Literal::Number(-x),
                    _ => return Err(self.unexpected("a number after -")),
                };
                self.bump()?;
                return Ok(lit);
            }
            Tok::Slash => {
                return Err(Fail::new(
                    self.tok.pos,
                    "a regex needs =~ or !~, not = or !=",
                ));
            }
            _ => return Err(self.unexpected("string, number or boolean")),
        };
        self.bump()?;
        Ok(lit)
    }

    /// The rest of `time <op> <instant>`, after `time`.
    fn time_cond(&mut self) -> PResult<Cond> {
        let op = match self.tok.kind {
            Tok::Eq => TimeOp::Eq,
            Tok::Lt => TimeOp::Lt,
            Tok::Lte => TimeOp::Lte,
            Tok::Gt => TimeOp::Gt,
            Tok::Gte => TimeOp::Gte,
            _ => return Err(self.unexpected("=, <, <=, > or >= after time")),
        };
        self.bump()?;
        let value = self.time_expr()?;
        Ok(Cond::Time(TimeCond { op, value }))
    }

    /// `now()`, `'RFC 3339'`, an integer (ns) or a duration literal (an epoch with a unit),
    /// followed by any number of `+ d` / `- d`.
    fn time_expr(&mut self) -> PResult<TimeExpr> {
        let pos = self.tok.pos;
        let base = match &self.tok.kind {
            Tok::Ident(w) if w.eq_ignore_ascii_case("now") => {
                self.bump()?;
                self.expect(&Tok::LParen, "(")?;
                if self.tok.kind != Tok::RParen {
                    return Err(self.unexpected(")"));
                }
                TimeBase::Now
            }
            Tok::Str(s) => TimeBase::Absolute(timestamp::parse_ns(s).ok_or_else(|| {
                Fail::new(
                    pos,
                    format!("invalid time '{s}', expected an RFC 3339 timestamp"),
                )
            })?),
            Tok::Integer(n) => TimeBase::Absolute(*n),
            Tok::Duration(d) => TimeBase::Absolute(d.as_nanos()),
            Tok::Minus => {
                self.bump()?;
                let n = match self.tok.kind {
                    Tok::Integer(n) => n,
                    Tok::Duration(d) => d.as_nanos(),
                    _ => return Err(self.unexpected("an epoch after -")),
                };
                TimeBase::Absolute(-n)
            }
            _ => return Err(self.unexpected("now(), an RFC 3339 string or an epoch")),
        };
        self.bump()?;
        let mut offset: i64 = 0;
        loop {
            let negative = match self.tok.kind {
                Tok::Plus => false,
                Tok::Minus => true,
                _ => break,
            };
            self.bump()?;
            let pos = self.tok.pos;
            let d = match self.tok.kind {
                Tok::Duration(d) => d.as_nanos(),
                Tok::Integer(n) => n,
                _ => return Err(self.unexpected("a duration")),
            };
            self.bump()?;
            offset = if negative {
                offset.checked_sub(d)
            } else {
                offset.checked_add(d)
            }
            .ok_or_else(|| Fail::new(pos, "time offset out of range"))?;
        }
        Ok(TimeExpr {
            base,
            offset: Duration::from_nanos(offset),
        })
    }
}
