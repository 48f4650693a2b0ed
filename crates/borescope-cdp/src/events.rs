//! Events borescope acts on.

use crate::types::{CallFrame, RemoteObject, ScriptLocation, StackTrace};
use serde::Deserialize;

/// `Debugger.paused`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paused {
    /// Frames, innermost first.
    pub call_frames: Vec<CallFrame>,
    /// `other` (breakpoints and steps), `exception`, `promiseRejection`, `Break on start`, ...
    pub reason: String,
    /// For exceptions: the exception.
    #[serde(default)]
    pub data: Option<RemoteObject>,
    /// Breakpoints that caused the pause (empty for steps).
    #[serde(default)]
    pub hit_breakpoints: Vec<String>,
    /// Async callers.
    #[serde(default)]
    pub async_stack_trace: Option<StackTrace>,
}

/// `Debugger.breakpointResolved`: a pending breakpoint bound.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointResolved {
    /// The breakpoint.
    pub breakpoint_id: String,
    /// Where.
    pub location: ScriptLocation,
}
