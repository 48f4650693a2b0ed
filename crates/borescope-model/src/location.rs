//! `FILE:LINE` source locations.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A line in a source file. Lines are 1-based. `file` is whatever the user wrote until it has
/// been resolved; resolved locations hold an absolute, symlink-free path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path of the source file.
    pub file: String,
    /// 1-based line number.
    pub line: u32,
}

/// Why a `FILE:LINE` argument could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// No `:LINE` suffix.
    #[error("`{0}` is not FILE:LINE (example: `app.py:12`)")]
    MissingLine(String),
    /// The part after the last `:` is not a positive number.
    #[error("`{0}` has no valid line number after the last `:` (lines start at 1)")]
    BadLine(String),
}

impl Location {
    /// Parses `FILE:LINE`, splitting at the last colon so paths may contain colons.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let (file, line) = text
            .rsplit_once(':')
            .ok_or_else(|| LocationError::MissingLine(text.to_string()))?;
        if file.is_empty() {
            return Err(LocationError::MissingLine(text.to_string()));
        }
        let line: u32 = line
            .trim()
            .parse()
            .map_err(|_| LocationError::BadLine(text.to_string()))?;
        if line == 0 {
            return Err(LocationError::BadLine(text.to_string()));
        }
        Ok(Location {
            file: file.to_string(),
            line,
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_last_colon() {
        let loc = Location::parse("dir:x/app.py:12").unwrap();
        assert_eq!(loc.file, "dir:x/app.py");
        assert_eq!(loc.line, 12);
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(matches!(Location::parse("app.py"), Err(LocationError::MissingLine(_))));
        assert!(matches!(Location::parse("app.py:x"), Err(LocationError::BadLine(_))));
        assert!(matches!(Location::parse("app.py:0"), Err(LocationError::BadLine(_))));
        assert!(matches!(Location::parse(":3"), Err(LocationError::MissingLine(_))));
    }
}
