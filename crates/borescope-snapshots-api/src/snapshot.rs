//! One snapshot: what an agent captured when a probe's line ran (`kind: "probe"`), or when an
//! exception escaped a request handler or a thread, or was logged (`kind: "exception"`, with
//! the locals of every frame of its traceback).

use borescope_model::{EvalResult, Frame, Location, Notice, SourceContext, ThreadRef, Variable};
use serde::{Deserialize, Serialize};

/// Schema name of a [`Snapshot`] in `--json` output.
pub const SNAPSHOT_SCHEMA: &str = "borescope.snapshot/1";

/// What made a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// A probe's line ran.
    #[default]
    Probe,
    /// An exception escaped or was logged, in a service whose exception snapshots are on.
    Exception,
}

impl SnapshotKind {
    /// `probe` or `exception`, as stored and as the `kind` filter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Probe => "probe",
            SnapshotKind::Exception => "exception",
        }
    }
}

/// Where the agent saw an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionOrigin {
    /// A Flask request handler raised (Flask logged it).
    Flask,
    /// A FastAPI/Starlette request handler raised (the server, e.g. uvicorn, logged it).
    Fastapi,
    /// It escaped a thread (`threading.excepthook`).
    Thread,
    /// It escaped the main program (`sys.excepthook`).
    Excepthook,
    /// It was logged at ERROR or above with its traceback (`logging.exception`).
    Logging,
}

/// An exception a chained exception came from (`raise ... from err`) or happened while
/// handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedException {
    /// `cause` (`raise ... from`) or `context` (raised while handling it).
    pub relation: String,
    /// Its type, qualified unless a builtin (`KeyError`, `orders.PriceError`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its message, cut.
    #[serde(default)]
    pub message: String,
    /// Where it was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// The exception of an exception snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// Its type, qualified unless a builtin (`KeyError`, `orders.PriceError`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its message (`str(exc)`), cut.
    #[serde(default)]
    pub message: String,
    /// Where it was raised (the innermost frame of its traceback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The function that raised it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Where the agent saw it.
    pub origin: ExceptionOrigin,
    /// How many times this (type, location) happened in the instance since the last snapshot of
    /// it was stored, this one included; the server adds the occurrences the agent suppressed
    /// afterwards (deduplication), so it grows until the next snapshot of the same failure.
    #[serde(default = "one")]
    pub occurrences: u64,
    /// The exceptions it was chained to, nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainedException>,
}

fn one() -> u64 {
    1
}

/// What the agent captured, as uploaded (an element of `Upload::snapshots`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotData {
    /// What made it; `probe` when absent.
    #[serde(default)]
    pub kind: SnapshotKind,
    /// The probe that fired; null for an exception snapshot.
    #[serde(default)]
    pub probe_id: Option<i64>,
    /// The exception, for an exception snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionInfo>,
    /// When the line ran (or the exception was seen), Unix milliseconds.
    pub time_ms: i64,
    /// The line, with the file's real path in the instance (for an exception, where it was
    /// raised).
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
    /// Locals of further frames, when the probe asked for more than one (an exception snapshot:
    /// every other frame of the traceback).
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
