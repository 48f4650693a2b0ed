//! What the control plane hands back: progress events while it works, and the attach, detach
//! and status reports the CLI prints (text or `--json`). No secret is ever in a report.

use serde::Serialize;
use std::path::PathBuf;

/// One step done (or being retried) by `attach` or `detach`, in order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// The layer version to add: an existing one with the same content, or a new one.
    Layer {
        /// Its version ARN.
        arn: String,
        /// True when an existing version was reused.
        reused: bool,
    },
    /// The relay policy was added to (or updated on) a role.
    PolicyPut {
        /// The role name.
        role: String,
    },
    /// This attach's statement left a role's relay policy.
    PolicyRemoved {
        /// The role name.
        role: String,
    },
    /// A function now runs borescope's layer and wrapper.
    Instrumented {
        /// The function name.
        function: String,
    },
    /// A function is back to its recorded configuration.
    Restored {
        /// The function name.
        function: String,
    },
    /// A call met a conflict or throttling and is tried again after `delay_ms`.
    Retrying {
        /// The API action.
        action: String,
        /// The resource.
        resource: String,
        /// AWS's error code.
        code: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Milliseconds before the next attempt.
        delay_ms: u64,
    },
}

/// The progress callback `attach` and `detach` call after each step.
pub type ProgressFn<'a> = dyn FnMut(Progress) + Send + 'a;

/// A function `attach` instrumented.
#[derive(Debug, Clone, Serialize)]
pub struct AttachedFunction {
    /// The function's logical id in the stack (`Nested/Fn` inside a nested stack).
    pub logical_id: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The timeout it had (restored on detach).
    pub original_timeout: i32,
    /// The timeout it has while attached.
    pub timeout: i32,
    /// The holder of an earlier attach this one took over, if any.
    pub took_over_from: Option<String>,
}

/// What `attach` did.
#[derive(Debug, Clone, Serialize)]
pub struct AttachReport {
    /// The stack.
    pub stack: String,
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The layer version added to every function.
    pub layer_arn: String,
    /// True when that layer version already existed.
    pub layer_reused: bool,
    /// The roles that got the relay policy.
    pub roles: Vec<String>,
    /// The functions instrumented.
    pub functions: Vec<AttachedFunction>,
    /// The local state file (what `detach` restores from on this machine).
    pub state_file: PathBuf,
}

/// Where `detach` read what to restore.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RestoreSource {
    /// The function's own `BORESCOPE_LAMBDA` record.
    FunctionRecord,
    /// This machine's state file (the record was gone but borescope's changes were not).
    StateFile,
}

/// One function as `detach` found and left it.
#[derive(Debug, Clone, Serialize)]
pub struct DetachedFunction {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// How it was restored; `None` when it was not instrumented (nothing to do).
    pub restored_from: Option<RestoreSource>,
    /// Who had attached it, when known.
    pub holder: Option<String>,
}

/// What `detach` did.
#[derive(Debug, Clone, Serialize)]
pub struct DetachReport {
    /// The stack.
    pub stack: String,
    /// Every function looked at.
    pub functions: Vec<DetachedFunction>,
    /// The roles whose relay policy statement was removed.
    pub roles: Vec<String>,
    /// The local state file removed, if there was one.
    pub state_file_removed: Option<PathBuf>,
}

impl DetachReport {
    /// How many functions were restored.
    pub fn restored(&self) -> usize {
        self.functions
            .iter()
            .filter(|f| f.restored_from.is_some())
            .count()
    }
}

/// One function in `status`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionStatus {
    /// The stack it belongs to, when known.
    pub stack: Option<String>,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether it carries borescope's record.
    pub instrumented: bool,
    /// Who attached it.
    pub holder: Option<String>,
    /// Since when (Unix seconds).
    pub since: Option<u64>,
    /// The same, as `YYYY-MM-DDTHH:MM:SSZ`.
    pub since_utc: Option<String>,
    /// Its timeout now.
    pub timeout: i32,
    /// The timeout it had before the attach (restored on detach).
    pub original_timeout: Option<i32>,
}

/// A state file on this machine (an attach from here that was not detached).
#[derive(Debug, Clone, Serialize)]
pub struct LocalAttach {
    /// The stack.
    pub stack: String,
    /// The holder recorded.
    pub holder: String,
    /// Since when (Unix seconds).
    pub since: u64,
    /// `attaching` (interrupted or running) or `attached`.
    pub phase: super::state::Phase,
    /// The file.
    pub state_file: PathBuf,
}

/// What `status` found.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The stack asked about, if any.
    pub stack: Option<String>,
    /// Functions: every Python function of the stack, or every instrumented function of the
    /// region when no stack was given.
    pub functions: Vec<FunctionStatus>,
    /// Attaches this machine recorded for this account and region (for the stack, if given).
    pub local: Vec<LocalAttach>,
}
