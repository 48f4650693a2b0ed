//! Requests and responses. Every request travels in an [`Envelope`] carrying the client's
//! version, so a daemon left over from another borescope version answers with a clear error
//! instead of misreading fields.

use borescope_model::{Answer, Budget, BreakpointSpec, ExceptionMode, FollowTarget, Language, Location, PodProcessRef};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Protocol version; bump when a request or answer changes shape.
pub const PROTOCOL_VERSION: u32 = 4;

/// A request with the client's protocol version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PROTOCOL_VERSION`] of the client.
    pub version: u32,
    /// [`build_identity`] of the client's executable: a daemon started from a different build
    /// (an upgrade, a rebuild) is replaced rather than trusted to agree on every detail.
    #[serde(default)]
    pub build: String,
    /// The request.
    pub request: Request,
}

/// Identifies the running executable: version, size and modification time of the file, read
/// once per process (a daemon whose file is replaced by a rebuild keeps its identity).
pub fn build_identity() -> String {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(read_identity).clone()
}

/// A short, file-name-safe id of [`build_identity`]: each build runs its own daemon in a
/// directory named after it, so two builds on one machine never replace each other's daemon.
pub fn build_id() -> String {
    short_id(&build_identity())
}

/// 64-bit FNV-1a of `identity`, in hex (stable across Rust versions, unlike `DefaultHasher`).
fn short_id(identity: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn read_identity() -> String {
    // A daemon started by a client serves the client's build, even if the executable file was
    // replaced (rebuilt, reinstalled) while that client, e.g. `borescope mcp`, kept running.
    if let Ok(identity) = std::env::var(borescope_static::EnvVars::BORESCOPE_DAEMON_BUILD)
        && !identity.is_empty()
    {
        return identity;
    }
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    let (size, modified) = match meta {
        Ok(meta) => (
            meta.len(),
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        ),
        Err(_) => (0, 0),
    };
    format!("{}+{size}+{modified}", env!("CARGO_PKG_VERSION"))
}

/// Run-control actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunActionArg {
    /// Resume until the next stop.
    Continue,
    /// Step over.
    Next,
    /// Step in.
    Step,
    /// Step out.
    Out,
    /// Pause.
    Pause,
}

/// Where a started program's standard input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StdinSource {
    /// The descriptor handed over with the request (the caller's own standard input).
    Caller,
    /// A pipe the daemon holds: `input` requests write to it (for callers whose input is a
    /// terminal or a protocol stream, such as the MCP server).
    #[default]
    Pipe,
}

/// What `start` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartRequest {
    /// The command.
    pub command: Vec<String>,
    /// Absolute working directory of the program.
    pub cwd: PathBuf,
    /// The caller's working directory (base for relative breakpoint paths).
    pub client_cwd: PathBuf,
    /// The caller's environment (the program gets it, not the daemon's).
    pub env: Vec<(String, String)>,
    /// `--env` overrides.
    pub overrides: Vec<(String, String)>,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// `--lang`.
    pub language: Option<Language>,
    /// Initial breakpoints (paths relative to `client_cwd` allowed).
    pub breakpoints: Vec<BreakpointSpec>,
    /// Stop at the first line.
    pub stop_on_entry: bool,
    /// Start running at once instead of holding the program before its first line.
    #[serde(default)]
    pub run: bool,
    /// Where the program's standard input comes from.
    #[serde(default)]
    pub stdin: StdinSource,
    /// Which exceptions stop.
    pub exceptions: ExceptionMode,
    /// Consent to use the cached debugpy.
    pub provision_debugpy: bool,
    /// How long to wait for the first stop, in milliseconds.
    pub timeout_ms: u64,
    /// Budget.
    pub budget: Budget,
}

/// What `attach` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachRequest {
    /// The process.
    pub pid: u32,
    /// Run the start-up job in this thread (native id as the process sees it) instead of the
    /// main thread.
    #[serde(default)]
    pub thread: Option<u64>,
    /// Breakpoints to set at once (paths relative to `client_cwd` allowed).
    pub breakpoints: Vec<BreakpointSpec>,
    /// The caller's working directory.
    pub client_cwd: PathBuf,
    /// Which exceptions stop the program.
    pub exceptions: ExceptionMode,
    /// How long the process may take to pick up the start-up job, in milliseconds.
    pub timeout_ms: u64,
    /// Ship borescope's copy of debugpy in when the process has none.
    pub ship_debugpy: bool,
    /// Budget for the report.
    pub budget: Budget,
}

/// What `attach pod/NAME` carries: one process the caller already chose (`borescope-kube`'s
/// `choose`), in one container of one pod.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodAttachRequest {
    /// The caller's `KUBECONFIG` (the daemon may have been started with another).
    #[serde(default)]
    pub kubeconfig: Option<String>,
    /// The kubeconfig context (`None`: the current one).
    #[serde(default)]
    pub context: Option<String>,
    /// The process.
    pub process: PodProcessRef,
    /// Breakpoints to set at once (paths in the container; relative ones against its working
    /// directory).
    pub breakpoints: Vec<BreakpointSpec>,
    /// Which exceptions stop the program.
    pub exceptions: ExceptionMode,
    /// How long the process may take to pick up the start-up job, in milliseconds.
    pub timeout_ms: u64,
    /// Ship borescope's copy of debugpy in when the process has none.
    pub ship_debugpy: bool,
    /// Budget for the report.
    pub budget: Budget,
    /// `--follow`: when the pod is replaced, attach again to its successor (a ready pod behind
    /// this Service, or with the pod's own labels when `None`) with the session's breakpoints.
    #[serde(default)]
    pub follow: Option<FollowTarget>,
}

