//! One snapshot: what an agent captured when a probe's line ran.

use borescope_model::{EvalResult, Frame, Location, Notice, SourceContext, ThreadRef, Variable};
use serde::{Deserialize, Serialize};

/// Schema name of a [`Snapshot`] in `--json` output.
pub const SNAPSHOT_SCHEMA: &str = "borescope.snapshot/1";

/// What the agent captured, as uploaded (an element of `Upload::snapshots`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotData {
    /// The probe that fired.
    pub probe_id: i64,
    /// When the line ran, Unix milliseconds.
    pub time_ms: i64,
    /// The line, with the file's real path in the instance.
    pub location: Option<Location>,
    /// The function holding the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The thread that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadRef>,
    /// Source lines around the line, read in the instance (a few lines each side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceContext>,
    /// The stack, innermost first (user, library and runtime frames, classified).
    #[serde(default)]
    pub stack: Vec<Frame>,
    /// Locals and arguments of the innermost frame.
    #[serde(default)]
    pub locals: Vec<Variable>,
    /// Locals not captured because of the variable limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub locals_omitted: usize,
    /// Locals of further frames, when the probe asked for more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_locals: Vec<FrameLocals>,
    /// The probe's capture expressions, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evals: Vec<EvalResult>,
    /// A logpoint's rendered message (logpoints capture nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What was cut or skipped: the byte or time budget ran out, and so on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// How long capturing took, microseconds.
    #[serde(default)]
    pub capture_us: u64,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

/// Locals of one more frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameLocals {
    /// Index into `stack`.
    pub index: usize,
    /// Its locals.
    pub locals: Vec<Variable>,
}

/// A stored snapshot, as people read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `borescope.snapshot/1`.
    #[serde(default)]
    pub schema: String,
    /// The snapshot's id (increasing; also the pagination cursor).
    pub id: i64,
    /// Service.
    pub service: String,
    /// The instance that captured it.
    pub instance_id: String,
    /// That instance's host.
    #[serde(default)]
    pub host: String,
    /// That instance's process id.
    #[serde(default)]
    pub pid: u32,
    /// When the server stored it, Unix milliseconds.
    pub received_ms: i64,
    /// What was captured.
    #[serde(flatten)]
    pub data: SnapshotData,
}
