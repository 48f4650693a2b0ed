//! Values of a paused Python session, captured inside the program by the probe's own rules.
//!
//! The agent's `session_view` module (`python/borescope_agent/session_view.py`, loaded into the
//! program with the listen job) is called through one DAP `evaluate` in a frame of the stopped
//! thread: `request(JSON)` answers with JSON text, which debugpy returns whole (the `clipboard`
//! context and `rawString` turn off its cutting and quoting). So locals, `vars PATH`, `eval` and
//! stop reports show values exactly as a probe does: definition order, objects by their
//! attributes, item counts, module-level imports hidden, secret-looking names redacted.
//!
//! When the agent cannot answer (its package is not in the program, an older debugpy), values
//! come from debugpy's own `variables` instead ([`super::dap_report`]): a session always answers.

use super::dap_report::{children as dap_children, frame_locals as dap_frame_locals, variable_from_dap};
use crate::DebuggerError;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::{Budget, EvalResult, Variable};
use serde::Deserialize;
use serde_json::{json, Value};

/// One frame of the stopped thread as the agent sees it (library and runtime frames included).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ViewFrame {
    /// debugpy's frame id (usable as a DAP `frameId` while the thread is paused).
    pub id: i64,
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// What the agent reports for a stop.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct StopView {
    pub frames: Vec<ViewFrame>,
    /// Index in `frames` of the frame debugpy stopped in (the innermost user frame).
    pub selected: usize,
    pub variables: Vec<Variable>,
    pub omitted: usize,
}

#[derive(Debug, Deserialize)]
struct Listing {
    #[serde(default)]
    variables: Vec<Variable>,
    #[serde(default)]
    omitted: usize,
    /// The user's path did not evaluate.
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Evaluated {
    result: EvalResult,
}

/// The Python expression that makes one request to the agent.
fn request_expression(ask: &Value) -> String {
    // A JSON string literal is a valid Python string literal. debugpy replaces `@LINE@` in
    // expressions with newlines, so `@` is written as an escape Python reads back as `@`.
    let literal = serde_json::to_string(&ask.to_string())
        .unwrap_or_else(|_| "\"{}\"".into())
        .replace('@', "\\u0040");
    format!("__import__('borescope_agent.session_view', None, None, ['request']).request({literal})")
}

/// Asks the agent in frame `frame_id`; `None` when it cannot answer (the reason is logged).
async fn ask<T: for<'de> Deserialize<'de>>(client: &DapClient, frame_id: i64, ask: Value) -> Option<T> {
    let reply = client
        .request::<dap::Evaluate>(dap::EvaluateArguments {
            expression: request_expression(&ask),
            frame_id: Some(frame_id),
            context: "clipboard".into(),
            format: Some(dap::ValueFormat { raw_string: Some(true), ..Default::default() }),
        })
        .await;
    let text = match reply {
        Ok(reply) => reply.result,
        Err(error) => {
            tracing::debug!(%error, "session_view request failed");
            return None;
        }
    };
    let answer: Value = match serde_json::from_str(&text) {
        Ok(answer) => answer,
        Err(_) => {
            // Not our JSON: typically the ImportError of a program without the agent package.
            tracing::debug!(answer = %text.chars().take(300).collect::<String>(), "session_view unavailable");
            return None;
        }
    };
    if answer.get("ok").and_then(Value::as_bool) != Some(true) {
        tracing::debug!(error = %answer.get("error").cloned().unwrap_or_default(), "session_view could not look");
        return None;
    }
    match serde_json::from_value(answer) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            tracing::debug!(%error, "session_view answer has an unexpected shape");
            None
        }
    }
}

/// The stopped thread's frames and the stop frame's locals, when the agent can answer.
pub(super) async fn stop_view(client: &DapClient, frame_id: i64, budget: &Budget) -> Option<StopView> {
    let view: StopView = ask(client, frame_id, json!({"op": "stop", "frame": frame_id, "budget": budget})).await?;
    (!view.frames.is_empty() && view.selected < view.frames.len()).then_some(view)
}

