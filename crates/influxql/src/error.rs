//! Parse errors with their position in the query text.

/// Why a query was refused, and where.
///
/// `Display` reads like InfluxDB's own message, e.g.
/// `error parsing query: found FROM, expected identifier at line 1, char 8`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing query: {message} at line {line}, char {column}")]
pub struct ParseError {
    /// Offset of the offending token in characters (not bytes) from the start of the query.
    pub offset: usize,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token within its line.
    pub column: usize,
    /// What was wrong, without the position.
    pub message: String,
}

impl ParseError {
    /// Builds the error for a failure at byte offset `pos` of `input`.
    pub(crate) fn new(input: &str, fail: Fail) -> Self {
        let mut pos = fail.pos.min(input.len());
        while !input.is_char_boundary(pos) {
            pos -= 1;
        }
        let before = &input[..pos];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ParseError {
            offset: before.chars().count(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: fail.message,
        }
    }
}

/// An error inside the lexer or parser: a byte offset and a message.
#[derive(Debug)]
pub(crate) struct Fail {
    pub pos: usize,
    pub message: String,
}

impl Fail {
    pub(crate) fn new(pos: usize, message: impl Into<String>) -> Self {
        Fail {
            pos,
            message: message.into(),
        }
    }
}

/// Result of the internal parsing steps.
pub(crate) type PResult<T> = Result<T, Fail>;