/// What `attach HOST:PORT` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// `HOST:PORT` (or `:PORT`) of debugpy or Node's inspector.
    pub address: String,
    /// `--path-map LOCAL=REMOTE` pairs (LOCAL absolute).
    #[serde(default)]
    pub path_maps: Vec<(String, String)>,
    /// Breakpoints to set at once (paths relative to `client_cwd` allowed).
    pub breakpoints: Vec<BreakpointSpec>,
    /// The caller's working directory.
    pub client_cwd: PathBuf,
    /// Which exceptions stop the program.
    pub exceptions: ExceptionMode,
    /// Budget for the report.
    pub budget: Budget,
}

/// What `break` does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakRequest {
    /// Set (or replace) one.
    Set {
        /// The breakpoint.
        spec: BreakpointSpec,
    },
    /// Delete one.
    Delete {
        /// Where.
        location: Location,
    },
    /// Delete the one on a function.
    DeleteFunction {
        /// The function's name, as it was set.
        function: String,
    },
    /// Delete all.
    Clear,
    /// List.
    List,
}

/// Every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Liveness check; answers with the sessions list.
    Ping,
    /// Start a program in a new session.
    Start {
        /// Session name.
        session: String,
        /// What to start.
        spec: Box<StartRequest>,
    },
    /// Attach to a running Python process in a new session.
    Attach {
        /// Session name.
        session: String,
        /// What to attach to.
        spec: Box<AttachRequest>,
    },
    /// Attach to a Python process in a Kubernetes pod in a new session.
    AttachPod {
        /// Session name.
        session: String,
        /// What to attach to.
        spec: Box<PodAttachRequest>,
    },
    /// Start a session's program again, as `start` did, keeping its breakpoints.
    Restart {
        /// Session name.
        session: String,
        /// Where the new run's standard input comes from.
        stdin: StdinSource,
        /// How long to wait for the first stop, in milliseconds.
        timeout_ms: u64,
        /// Budget for the report.
        budget: Budget,
    },
    /// Write to the program's standard input (when the daemon holds it).
    Input {
        /// Session name.
        session: String,
        /// What to write.
        text: String,
        /// Close standard input afterwards.
        eof: bool,
    },
    /// Connect a new session to a debug server already listening (debugpy, Node's inspector).
    Connect {
        /// Session name.
        session: String,
        /// Where and how.
        spec: Box<ConnectRequest>,
    },
    /// Source around the selected frame of a paused session.
    Source {
        /// Session name.
        session: String,
        /// Lines on each side.
        context: u32,
    },
    /// Change or list breakpoints.
    Break {
        /// Session name.
        session: String,
        /// Base for relative paths.
        cwd: PathBuf,
        /// The operation.
        op: BreakRequest,
    },
    /// Run control.
    Run {
        /// Session name.
        session: String,
        /// What to do.
        action: RunActionArg,
        /// How long to wait for a stop, in milliseconds.
        timeout_ms: u64,
        /// Budget for the stop report.
        budget: Budget,
    },
    /// The stack.
    Stack {
        /// Session name.
        session: String,
    },
    /// The threads.
    Threads {
        /// Session name.
        session: String,
    },
    /// Select a frame.
    Frame {
        /// Session name.
        session: String,
        /// Frame index.
        index: usize,
        /// Budget.
        budget: Budget,
    },
    /// Locals or children of a path.
    Vars {
        /// Session name.
        session: String,
        /// Optional path.
        path: Option<String>,
        /// Also closure and module scopes (JavaScript).
        #[serde(default)]
        closures: bool,
        /// Budget.
        budget: Budget,
    },
    /// Evaluate.
    Eval {
        /// Session name.
        session: String,
        /// Expression.
        expression: String,
        /// Budget.
        budget: Budget,
    },
    /// Output since a cursor.
    Output {
        /// Session name.
        session: String,
        /// Cursor.
        since: u64,
        /// Max lines.
        limit: usize,
    },
    /// One session's state.
    Status {
        /// Session name.
        session: String,
        /// Budget for the stop shown when the program is paused.
        #[serde(default)]
        budget: Budget,
    },
    /// End a session.
    Stop {
        /// Session name.
        session: String,
    },
    /// List sessions.
    Sessions,
    /// Exit the daemon if it has no live sessions (answered even across versions).
    Shutdown,
}

/// Classes of errors, so clients can pick an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request was wrong (bad location, unknown session): exit code 2.
    Input,
    /// The request was fine but failed: exit code 1.
    Failed,
    /// Client and daemon speak different protocol versions.
    Version,
}

/// The daemon's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// Success.
    Ok {
        /// The answer.
        answer: Box<Answer>,
    },
    /// Failure, with a message that may carry `hint:` lines.
    Error {
        /// Which kind.
        kind: ErrorKind,
        /// The message.
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error {
            kind,
            message: message.into(),
        }
    }

    /// A success response.
    pub fn ok(answer: Answer) -> Response {
        Response::Ok {
            answer: Box::new(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_ids_are_short_stable_and_differ_per_identity() {
        assert_eq!(short_id("0.1.0+100+1"), short_id("0.1.0+100+1"));
        assert_ne!(short_id("0.1.0+100+1"), short_id("0.1.0+100+2"));
        assert_eq!(short_id(""), "cbf29ce484222325");
        assert!(build_id().chars().all(|c| c.is_ascii_hexdigit()) && build_id().len() == 16);
    }
}