/// The locals of a frame, within the budget.
pub(super) async fn frame_locals(client: &DapClient, frame_id: i64, budget: &Budget) -> Result<(Vec<Variable>, usize), DebuggerError> {
    match ask::<Listing>(client, frame_id, json!({"op": "locals", "frame": frame_id, "budget": budget})).await {
        Some(listing) => Ok((listing.variables, listing.omitted)),
        None => dap_frame_locals(client, frame_id, budget).await,
    }
}

/// What `vars PATH` lists: the items or attributes of PATH's value (or the value itself when it
/// has none).
pub(super) async fn path_children(
    client: &DapClient,
    frame_id: i64,
    path: &str,
    budget: &Budget,
) -> Result<(Vec<Variable>, usize), DebuggerError> {
    let asked = json!({"op": "children", "frame": frame_id, "path": path, "budget": budget});
    if let Some(listing) = ask::<Listing>(client, frame_id, asked).await {
        return match listing.error {
            Some(error) => Err(cannot_read(path, &error)),
            None => Ok((listing.variables, listing.omitted)),
        };
    }
    let reply = client
        .request::<dap::Evaluate>(dap::EvaluateArguments {
            expression: path.to_string(),
            frame_id: Some(frame_id),
            context: "watch".into(),
            format: None,
        })
        .await
        .map_err(|e| cannot_read(path, &dap_message(&e)))?;
    if reply.variables_reference > 0 && !(budget.redact && crate::redact::is_secret_expression(path)) {
        dap_children(client, reply.variables_reference, budget).await
    } else {
        let mut var = variable_from_dap(path, &reply.result, reply.type_name.as_deref(), 0, budget);
        hide_if_secret(&mut var, path, budget);
        Ok((vec![var], 0))
    }
}

/// `eval TEXT` in a frame: an expression's value, what statements assigned, or the error.
pub(super) async fn evaluate(client: &DapClient, frame_id: Option<i64>, text: &str, budget: &Budget) -> EvalResult {
    if let Some(frame_id) = frame_id {
        let asked = json!({"op": "eval", "frame": frame_id, "text": text, "budget": budget});
        if let Some(evaluated) = ask::<Evaluated>(client, frame_id, asked).await {
            return evaluated.result;
        }
    }
    let reply = client
        .request::<dap::Evaluate>(dap::EvaluateArguments {
            expression: text.to_string(),
            frame_id,
            context: "repl".into(),
            format: None,
        })
        .await;
    match reply {
        Ok(reply) => {
            let mut var = variable_from_dap(text, &reply.result, reply.type_name.as_deref(), reply.variables_reference, budget);
            hide_if_secret(&mut var, text, budget);
            EvalResult { expression: text.to_string(), value: Some(var), error: None, statement: None }
        }
        Err(error) => EvalResult { expression: text.to_string(), value: None, error: Some(dap_message(&error)), statement: None },
    }
}

fn cannot_read(path: &str, error: &str) -> DebuggerError {
    DebuggerError::BadCommand(format!("cannot read `{path}`: {error}"))
}

/// Hides a value read by a secret-looking expression (fallback path; the agent does the same).
fn hide_if_secret(var: &mut Variable, expression: &str, budget: &Budget) {
    if budget.redact && crate::redact::is_secret_expression(expression) {
        var.value.clear();
        var.redacted = true;
        var.expandable = false;
    }
}

/// The useful part of a DAP error (debugpy's evaluate errors carry the Python message).
pub(super) fn dap_message(error: &borescope_dap::DapError) -> String {
    match error {
        borescope_dap::DapError::Failed { message, .. } => message.lines().last().unwrap_or(message).trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_one_python_call_with_a_literal_debugpy_leaves_alone() {
        let expression = request_expression(&json!({"op": "eval", "text": "a @ b\n'x'"}));
        assert!(expression.starts_with("__import__('borescope_agent.session_view'"), "{expression}");
        assert!(!expression.contains('@'), "{expression}");
        assert!(!expression.contains('\n'), "{expression}");
    }
}
