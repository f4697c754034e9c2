//! Configuration errors with their place: file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};

/// One error in a configuration or point-table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the error is about the file as a whole).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong, naming the key or column.
    pub message: String,
}

impl Problem {
    /// An error at byte `offset` of `text` (the contents of `file`).
    pub fn at_offset(file: &Path, text: &str, offset: usize, message: String) -> Problem {
        let (line, column) = line_col(text, offset);
        Problem {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }

    /// An error about the file as a whole (cannot be read, is missing).
    pub fn file(file: &Path, message: String) -> Problem {
        Problem {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "a = 1\n名称 = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After "名称 " (two 3-byte characters and a space).
        assert_eq!(line_col(text, 13), (2, 4));
        let p = Problem::at_offset(Path::new("c.toml"), text, 6, "bad".into());
        assert_eq!(p.to_string(), "c.toml:2:1: bad");
    }
}
