//! Checking `FILE:LINE` locations before anything runs.
//!
//! Paths are resolved against the working directory and canonicalised (so symlinks and `..`
//! name the same file the interpreter reports); a file in an attached process's own root is
//! resolved there instead (`session::PathMap`) and checked here by [`check_file`]. A missing file, a line past the end, and a
//! blank or comment-only line are refused here with the nearest lines that have code. Finer
//! checks that need the language's compiler (the middle of a docstring, a lone `else:`) are
//! made by the Python agent before the program's own code starts.

use crate::error::LocationProblem;
use borescope_model::wording::counted;
use borescope_model::{BreakpointSpec, Language, Location};
use std::path::Path;

/// Resolves and checks a breakpoint's line; a function breakpoint is returned as it is (the
/// debugger finds the function).
pub fn resolve_spec(spec: &BreakpointSpec, base: &Path, language: Option<Language>) -> Result<BreakpointSpec, LocationProblem> {
    match spec.line_location() {
        Some(location) => {
            let location = resolve_location(location, base, language)?;
            Ok(BreakpointSpec { location: Some(location), ..spec.clone() })
        }
        None => Ok(spec.clone()),
    }
}

/// Resolves and checks every breakpoint ([`resolve_spec`]); all problems are reported together.
pub fn resolve_specs(specs: &[BreakpointSpec], base: &Path, language: Option<Language>) -> Result<Vec<BreakpointSpec>, crate::DebuggerError> {
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for spec in specs {
        match resolve_spec(spec, base, language) {
            Ok(spec) => resolved.push(spec),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(crate::DebuggerError::BadLocation(problems))
    }
}

/// Resolves and checks one location. On success the file is absolute and symlink-free.
pub fn resolve_location(
    location: &Location,
    base: &Path,
    language: Option<Language>,
) -> Result<Location, LocationProblem> {
    let joined = base.join(&location.file);
    let canonical = match joined.canonicalize() {
        Ok(path) => path,
        Err(_) => {
            return Err(problem(
                location,
                format!("file not found (looked for `{}`)", joined.display()),
            ));
        }
    };
    check_file(location, canonical.display().to_string(), &canonical, language)
}

/// Checks `location`'s line in the file found at `readable`, which is named `name` in reports
/// (the two differ for a file of another process's root); returns the location under `name`.
pub fn check_file(
    location: &Location,
    name: String,
    readable: &Path,
    language: Option<Language>,
) -> Result<Location, LocationProblem> {
    if !readable.is_file() {
        return Err(problem(location, "not a regular file".into()));
    }
    let text = match std::fs::read(readable) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => return Err(problem(location, format!("cannot read it: {error}"))),
    };
    let lines: Vec<&str> = text.lines().collect();
    let language = language.or_else(|| crate::command::language_of_file(Path::new(&name)));
    let index = location.line as usize;
    if index > lines.len() {
        let last = (1..=lines.len()).rev().find(|&n| has_code(lines[n - 1], language));
        return Err(LocationProblem {
            before: last.map(|n| n as u32),
            ..problem(location, format!("the file has only {}", counted(lines.len() as u64, "line", "lines")))
        });
    }
    let line = lines[index - 1];
    if !has_code(line, language) {
        let before = (1..index).rev().find(|&n| has_code(lines[n - 1], language));
        let after = (index + 1..=lines.len()).find(|&n| has_code(lines[n - 1], language));
        let what = if line.trim().is_empty() {
            "blank line"
        } else {
            "comment line"
        };
        return Err(LocationProblem {
            before: before.map(|n| n as u32),
            after: after.map(|n| n as u32),
            ..problem(location, format!("no code on this line ({what})"))
        });
    }
    Ok(Location {
        file: name,
        line: location.line,
    })
}

/// A refusal of `location`, without neighbouring lines.
pub fn problem(location: &Location, reason: String) -> LocationProblem {
    LocationProblem {
        file: location.file.clone(),
        line: location.line,
        reason,
        before: None,
        after: None,
    }
}

/// Whether a line could hold code: not blank and not only a comment.
fn has_code(line: &str, language: Option<Language>) -> bool {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return false;
    }
    match language {
        Some(Language::Python) => !trimmed.starts_with('#'),
        Some(Language::Node) => {
            !(trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*'))
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, line: u32) -> Result<Location, LocationProblem> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), text).unwrap();
        resolve_location(
            &Location { file: "a.py".into(), line },
            dir.path(),
            None,
        )
    }

    #[test]
    fn blank_and_comment_lines_name_neighbours() {
        let text = "x = 1\n\n# note\ny = 2\n";
        let err = check(text, 2).unwrap_err();
        assert_eq!((err.before, err.after), (Some(1), Some(4)));
        assert!(err.reason.contains("blank"));
        let err = check(text, 3).unwrap_err();
        assert!(err.reason.contains("comment"));
        assert!(check(text, 4).is_ok());
    }

    #[test]
    fn past_the_end_and_missing() {
        let err = check("x = 1\n", 9).unwrap_err();
        assert!(err.reason.contains("only 1 line") && !err.reason.contains("lines"), "{}", err.reason);
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_location(
            &Location { file: "nope.py".into(), line: 1 },
            dir.path(),
            None,
        )
        .unwrap_err();
        assert!(err.reason.contains("not found"));
    }
}
