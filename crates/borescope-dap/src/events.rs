//! Bodies of the DAP events borescope acts on.

use serde::Deserialize;

/// `stopped`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedEvent {
    /// `breakpoint`, `step`, `exception`, `pause`, `entry`, ...
    pub reason: String,
    /// Short description.
    #[serde(default)]
    pub description: Option<String>,
    /// The thread that stopped.
    #[serde(default)]
    pub thread_id: Option<i64>,
    /// Extra text (the exception type for exception stops).
    #[serde(default)]
    pub text: Option<String>,
    /// Whether every thread stopped.
    #[serde(default)]
    pub all_threads_stopped: Option<bool>,
    /// Ids of the breakpoints that were hit.
    #[serde(default)]
    pub hit_breakpoint_ids: Option<Vec<i64>>,
}

/// `output`.
#[derive(Debug, Clone, Deserialize)]
pub struct OutputEvent {
    /// `stdout`, `stderr`, `console`, `telemetry`, ...
    #[serde(default)]
    pub category: Option<String>,
    /// The text.
    pub output: String,
}

/// `exited`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitedEvent {
    /// Exit code.
    pub exit_code: i32,
}

/// `continued`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuedEvent {
    /// The thread.
    #[serde(default)]
    pub thread_id: Option<i64>,
}
