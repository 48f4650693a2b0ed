//! The relay's plaintext messages (`docs/lambda-relay.md` §5): an invocation as the shim sends
//! it, and the answers (`ack`, `result`, `error`) as JSON objects.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// One invocation relayed from Lambda.
#[derive(Clone, Serialize, Deserialize)]
pub struct Invoke {
    /// `invoke`.
    pub t: String,
    /// The Lambda request id.
    pub id: String,
    /// When the shim sent it (ms).
    pub ts: i64,
    /// The execution environment's worker id (answers go to its topic).
    pub w: String,
    /// The function's name.
    #[serde(rename = "fn")]
    pub function: String,
    /// The function's original handler (`module.func`).
    pub handler: String,
    /// The event, as the Runtime API gave it.
    pub event: String,
    /// The Lambda context's fields.
    pub context: serde_json::Value,
    /// The function's environment (with its temporary credentials: never logged or stored).
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for Invoke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoke").field("id", &self.id).field("fn", &self.function).field("w", &self.w).finish_non_exhaustive()
    }
}

/// The `ack` for an invocation.
pub fn ack(id: &str) -> serde_json::Value {
    serde_json::json!({"t": "ack", "id": id, "ts": now_ms()})
}

/// How an invocation ended, as the worker reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The handler returned.
    Ok,
    /// The handler raised (or could not be imported).
    Error {
        /// The exception's type.
        error_type: String,
        /// Its message.
        message: String,
    },
}

impl Outcome {
    /// Reads the outcome of a worker's `result` / `error` message.
    pub fn of(answer: &serde_json::Value) -> Outcome {
        match answer.get("t").and_then(|t| t.as_str()) {
            Some("result") => Outcome::Ok,
            _ => Outcome::Error {
                error_type: answer.get("type").and_then(|t| t.as_str()).unwrap_or("Error").to_string(),
                message: answer.get("message").and_then(|t| t.as_str()).unwrap_or_default().to_string(),
            },
        }
    }
}
