//! The lexer: query text to tokens, one at a time, so the parser can ask for a regex literal
//! where one may stand (`/` is otherwise division).

use crate::duration::Duration;
use crate::error::{Fail, PResult};

/// A token and its byte span in the query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
    pub end: usize,
}

/// Token kinds. Keywords are unquoted identifiers, compared case-insensitively by the parser.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    QuotedIdent(String),
    Str(String),
    Integer(i64),
    Number(f64),
    Duration(Duration),
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    EqRegex,
    NeqRegex,
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
    Comma,
    Semicolon,
    Dot,
    DoubleColon,
    Eof,
}

/// Scans `src` from a byte cursor.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat_while(&mut self, f: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&f) {
            self.bump();
        }
    }

    /// Skips whitespace, `-- line` and `/* block */` comments.
    fn skip_trivia(&mut self) -> PResult<()> {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('-'), Some('-')) => self.eat_while(|c| c != '\n'),
                (Some('/'), Some('*')) => {
                    let start = self.pos;
                    match self.src[self.pos + 2..].find("*/") {
                        Some(i) => self.pos += 2 + i + 2,
                        None => return Err(Fail::new(start, "unterminated comment")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token (`Eof` at the end, again and again).
    pub(crate) fn next_token(&mut self) -> PResult<Token> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token {
                kind: Tok::Eof,
                pos: start,
                end: start,
            });
        };
        let kind = match c {
            '"' => Tok::QuotedIdent(self.quoted('"', start, "quoted identifier")?),
            '\'' => Tok::Str(self.quoted('\'', start, "string")?),
            '0'..='9' => self.number(start)?,
            '.' if self.peek().is_some_and(|c| c.is_ascii_digit()) => self.number(start)?,
            '$' => {
                self.eat_while(|c| c.is_alphanumeric() || c == '_' || c == '{' || c == '}');
                return Err(Fail::new(
                    start,
                    format!(
                        "unexpanded Grafana variable {} (Grafana replaces variables before \
                         sending a query)",
                        &self.src[start..self.pos]
                    ),
                ));
            }
            '[' if self.peek() == Some('[') => {
                return Err(Fail::new(start, "unexpanded Grafana variable [[...]]"));
            }
            c if c.is_alphabetic() || c == '_' => {
                self.eat_while(|c| c.is_alphanumeric() || c == '_');
                Tok::Ident(self.src[start..self.pos].to_string())
            }
            '=' => self.pick('~', Tok::EqRegex, Tok::Eq),
            '!' => match self.bump() {
                Some('=') => Tok::Neq,
                Some('~') => Tok::NeqRegex,
                _ => return Err(Fail::new(start, "found !, expected != or !~")),
            },
            '<' => match self.peek() {
                Some('=') => self.pick('=', Tok::Lte, Tok::Lt),
                Some('>') => self.pick('>', Tok::Neq, Tok::Lt),
                _ => Tok::Lt,
            },
            '>' => self.pick('=', Tok::Gte, Tok::Gt),
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            ';' => Tok::Semicolon,
            '.' => Tok::Dot,
            ':' if self.peek() == Some(':') => {
                self.bump();
                Tok::DoubleColon
            }
            c => return Err(Fail::new(start, format!("unexpected character {c:?}"))),
        };
        Ok(Token {
            kind,
            pos: start,
            end: self.pos,
        })
    }

    /// `then` if the next character is `c` (consumed), else `otherwise`.
    fn pick(&mut self, c: char, then: Tok, otherwise: Tok) -> Tok {
        if self.peek() == Some(c) {
            self.bump();
            then
        } else {
            otherwise
        }
    }

    /// The body of a string or quoted identifier whose opening quote is at `start`.
    /// Escapes: `\\`, `\'`, `\"`, `\n`.
    fn quoted(&mut self, quote: char, start: usize, what: &str) -> PResult<String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(Fail::new(start, format!("unterminated {what}"))),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c @ ('\\' | '\'' | '"')) => out.push(c),
                    Some('n') => out.push('\n'),
                    Some(c) => {
                        return Err(Fail::new(
                            self.pos - c.len_utf8() - 1,
                            format!("bad escape \\{c} in {what}"),
                        ))
                    }
                    None => return Err(Fail::new(start, format!("unterminated {what}"))),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// An integer, a decimal number or a duration literal starting at `start` (first char read).
    fn number(&mut self, start: usize) -> PResult<Tok> {
        self.eat_while(|c| c.is_ascii_digit());
        let mut decimal = self.src[start..].starts_with('.');
        if !decimal && self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit())
        {
            self.bump();
            decimal = true;
        }
        if decimal {
            self.eat_while(|c| c.is_ascii_digit());
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.eat_while(|c| c.is_alphanumeric() || c == '_');
            let text = &self.src[start..self.pos];
            if decimal {
                return Err(Fail::new(
                    start,
                    format!("invalid duration {text}: fractions are not allowed"),
                ));
            }
            return Duration::parse(text).map(Tok::Duration).ok_or_else(|| {
                Fail::new(
                    start,
                    format!("invalid duration {text} (units: ns, u, µ, ms, s, m, h, d, w)"),
                )
            });
        }
        let text = &self.src[start..self.pos];
        if decimal {
            text.parse()
                .map(Tok::Number)
                .map_err(|_| Fail::new(start, format!("invalid number {text}")))
        } else {
            text.parse()
                .map(Tok::Integer)
                .map_err(|_| Fail::new(start, format!("integer {text} is out of range")))
        }
    }

    /// A regex literal whose opening `/` is at byte `open` (the lexer stands just after it).
    /// `\/` stands for `/`; other escapes are kept for the regex engine.
    pub(crate) fn regex(&mut self, open: usize) -> PResult<String> {
        self.pos = open + 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(Fail::new(open, "unterminated regex")),
                Some('/') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('/') => out.push('/'),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(Fail::new(open, "unterminated regex")),
                },
                Some(c) => out.push(c),
            }
        }
    }
}
