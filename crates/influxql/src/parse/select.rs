//! `SELECT` statements and the clauses they share with `SHOW` (`FROM` sources).

use super::Parser;
use crate::ast::{Cast, Dimension, Expr, Field, Fill, MeasurementName, Select, Source, Statement};
use crate::duration::Duration;
use crate::error::{Fail, PResult};
use crate::lexer::Tok;
use crate::MAX_LIMIT;

impl Parser<'_> {
    /// `SELECT fields FROM sources [WHERE] [GROUP BY] [fill] [ORDER BY] [LIMIT] [OFFSET]
    /// [SLIMIT] [SOFFSET] [tz]`; the current token is `SELECT`.
    pub(super) fn select(&mut self) -> PResult<Statement> {
        self.bump()?;
        let mut fields = vec![self.field()?];
        while self.eat(&Tok::Comma)? {
            fields.push(self.field()?);
        }
        if self.is_kw("INTO") {
            return Err(Self::unsupported(self.tok.pos, "SELECT INTO"));
        }
        self.expect_kw("FROM")?;
        let sources = self.sources()?;
        let condition = if self.eat_kw("WHERE")? {
            Some(self.condition()?)
        } else {
            None
        };
        let dimensions = self.group_by()?;
        let fill = self.fill()?;
        let descending = self.order_by()?;
        let (limit, offset) = self.limit_offset()?;
        let slimit = self.optional_count("SLIMIT", MAX_LIMIT)?;
        let soffset = self.optional_count("SOFFSET", i64::MAX as u64)?;
        let tz = self.tz()?;
        Ok(Statement::Select(Box::new(Select {
            fields,
            sources,
            condition,
            dimensions,
            fill,
            descending,
            limit,
            offset,
            slimit,
            soffset,
            tz,
        })))
    }

    fn field(&mut self) -> PResult<Field> {
        let expr = if self.eat(&Tok::Star)? {
            Expr::Wildcard
        } else {
            self.expr()?
        };
        let alias = if self.eat_kw("AS")? {
            Some(self.ident("alias")?)
        } else {
            None
        };
        Ok(Field { expr, alias })
    }

    /// A comma-separated list of measurements.
    pub(super) fn sources(&mut self) -> PResult<Vec<Source>> {
        let mut out = vec![self.source()?];
        while self.eat(&Tok::Comma)? {
            out.push(self.source()?);
        }
        Ok(out)
    }

    /// `m`, `"rp"."m"`, `"db"."rp"."m"`, `db..m`, any of them ending in `/re/`.
    fn source(&mut self) -> PResult<Source> {
        if self.tok.kind == Tok::LParen {
            return Err(Self::unsupported(
                self.tok.pos,
                "a subquery (FROM (SELECT …))",
            ));
        }
        let mut qualifiers: Vec<Option<String>> = Vec::new();
        let name = loop {
            if self.tok.kind == Tok::Slash {
                break MeasurementName::Regex(self.regex()?);
            }
            let id = self.ident("measurement")?;
            if !self.eat(&Tok::Dot)? {
                break MeasurementName::Name(id);
            }
            qualifiers.push(Some(id));
            if self.eat(&Tok::Dot)? {
                qualifiers.push(None);
            }
            if qualifiers.len() > 2 {
                return Err(Fail::new(
                    self.tok.pos,
                    "too many qualifiers (at most db.rp.m)",
                ));
            }
        };
        let mut qualifiers = qualifiers.into_iter();
        let (database, retention_policy) = match (qualifiers.next(), qualifiers.next()) {
            (Some(db), Some(rp)) => (db, rp),
            (rp, _) => (None, rp.flatten()),
        };
        Ok(Source {
            database,
            retention_policy,
            name,
        })
    }

    fn group_by(&mut self) -> PResult<Vec<Dimension>> {
        if !self.eat_kw("GROUP")? {
            return Ok(Vec::new());
        }
        self.expect_kw("BY")?;
        let mut out = Vec::new();
        loop {
            let pos = self.tok.pos;
            let dim = self.dimension()?;
            if matches!(dim, Dimension::Time { .. })
                && out.iter().any(|d| matches!(d, Dimension::Time { .. }))
            {
                return Err(Fail::new(pos, "GROUP BY time() given twice"));
            }
            out.push(dim);
            if !self.eat(&Tok::Comma)? {
                return Ok(out);
            }
        }
    }

    fn dimension(&mut self) -> PResult<Dimension> {
        if self.eat(&Tok::Star)? {
            return Ok(Dimension::Wildcard);
        }
        if self.tok.kind == Tok::Slash {
            return Ok(Dimension::Regex(self.regex()?));
        }
        if !self.is_kw("time") {
            let name = self.ident("time(), tag, * or regex")?;
            // Grafana's query builder writes `GROUP BY "host"::tag`.
            let pos = self.tok.pos;
            if let Some(cast) = self.cast()? {
                if cast != Cast::Tag {
                    return Err(Fail::new(pos, "GROUP BY takes tags: only ::tag is allowed"));
                }
            }
            return Ok(Dimension::Tag(name));
        }
        self.bump()?;
        self.expect(&Tok::LParen, "( after GROUP BY time")?;
        let interval = self.duration()?;
        if interval.as_nanos() <= 0 {
            return Err(Fail::new(
                self.tok.pos,
                "GROUP BY time() needs a positive interval",
            ));
        }
        let offset = if self.eat(&Tok::Comma)? {
            let negative = self.eat(&Tok::Minus)?;
            let d = self.duration()?;
            Some(Duration::from_nanos(if negative {
                -d.as_nanos()
            } else {
                d.as_nanos()
            }))
        } else {
            None
        };
        self.expect(&Tok::RParen, ")")?;
        Ok(Dimension::Time { interval, offset })
    }

    fn duration(&mut self) -> PResult<Duration> {
        let Tok::Duration(d) = self.tok.kind else {
            return Err(self.unexpected("a duration such as 15m"));
        };
        self.bump()?;
        Ok(d)
    }

    fn fill(&mut self) -> PResult<Fill> {
        if !self.eat_kw("fill")? {
            return Ok(Fill::Null);
        }
        self.expect(&Tok::LParen, "( after fill")?;
        let negative = self.eat(&Tok::Minus)?;
        let sign = if negative { -1.0 } else { 1.0 };
        let fill = match &self.tok.kind {
            Tok::Integer(n) => Fill::Value(sign * *n as f64),
            Tok::Number(x) => Fill::Value(sign * x),
            Tok::Ident(w) if !negative => match w.to_ascii_lowercase().as_str() {
                "null" => Fill::Null,
                "none" => Fill::None,
                "previous" => Fill::Previous,
                "linear" => Fill::Linear,
                _ => return Err(self.unexpected("null, none, previous, linear or a number")),
            },
            _ => return Err(self.unexpected("null, none, previous, linear or a number")),
        };
        self.bump()?;
        self.expect(&Tok::RParen, ")")?;
        Ok(fill)
    }

    /// `ORDER BY time [ASC|DESC]`: whether descending.
    fn order_by(&mut self) -> PResult<bool> {
        if !self.eat_kw("ORDER")? {
            return Ok(false);
        }
        self.expect_kw("BY")?;
        if !self.eat_kw("time")? {
            return Err(Self::unsupported(self.tok.pos, "ORDER BY other than time"));
        }
        if self.eat_kw("DESC")? {
            return Ok(true);
        }
        self.eat_kw("ASC")?;
        Ok(false)
    }

    /// `tz('Area/City')`.
    fn tz(&mut self) -> PResult<Option<String>> {
        if !self.eat_kw("tz")? {
            return Ok(None);
        }
        self.expect(&Tok::LParen, "( after tz")?;
        let pos = self.tok.pos;
        let Tok::Str(zone) = &self.tok.kind else {
            return Err(self.unexpected("a time zone string such as 'Asia/Shanghai'"));
        };
        let zone = zone.clone();
        let valid = !zone.is_empty()
            && zone.len() <= 64
            && zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !valid {
            return Err(Fail::new(pos, format!("invalid time zone '{zone}'")));
        }
        self.bump()?;
        self.expect(&Tok::RParen, ")")?;
        Ok(Some(zone))
    }
}
