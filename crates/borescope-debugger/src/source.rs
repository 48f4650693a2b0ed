//! Source lines around a stop, and listings around any line (`borescope source`).

use crate::DebuggerError;
use borescope_model::{Answer, Location, SourceContext};
use std::path::Path;

/// Lines shown on each side of the current line.
pub const RADIUS: u32 = 3;

/// Reads `file` and returns the lines around `line`, or `None` when it cannot be read.
pub fn source_context(file: impl AsRef<std::path::Path>, line: u32) -> Option<SourceContext> {
    let bytes = std::fs::read(file).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    context_from_text(&text, line)
}

/// The lines around `line` in `text`.
pub fn context_from_text(text: &str, line: u32) -> Option<SourceContext> {
    window(text, line, RADIUS).map(|(context, _)| context)
}

/// Most lines a listing shows on each side of its line.
pub const MAX_RADIUS: u32 = 500;

/// The `radius` lines on each side of `line` of `file` (`shown` is how the user named it),
/// with the file's line count. A missing file and a line past the end are input errors.
pub fn listing(file: &Path, shown: &str, line: u32, radius: u32) -> Result<(SourceContext, u32), DebuggerError> {
    let bytes = std::fs::read(file).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => DebuggerError::BadCommand(format!("no file `{shown}` (looked for `{}`)", file.display())),
        _ => DebuggerError::BadCommand(format!("cannot read `{shown}`: {error}")),
    })?;
    listing_from_text(&String::from_utf8_lossy(&bytes), shown, line, radius)
}

/// `source FILE:LINE`: the `radius` lines around a line of a file (relative to `base`), as
/// the answer every front door renders.
pub fn file_listing(location: &Location, base: &Path, radius: u32) -> Result<Answer, DebuggerError> {
    let path = base.join(&location.file);
    let path = path.canonicalize().unwrap_or(path);
    let (source, total_lines) = listing(&path, &location.file, location.line, radius)?;
    Ok(Answer::Source { session: None, frame: None, file: path.display().to_string(), source, total_lines })
}

/// [`listing`] of a text already read (e.g. a script's source from V8).
pub fn listing_from_text(text: &str, shown: &str, line: u32, radius: u32) -> Result<(SourceContext, u32), DebuggerError> {
    window(text, line, radius.min(MAX_RADIUS)).ok_or_else(|| {
        DebuggerError::BadCommand(format!(
            "`{shown}` has {}; line {line} is past the end",
            borescope_model::wording::counted(text.lines().count() as u64, "line", "lines")
        ))
    })
}

/// The lines around `line`, and the number of lines.
fn window(text: &str, line: u32, radius: u32) -> Option<(SourceContext, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    let total = u32::try_from(lines.len()).unwrap_or(u32::MAX);
    if line == 0 || line > total {
        return None;
    }
    let first = line.saturating_sub(radius).max(1);
    let last = line.saturating_add(radius).min(total);
    let context = SourceContext {
        first_line: first,
        current_line: line,
        lines: lines[first as usize - 1..last as usize].iter().map(|l| cut_line(l).0).collect(),
    };
    Some((context, total))
}

fn cut_line(line: &str) -> (String, bool) {
    const MAX: usize = 240;
    match line.char_indices().nth(MAX) {
        Some((end, _)) => (format!("{}...", &line[..end]), true),
        None => (line.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_at_edges() {
        let ctx = context_from_text("a\nb\nc\nd\ne", 1).unwrap();
        assert_eq!((ctx.first_line, ctx.lines.len()), (1, 4));
        let ctx = context_from_text("a\nb\nc\nd\ne", 5).unwrap();
        assert_eq!((ctx.first_line, ctx.lines.len()), (2, 4));
        assert!(context_from_text("a", 3).is_none());
    }

    #[test]
    fn listings_say_what_is_wrong() {
        let (ctx, total) = listing_from_text("a\nb\nc\nd\ne", "x.py", 3, 1).unwrap();
        assert_eq!((ctx.first_line, ctx.current_line, ctx.lines.len(), total), (2, 3, 3, 5));
        let past = listing_from_text("a\nb", "x.py", 9, 10).unwrap_err().to_string();
        assert_eq!(past, "`x.py` has 2 lines; line 9 is past the end");
        let missing = listing(Path::new("/nonexistent/x.py"), "x.py", 1, 3).unwrap_err().to_string();
        assert!(missing.starts_with("no file `x.py`"), "{missing}");
    }
}
