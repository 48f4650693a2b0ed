//! Checking a breakpoint's condition (`--if`) and logpoint template (`--log`) when it is set,
//! with the program's own compiler, so one that does not compile is refused with the parser's
//! message instead of being listed as verified and then silently never firing.
//!
//! A logpoint template interpolates `{expr}` parts (nested braces allowed, as debugpy reads
//! them); each part must compile on its own. Python is checked inside the program through
//! debugpy (a frameless evaluation, which pydevd runs on its own command thread, compiling
//! without running anything); Node through V8's `Runtime.compileScript`. Programs being
//! launched are checked by the agent before their first line (see `listen.py`).

use crate::DebuggerError;
use borescope_cdp::commands as cdp;
use borescope_cdp::CdpClient;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::BreakpointSpec;
use serde_json::json;
use std::time::Duration;

/// One expression to check, and the option it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    /// `--if` or `--log`.
    pub option: &'static str,
    /// The expression's text.
    pub text: String,
}

/// How long a check may take before the breakpoint is refused as uncheckable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The expressions a breakpoint evaluates: its condition and its template's parts.
pub fn expressions(spec: &BreakpointSpec) -> Result<Vec<Expression>, DebuggerError> {
    let mut all = Vec::new();
    if let Some(condition) = &spec.condition {
        if condition.trim().is_empty() {
            return Err(bad("--if", condition, "the condition is empty"));
        }
        all.push(Expression { option: "--if", text: condition.clone() });
    }
    if let Some(message) = &spec.log {
        for part in template_parts(message).map_err(|error| bad("--log", message, &error))? {
            all.push(Expression { option: "--log", text: part });
        }
    }
    Ok(all)
}

/// One piece of a logpoint message: literal text, or an `{expression}` to interpolate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePiece {
    /// Text shown as it is.
    Text(String),
    /// An expression between braces (nested braces allowed).
    Expr(String),
}

/// Splits a logpoint message into text and `{expression}` pieces, as debugpy reads it.
pub fn template_pieces(message: &str) -> Result<Vec<TemplatePiece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '{' {
            text.push(c);
            continue;
        }
        let mut depth = 1;
        let mut part = String::new();
        for inner in chars.by_ref() {
            match inner {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            part.push(inner);
        }
        if depth != 0 {
            return Err("a `{` is never closed; write `{expression}` for each value".into());
        }
        if part.trim().is_empty() {
            return Err("`{}` names no expression; write `{expression}`".into());
        }
        if !text.is_empty() {
            pieces.push(TemplatePiece::Text(std::mem::take(&mut text)));
        }
        pieces.push(TemplatePiece::Expr(part));
    }
    if !text.is_empty() {
        pieces.push(TemplatePiece::Text(text));
    }
    Ok(pieces)
}

/// The `{expr}` parts of a logpoint message.
pub fn template_parts(message: &str) -> Result<Vec<String>, String> {
    Ok(template_pieces(message)?
        .into_iter()
        .filter_map(|piece| match piece {
            TemplatePiece::Expr(expr) => Some(expr),
            TemplatePiece::Text(_) => None,
        })
        .collect())
}

fn bad(option: &str, text: &str, error: &str) -> DebuggerError {
    DebuggerError::BadExpression { option: option.to_string(), text: text.to_string(), error: error.to_string() }
}

/// Marks our own exception, so its message is told apart from pydevd's text around it.
const PY_MARK: &str = "borescope-syntax:";

/// Checks a breakpoint's expressions with the Python compiler inside the program.
pub async fn check_python(client: &DapClient, spec: &BreakpointSpec) -> Result<(), DebuggerError> {
    for expression in expressions(spec)? {
        let literal = serde_json::to_string(&expression.text).map_err(|e| DebuggerError::Protocol(e.to_string()))?;
        // `exec` of a statement: compile only, nothing of the program runs.
        let code = format!(
            "try:\n    compile({literal}, '<{option}>', 'eval')\nexcept SyntaxError as e:\n    raise ValueError({mark:?} + str(e.msg)) from None\n",
            option = expression.option,
            mark = PY_MARK,
        );
        let request = client.request::<dap::Evaluate>(dap::EvaluateArguments { expression: code, frame_id: None, context: "repl".into(), format: None });
        match tokio::time::timeout(CHECK_TIMEOUT, request).await {
            Ok(Ok(_)) => {}
            Ok(Err(borescope_dap::DapError::Failed { message, .. })) => {
                if let Some(at) = message.find(PY_MARK) {
                    let error = message[at + PY_MARK.len()..].lines().next().unwrap_or_default().trim();
                    return Err(bad(expression.option, &expression.text, error));
                }
                tracing::debug!(%message, "condition check failed for another reason");
                return Err(unchecked(&expression, &message));
            }
            Ok(Err(other)) => return Err(other.into()),
            Err(_) => return Err(unchecked(&expression, "the debugger did not answer within 5s")),
        }
    }
    Ok(())
}

/// Checks a breakpoint's expressions with V8's compiler.
pub async fn check_node(client: &CdpClient, spec: &BreakpointSpec) -> Result<(), DebuggerError> {
    for expression in expressions(spec)? {
        let source = cdp::CompileSource {
            // Parenthesised on lines of their own: it must be one expression, and a trailing
            // `//` comment cannot swallow the closing parenthesis.
            expression: format!("(\n{}\n)", expression.text),
            source_url: format!("<{}>", expression.option),
            persist_script: false,
        };
        let reply = tokio::time::timeout(CHECK_TIMEOUT, client.call::<cdp::CompileScript>(source))
            .await
            .map_err(|_| unchecked(&expression, "V8 did not answer within 5s"))??;
        if let Some(details) = reply.exception_details {
            let text = details.exception.and_then(|e| e.description).unwrap_or(details.text);
            let first = text.lines().next().unwrap_or_default().trim();
            let error = first.strip_prefix("SyntaxError: ").unwrap_or(first);
            return Err(bad(expression.option, &expression.text, error));
        }
    }
    Ok(())
}

fn unchecked(expression: &Expression, why: &str) -> DebuggerError {
    DebuggerError::State(format!(
        "cannot check {} `{}` in the program ({why}); the breakpoint was not set",
        expression.option, expression.text
    ))
}

/// The job entries the agent checks before a launched program's first line.
pub fn job_expressions(specs: &[BreakpointSpec]) -> Result<serde_json::Value, DebuggerError> {
    let mut all = Vec::new();
    for spec in specs {
        for expression in expressions(spec)? {
            all.push(json!({"option": expression.option, "text": expression.text}));
        }
    }
    Ok(serde_json::Value::Array(all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parts_are_found_and_bad_templates_refused() {
        assert_eq!(template_parts("n={n} d={ {'a': 1}['a'] }").unwrap(), ["n", " {'a': 1}['a'] "]);
        assert_eq!(template_parts("no values").unwrap(), Vec::<String>::new());
        assert!(template_parts("x={x").unwrap_err().contains("never closed"));
        assert!(template_parts("x={}").unwrap_err().contains("names no expression"));
    }
}
