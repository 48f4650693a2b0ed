//! Source lines around a stop.

use borescope_model::SourceContext;

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
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line as usize > lines.len() {
        return None;
    }
    let first = line.saturating_sub(RADIUS).max(1);
    let last = (line + RADIUS).min(lines.len() as u32);
    Some(SourceContext {
        first_line: first,
        current_line: line,
        lines: lines[first as usize - 1..last as usize]
            .iter()
            .map(|l| {
                let (cut, _) = cut_line(l);
                cut
            })
            .collect(),
    })
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
}
