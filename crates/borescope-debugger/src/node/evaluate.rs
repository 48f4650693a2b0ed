//! `eval` in a paused V8 frame, answered in the shape Python sessions use: a value (named by
//! the expression), an assignment's new value (`x = 5` shows `x: number = 5`), or the error.
//! A read of a secret-looking name is redacted unless the budget says otherwise.

use super::values::variable;
use borescope_cdp::commands as cdp;
use borescope_cdp::CdpClient;
use borescope_model::{Budget, EvalResult, StatementResult, Variable};

/// Evaluates `expression` in a frame; errors become the result's `error`.
pub(crate) async fn evaluate(client: &CdpClient, call_frame_id: &str, expression: &str, budget: &Budget) -> EvalResult {
    let result = |value: Option<Variable>, error: Option<String>, statement: Option<StatementResult>| EvalResult {
        expression: expression.to_string(),
        value,
        error,
        statement,
    };
    let value = match value_of(client, call_frame_id, expression, budget).await {
        Ok(value) => value,
        Err(error) => return result(None, Some(error), None),
    };
    if let Some(target) = assignment_target(expression) {
        // The statement form: what the assignment left in the target, as Python reports it.
        return match value_of(client, call_frame_id, target, budget).await {
            Ok(assigned) => result(None, None, Some(StatementResult { assigned: vec![assigned] })),
            Err(_) => result(Some(value), None, None),
        };
    }
    if let Some(name) = declared_name(expression) {
        // A declaration is a statement: its name if it outlived the evaluation (`var`), else
        // only that it ran (`let`/`const` live in the evaluation's own scope).
        let assigned = value_of(client, call_frame_id, name, budget).await.into_iter().collect();
        return result(None, None, Some(StatementResult { assigned }));
    }
    result(Some(value), None, None)
}

/// The name a `let`/`const`/`var` declaration declares (`let y = 3` gives `y`).
fn declared_name(expression: &str) -> Option<&str> {
    let rest = ["let ", "const ", "var "].iter().find_map(|keyword| expression.trim_start().strip_prefix(keyword))?;
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The value of one expression, redacted when it reads a secret-looking name.
async fn value_of(client: &CdpClient, call_frame_id: &str, expression: &str, budget: &Budget) -> Result<Variable, String> {
    let reply = client
        .call::<cdp::EvaluateOnCallFrame>(cdp::EvaluateOnFrame {
            call_frame_id: call_frame_id.to_string(),
            expression: expression.to_string(),
            generate_preview: true,
            silent: true,
        })
        .await
        .map_err(|e| e.to_string())?;
    if let Some(details) = reply.exception_details {
        let text = details.exception.and_then(|e| e.description).unwrap_or(details.text);
        return Err(text.lines().next().unwrap_or_default().to_string());
    }
    let mut value = variable(expression, &reply.result, budget);
    if budget.redact && crate::redact::is_secret_expression(expression) {
        value.redacted = true;
        value.value.clear();
        value.expandable = false;
    }
    Ok(value)
}

/// The target of a plain assignment (`x = 5`, `order.total += 1`, `a[0] = b`), if the
/// expression is one: a name or property path before a top-level `=` that is not part of a
/// comparison or an arrow.
fn assignment_target(expression: &str) -> Option<&str> {
    let bytes = expression.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'=' if depth == 0 => {
                    let next = bytes.get(i + 1).copied();
                    let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                    if next == Some(b'=') || next == Some(b'>') || matches!(prev, b'=' | b'!' | b'<' | b'>') && !is_compound(bytes, i) {
                        return None;
                    }
                    let mut end = i;
                    while end > 0 && is_operator(bytes[end - 1]) {
                        end -= 1;
                    }
                    let target = expression[..end].trim();
                    return is_path(target).then_some(target);
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// `<<=` and `>>=` (and `>>>=`) are assignments, not comparisons.
fn is_compound(bytes: &[u8], eq: usize) -> bool {
    eq >= 2 && matches!(&bytes[eq - 2..eq], b"<<" | b">>")
}

fn is_operator(c: u8) -> bool {
    matches!(c, b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'<' | b'>' | b'?')
}

/// A name, or a chain of `.name` and `[...]` steps after one.
fn is_path(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_alphabetic() || first == '_' || first == '$') {
        return false;
    }
    text.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '[' | ']' | '\'' | '"'))
}

#[cfg(test)]
mod tests {
    use super::assignment_target;

    #[test]
    fn declarations_name_what_they_declare() {
        assert_eq!(super::declared_name("let y = 3"), Some("y"));
        assert_eq!(super::declared_name("  const $a=1"), Some("$a"));
        assert_eq!(super::declared_name("letter = 1"), None);
    }

    #[test]
    fn assignments_are_told_from_comparisons() {
        assert_eq!(assignment_target("x = 5"), Some("x"));
        assert_eq!(assignment_target("order.total += 1"), Some("order.total"));
        assert_eq!(assignment_target("a[0] = b == c"), Some("a[0]"));
        assert_eq!(assignment_target("n <<= 2"), Some("n"));
        for other in ["x == 5", "x === 5", "x <= 5", "x != 1", "f(a = 1)", "() => 1", "'a=b'", "let y = 3", "x"] {
            assert_eq!(assignment_target(other), None, "{other}");
        }
    }
}
