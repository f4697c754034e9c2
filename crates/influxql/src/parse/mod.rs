//! The recursive-descent parser: shared machinery and the statement list.

mod cond;
mod expr;
mod select;
mod show;

use crate::ast::{Regex, Statement};
use crate::error::{Fail, PResult};
use crate::lexer::{Lexer, Tok, Token};
use crate::{MAX_DEPTH, MAX_LIMIT, MAX_REGEXES, REGEX_SIZE_LIMIT};

/// Words that end a clause; they cannot be unquoted identifiers.
const RESERVED: &[&str] = &[
    "ALL", "ALTER", "AND", "AS", "ASC", "BY", "CREATE", "DELETE", "DESC", "DROP", "FILL", "FROM",
    "GRANT", "GROUP", "IN", "INTO", "KEY", "KEYS", "LIMIT", "OFFSET", "ON", "OR", "ORDER",
    "REVOKE", "SELECT", "SHOW", "SLIMIT", "SOFFSET", "WHERE", "WITH",
];

/// Whether `word` is a reserved word (any case).
fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Statements of valid InfluxQL that shulv refuses by name.
const UNSUPPORTED_STATEMENTS: &[&str] = &[
    "ALTER", "CREATE", "DELETE", "DROP", "EXPLAIN", "GRANT", "KILL", "REVOKE", "SET",
];

/// Parser state: the lexer, the current token, the nesting depth.
pub(crate) struct Parser<'a> {
    src: &'a str,
    lex: Lexer<'a>,
    tok: Token,
    depth: usize,
    regexes: usize,
}

/// Parses every statement of `src`.
pub(crate) fn statements(src: &str) -> PResult<Vec<Statement>> {
    let mut p = Parser::new(src)?;
    let mut out = Vec::new();
    loop {
        while p.eat(&Tok::Semicolon)? {}
        if p.tok.kind == Tok::Eof {
            break;
        }
        out.push(p.statement()?);
        if p.tok.kind != Tok::Eof && p.tok.kind != Tok::Semicolon {
            return Err(p.unexpected("; or end of query"));
        }
    }
    if out.is_empty() {
        return Err(Fail::new(0, "empty query"));
    }
    Ok(out)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> PResult<Self> {
        let mut lex = Lexer::new(src);
        let tok = lex.next_token()?;
        Ok(Parser {
            src,
            lex,
            tok,
            depth: 0,
            regexes: 0,
        })
    }

    fn statement(&mut self) -> PResult<Statement> {
        if self.is_kw("SELECT") {
            return self.select();
        }
        if self.is_kw("SHOW") {
            return self.show();
        }
        if let Tok::Ident(word) = &self.tok.kind {
            let upper = word.to_ascii_uppercase();
            if UNSUPPORTED_STATEMENTS.contains(&upper.as_str()) {
                return Err(Fail::new(
                    self.tok.pos,
                    format!("{upper} is not supported by shulv (read-only: SELECT and SHOW)"),
                ));
            }
        }
        Err(self.unexpected("SELECT or SHOW"))
    }

    /// Moves to the next token and returns the current one.
    fn bump(&mut self) -> PResult<Token> {
        let next = self.lex.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    /// Whether the current token is the keyword `kw` (upper case), in any case.
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok.kind, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> PResult<bool> {
        if self.is_kw(kw) {
            self.bump()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_kw(&mut self, kw: &str) -> PResult<()> {
        if self.eat_kw(kw)? {
            return Ok(());
        }
        Err(self.unexpected(kw))
    }

    fn eat(&mut self, kind: &Tok) -> PResult<bool> {
        if &self.tok.kind == kind {
            self.bump()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect(&mut self, kind: &Tok, what: &str) -> PResult<()> {
        if self.eat(kind)? {
            return Ok(());
        }
        Err(self.unexpected(what))
    }

    /// `found <current token>, expected <what>` at the current token.
    fn unexpected(&self, what: &str) -> Fail {
        let found = if self.tok.kind == Tok::Eof {
            "EOF".to_string()
        } else {
            let text = &self.src[self.tok.pos..self.tok.end];
            match text.char_indices().nth(40) {
                Some((i, _)) => format!("{}…", &text[..i]),
                None => text.to_string(),
            }
        };
        Fail::new(self.tok.pos, format!("found {found}, expected {what}"))
    }

    /// `<what> is not supported by shulv` at byte `pos`.
    fn unsupported(pos: usize, what: &str) -> Fail {
        Fail::new(pos, format!("{what} is not supported by shulv"))
    }

    /// An identifier: unquoted (not a reserved word) or double-quoted.
    fn ident(&mut self, what: &str) -> PResult<String> {
        match &self.tok.kind {
            Tok::QuotedIdent(s) => {
                let s = s.clone();
                self.bump()?;
                Ok(s)
            }
            Tok::Ident(s) if !is_reserved(s) => {
                let s = s.clone();
                self.bump()?;
                Ok(s)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// A regex literal; the current token must be `/`.
    fn regex(&mut self) -> PResult<Regex> {
        if self.tok.kind != Tok::Slash {
            return Err(self.unexpected("regex"));
        }
        let open = self.tok.pos;
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return Err(Fail::new(
                open,
                format!("more than {MAX_REGEXES} regexes in one query"),
            ));
        }
        let pattern = self.lex.regex(open)?;
        if let Err(e) = regex::RegexBuilder::new(&pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(MAX_DEPTH as u32)
            .build()
        {
            let why = match e {
                regex::Error::CompiledTooBig(_) => "too large once compiled".to_string(),
                e => e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            };
            return Err(Fail::new(open, format!("invalid regex /{pattern}/: {why}")));
        }
        self.tok = self.lex.next_token()?;
        Ok(Regex { pattern })
    }

    /// A non-negative integer no larger than `max`, after the keyword `what`.
    fn count(&mut self, what: &str, max: u64) -> PResult<u64> {
        let pos = self.tok.pos;
        let Tok::Integer(n) = self.tok.kind else {
            return Err(self.unexpected(&format!("a non-negative integer after {what}")));
        };
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        if n > max {
            return Err(Fail::new(
                pos,
                format!("{what} {n} exceeds the maximum of {max}"),
            ));
        }
        self.bump()?;
        Ok(n)
    }

    /// `LIMIT n` then `OFFSET n`, each optional.
    fn limit_offset(&mut self) -> PResult<(Option<u64>, Option<u64>)> {
        let limit = self.optional_count("LIMIT", MAX_LIMIT)?;
        let offset = self.optional_count("OFFSET", i64::MAX as u64)?;
        Ok((limit, offset))
    }

    fn optional_count(&mut self, kw: &str, max: u64) -> PResult<Option<u64>> {
        if self.eat_kw(kw)? {
            return self.count(kw, max).map(Some);
        }
        Ok(None)
    }

    /// Runs `f` one nesting level deeper, refusing more than [`MAX_DEPTH`] levels.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(Fail::new(
                self.tok.pos,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }
}
