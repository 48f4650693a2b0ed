//! The result of `borescope probe`.

use crate::{ExitInfo, Frame, Language, Location, Notice, OutputTail, Stop, ThreadRef};
use serde::{Deserialize, Serialize};

/// Schema name and version of [`ProbeReport`].
pub const PROBE_SCHEMA: &str = "borescope.probe/1";

/// How a probe ended. Exactly one applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// A location ran (with its condition true, on the requested hit); `stops` holds each hit.
    Hit,
    /// An uncaught exception ended the program before the requested hits: the last of `stops`
    /// is where it was raised; any stops before it are hits collected first (`--hits`).
    Exception,
    /// The program exited without reaching any location.
    NotReached,
    /// The time limit passed first; `threads` shows where the program was.
    Timeout,
}

/// Where one thread was when a probe timed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadSnapshot {
    /// The thread.
    pub thread: ThreadRef,
    /// Its stack, innermost first.
    pub stack: Vec<Frame>,
}

/// Everything `borescope probe` learned. Rendered as text by default, printed as-is by `--json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Always [`PROBE_SCHEMA`].
    pub schema: String,
    /// Which of the four outcomes happened.
    pub outcome: ProbeOutcome,
    /// Language of the program.
    pub language: Language,
    /// Mechanism that watched the lines: `sys.monitoring`, `rewrite`, `settrace` or `cdp`; the
    /// one that captured the first stop (the rewrite engine can fall back to settrace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Runtime version, e.g. `Python 3.14.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The resolved locations that were watched.
    pub locations: Vec<Location>,
    /// The command that ran.
    pub command: Vec<String>,
    /// Process id of the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Hits (outcome `hit`), or hits then the exception stop (outcome `exception`).
    #[serde(default)]
    pub stops: Vec<Stop>,
    /// Number of hits requested with `--hits` (1 otherwise).
    pub hits_requested: u32,
    /// How the program ended, if it ended on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// The time limit, in seconds.
    pub timeout_secs: f64,
    /// On timeout: where each thread was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadSnapshot>,
    /// The last lines the program printed.
    #[serde(default)]
    pub output: OutputTail,
    /// Caveats and cuts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// Wall time of the whole probe, in milliseconds.
    pub elapsed_ms: u64,
}
