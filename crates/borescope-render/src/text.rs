//! Small text pieces shared by the renderers: value cutting, variable lines, notes, the size cap.

use crate::RenderContext;
use borescope_model::wording::counted;
use borescope_model::{EvalResult, Notice, Variable};

/// The note added when a value is shown as `<redacted>`.
pub(crate) const REDACTED_NOTE: &str = "values of secret-looking names are hidden";

/// Notes collected while rendering, printed once at the end.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    items: Vec<Notice>,
}

impl Notes {
    pub(crate) fn add(&mut self, notice: Notice) {
        if !self.items.contains(&notice) {
            self.items.push(notice);
        }
    }

    pub(crate) fn extend<'a>(&mut self, notices: impl IntoIterator<Item = &'a Notice>) {
        for notice in notices {
            self.add(notice.clone());
        }
    }

    /// Replaces the notice whose message is `message`, if there is one, with `with`.
    pub(crate) fn replace(&mut self, message: &str, with: Notice) {
        if let Some(item) = self.items.iter_mut().find(|n| n.message == message) {
            *item = with;
        }
    }

    /// Appends the `--- notes ---` section, if there is anything to say.
    pub(crate) fn write(&self, out: &mut String) {
        if self.items.is_empty() {
            return;
        }
        out.push_str("--- notes ---\n");
        for notice in &self.items {
            out.push_str("- ");
            out.push_str(&notice.message);
            if let Some(hint) = &notice.hint {
                out.push_str(" (");
                out.push_str(hint);
                out.push(')');
            }
            out.push('\n');
        }
    }
}

/// Cuts `text` to at most `max` characters, returning the kept text and whether it was cut.
pub(crate) fn cut(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((end, _)) => (format!("{}...", &text[..end]), true),
        None => (text.to_string(), false),
    }
}

/// Replaces control characters so one value stays on one line.
pub(crate) fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r', '\t']) {
        return text.to_string();
    }
    text.replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t")
}

/// `name: type = value` for one variable, cut to the value budget, with nested children
/// indented below it.
pub(crate) fn variable_line(
    out: &mut String,
    var: &Variable,
    indent: usize,
    ctx: &RenderContext,
    notes: &mut Notes,
) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    out.push_str(&var.name);
    if let Some(type_name) = &var.type_name
        && !type_name.is_empty() {
            out.push_str(": ");
            out.push_str(type_name);
        }
    out.push_str(" = ");
    if var.redacted {
        out.push_str("<redacted>");
        notes.add(Notice::with_hint(REDACTED_NOTE, "--no-redact shows them"));
    } else {
        let (value, was_cut) = cut(&one_line(&var.value), ctx.budget.max_value);
        out.push_str(&value);
        if was_cut || var.cut || var.full_length.is_some() {
            match var.full_length {
                Some(full) => out.push_str(&format!(" [cut, {}]", counted(full as u64, "char", "chars"))),
                None => out.push_str(" [cut]"),
            }
            notes.add(Notice::with_hint(
                format!("values longer than {} were cut", counted(ctx.budget.max_value as u64, "character", "characters")),
                "--max-value N shows more",
            ));
        }
    }
    out.push('\n');
    for child in &var.children {
        variable_line(out, child, indent + 1, ctx, notes);
    }
}

/// One evaluation: its value as a variable line named by the expression, the names statements
/// assigned (`x: int = 5`), that statements ran, or the error (prefixed by the expression when
/// `named_errors`, as in a list of several).
pub(crate) fn eval_lines(
    out: &mut String,
    eval: &EvalResult,
    ctx: &RenderContext,
    notes: &mut Notes,
    named_errors: bool,
) {
    match (&eval.value, &eval.error, &eval.statement) {
        (Some(value), _, _) => {
            let mut var = value.clone();
            var.name = eval.expression.clone();
            variable_line(out, &var, 0, ctx, notes);
        }
        (None, Some(error), _) if named_errors => {
            out.push_str(&format!("{} -> error: {error}
", eval.expression));
        }
        (None, Some(error), _) => out.push_str(&format!("error: {error}
")),
        (None, None, Some(statement)) if !statement.assigned.is_empty() => {
            for var in &statement.assigned {
                variable_line(out, var, 0, ctx, notes);
            }
        }
        (None, None, Some(_)) => out.push_str("(ran; a statement has no value)
"),
        (None, None, None) if named_errors => {
            out.push_str(&format!("{} -> no value
", eval.expression));
        }
        (None, None, None) => out.push_str("(no value)
"),
    }
}

/// Appends the notes and applies the total size cap. When the report is too big its body is
/// cut at a line boundary and said so; the notes always survive, since they say how to see
/// what was cut.
pub(crate) fn finish(mut body: String, notes: &Notes, ctx: &RenderContext) -> String {
    let mut tail = String::new();
    notes.write(&mut tail);
    let max = ctx.budget.max_bytes;
    if body.len() + tail.len() <= max {
        body.push_str(&tail);
        return body;
    }
    let total = body.len() + tail.len();
    let room = max.saturating_sub(tail.len() + 100);
    let mut end = room.min(body.len());
    while end > 0 && !body.is_char_boundary(end) {
        end -= 1;
    }
    let end = body[..end].rfind('\n').map(|i| i + 1).unwrap_or(end);
    body.truncate(end);
    body.push_str(&format!(
        "... report cut at {end} of {total} bytes (--max-output {total} shows all)\n"
    ));
    body.push_str(&tail);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("héllo", 2), ("hé...".to_string(), true));
        assert_eq!(cut("hi", 2), ("hi".to_string(), false));
    }
}
