//! `SHOW` statements.

use super::Parser;
use crate::ast::{
    Cond, MeasurementName, ShowFieldKeys, ShowMeasurements, ShowSeries, ShowTagKeys, ShowTagValues,
    Source, Statement, TagKeySelector,
};
use crate::error::PResult;
use crate::lexer::Tok;

/// `SHOW` statements of valid InfluxQL that shulv refuses, by their first word.
const UNSUPPORTED: &[&str] = &[
    "CONTINUOUS",
    "DIAGNOSTICS",
    "GRANTS",
    "QUERIES",
    "SHARD",
    "SHARDS",
    "STATS",
    "SUBSCRIPTIONS",
    "USERS",
];

/// Words after `SHOW SERIES`, `SHOW TAG VALUES` etc. that start a cardinality statement.
const CARDINALITY: &[&str] = &["CARDINALITY", "EXACT"];

impl Parser<'_> {
    /// A `SHOW` statement; the current token is `SHOW`.
    pub(super) fn show(&mut self) -> PResult<Statement> {
        let start = self.tok.pos;
        self.bump()?;
        if self.eat_kw("DATABASES")? {
            return Ok(Statement::ShowDatabases);
        }
        if self.eat_kw("MEASUREMENTS")? {
            self.refuse_cardinality(start)?;
            return self.show_measurements();
        }
        if self.eat_kw("TAG")? {
            if self.eat_kw("KEYS")? {
                self.refuse_cardinality(start)?;
                return self.show_tag_keys();
            }
            if self.eat_kw("VALUES")? {
                self.refuse_cardinality(start)?;
                return self.show_tag_values();
            }
            self.refuse_cardinality_after(start, "KEY")?;
            return Err(self.unexpected("KEYS or VALUES"));
        }
        if self.eat_kw("FIELD")? {
            if self.eat_kw("KEYS")? {
                self.refuse_cardinality(start)?;
                let database = self.on()?;
                let sources = self.from()?;
                return Ok(Statement::ShowFieldKeys(ShowFieldKeys {
                    database,
                    sources,
                }));
            }
            self.refuse_cardinality_after(start, "KEY")?;
            return Err(self.unexpected("KEYS"));
        }
        if self.eat_kw("RETENTION")? {
            self.expect_kw("POLICIES")?;
            return Ok(Statement::ShowRetentionPolicies(self.on()?));
        }
        if self.eat_kw("SERIES")? {
            self.refuse_cardinality(start)?;
            return self.show_series();
        }
        self.refuse_cardinality_after(start, "MEASUREMENT")?;
        if let Tok::Ident(w) = &self.tok.kind {
            if UNSUPPORTED.iter().any(|u| u.eq_ignore_ascii_case(w)) {
                let mut what = format!("SHOW {}", w.to_ascii_uppercase());
                self.bump()?;
                if let Tok::Ident(w2) = &self.tok.kind {
                    what = format!("{what} {}", w2.to_ascii_uppercase());
                }
                return Err(Self::unsupported(start, &what));
            }
        }
        Err(self.unexpected(
            "DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, RETENTION POLICIES or \
             SERIES",
        ))
    }

    /// Refuses `… CARDINALITY` / `… EXACT CARDINALITY` at the current token.
    fn refuse_cardinality(&self, start: usize) -> PResult<()> {
        if CARDINALITY.iter().any(|w| self.is_kw(w)) {
            let what = &self.src[start..self.tok.end];
            return Err(Self::unsupported(start, &format!("{what} …")));
        }
        Ok(())
    }

    /// Refuses `<word> CARDINALITY` (singular forms such as `SHOW TAG KEY CARDINALITY`).
    fn refuse_cardinality_after(&mut self, start: usize, word: &str) -> PResult<()> {
        if self.eat_kw(word)? {
            self.refuse_cardinality(start)?;
            return Err(self.unexpected("CARDINALITY"));
        }
        Ok(())
    }

    /// `[ON db]`
    fn on(&mut self) -> PResult<Option<String>> {
        if self.eat_kw("ON")? {
            return self.ident("database").map(Some);
        }
        Ok(None)
    }

    /// `[FROM sources]`
    fn from(&mut self) -> PResult<Vec<Source>> {
        if self.eat_kw("FROM")? {
            return self.sources();
        }
        Ok(Vec::new())
    }

    /// `[WHERE cond]`
    fn where_(&mut self) -> PResult<Option<Cond>> {
        if self.eat_kw("WHERE")? {
            return self.condition().map(Some);
        }
        Ok(None)
    }

    fn show_measurements(&mut self) -> PResult<Statement> {
        let database = self.on()?;
        let mut with_measurement = None;
        if self.eat_kw("WITH")? {
            self.expect_kw("MEASUREMENT")?;
            with_measurement = Some(match self.tok.kind {
                Tok::EqRegex => {
                    self.bump()?;
                    MeasurementName::Regex(self.regex()?)
                }
                Tok::Eq => {
                    self.bump()?;
                    MeasurementName::Name(self.ident("measurement")?)
                }
                _ => return Err(self.unexpected("= or =~")),
            });
        }
        let condition = self.where_()?;
        let (limit, offset) = self.limit_offset()?;
        Ok(Statement::ShowMeasurements(ShowMeasurements {
            database,
            with_measurement,
            condition,
            limit,
            offset,
        }))
    }

    fn show_tag_keys(&mut self) -> PResult<Statement> {
        let database = self.on()?;
        let sources = self.from()?;
        let condition = self.where_()?;
        let (limit, offset) = self.limit_offset()?;
        Ok(Statement::ShowTagKeys(ShowTagKeys {
            database,
            sources,
            condition,
            limit,
            offset,
        }))
    }

    fn show_tag_values(&mut self) -> PResult<Statement> {
        let database = self.on()?;
        let sources = self.from()?;
        self.expect_kw("WITH")?;
        self.expect_kw("KEY")?;
        let key = match self.tok.kind {
            Tok::Eq => {
                self.bump()?;
                TagKeySelector::Eq(self.ident("tag key")?)
            }
            Tok::EqRegex => {
                self.bump()?;
                TagKeySelector::Regex(self.regex()?)
            }
            _ if self.is_kw("IN") => {
                self.bump()?;
                self.expect(&Tok::LParen, "(")?;
                let mut keys = vec![self.ident("tag key")?];
                while self.eat(&Tok::Comma)? {
                    keys.push(self.ident("tag key")?);
                }
                self.expect(&Tok::RParen, ", or )")?;
                TagKeySelector::In(keys)
            }
            _ => return Err(self.unexpected("=, =~ or IN")),
        };
        let condition = self.where_()?;
        let (limit, offset) = self.limit_offset()?;
        Ok(Statement::ShowTagValues(ShowTagValues {
            database,
            sources,
            key,
            condition,
            limit,
            offset,
        }))
    }

    fn show_series(&mut self) -> PResult<Statement> {
        let database = self.on()?;
        let sources = self.from()?;
        let condition = self.where_()?;
        let (limit, offset) = self.limit_offset()?;
        Ok(Statement::ShowSeries(ShowSeries {
            database,
            sources,
            condition,
            limit,
            offset,
        }))
    }
}
