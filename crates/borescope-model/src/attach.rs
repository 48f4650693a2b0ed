//! Running processes borescope can attach to, and what `exec` and `attach --listen-only`
//! report. (An attached session answers with the ordinary session types.)

use crate::Notice;
use serde::{Deserialize, Serialize};

/// Schema of [`ProcessList`] (`borescope ps --json`).
pub const PS_SCHEMA: &str = "borescope.ps/1";
/// Schema of [`ExecReport`] (`borescope exec --json`).
pub const EXEC_SCHEMA: &str = "borescope.exec/1";
/// Schema of [`ListenReport`] (`borescope attach --listen-only --json`).
pub const LISTEN_SCHEMA: &str = "borescope.listen/1";
/// Schema of [`SnapAttachReport`] (`borescope snap attach --json`).
pub const SNAP_ATTACH_SCHEMA: &str = "borescope.snap-attach/1";

/// Python processes on this machine (and in its containers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessList {
    /// [`PS_SCHEMA`].
    pub schema: String,
    /// The processes, parents before their children.
    pub processes: Vec<PythonProcess>,
    /// What could not be looked at, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// What a process is for, in a server that reloads or forks workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessRole {
    /// Watches files and restarts its worker (uvicorn `--reload`, Werkzeug/Flask, Django
    /// `runserver`): no application code runs here.
    Reloader,
    /// Starts and supervises workers (gunicorn master, uvicorn `--workers`).
    Supervisor,
    /// Runs the application and serves requests: attach here.
    Worker,
    /// Internal helper (multiprocessing's resource tracker, a fork server).
    Helper,
}

/// One Python process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonProcess {
    /// Process id (as borescope sees it).
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Owner's user name.
    pub user: String,
    /// Python version, read from the process's interpreter binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// How the version was read: `debug_offsets`, `py_version`, `file_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_source: Option<String>,
    /// CPU use over the sampling interval, in percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Resident memory, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// Command line.
    pub command: Vec<String>,
    /// True when `borescope attach PID` can work.
    pub attachable: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// How borescope runs code in it: `pep768` (CPython 3.14+, `sys.remote_exec`'s mechanism)
    /// or `ptrace` (3.9–3.13: a pending call scheduled through ptrace); absent when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Its role in a reloading or forking server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ProcessRole>,
    /// The server it belongs to (`uvicorn`, `werkzeug`, `django`, `gunicorn`, `multiprocessing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// TCP ports it listens on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    /// True when it runs in another mount namespace (a container).
    #[serde(default)]
    pub container: bool,
    /// Its pid inside its own PID namespace, when that differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_inside: Option<u32>,
}

/// What `borescope exec` brought back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecReport {
    /// [`EXEC_SCHEMA`].
    pub schema: String,
    /// The process.
    pub pid: u32,
    /// The Python thread the code ran in.
    pub thread: String,
    /// The process's Python version.
    pub python: String,
    /// What the code printed to stdout (only its own thread's writes).
    pub stdout: String,
    /// What it printed to stderr.
    pub stderr: String,
    /// The traceback, when it raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Characters of output dropped beyond the capture limit.
    #[serde(default)]
    pub dropped: u64,
    /// Wall time from injection to the report, in milliseconds.
    pub elapsed_ms: u64,
}

impl ExecReport {
    /// The report of an `exec` job from the status the agent wrote (`borescope_agent.remote`),
    /// wherever it ran (a local process, a pod).
    pub fn from_status(pid: u32, status: &serde_json::Value, elapsed_ms: u64) -> ExecReport {
        let text = |key: &str| status[key].as_str().unwrap_or_default().to_string();
        ExecReport {
            schema: EXEC_SCHEMA.into(),
            pid,
            thread: text("thread"),
            python: text("python"),
            stdout: text("stdout"),
            stderr: text("stderr"),
            error: status["error"].as_str().map(str::to_string),
            dropped: status["dropped"].as_u64().unwrap_or(0),
            elapsed_ms,
        }
    }
}

/// What `borescope attach --listen-only` set up, for an editor to connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenReport {
    /// [`LISTEN_SCHEMA`].
    pub schema: String,
    /// The process.
    pub pid: u32,
    /// Its Python version.
    pub python: String,
    /// The debugpy version that listens.
    pub debugpy: String,
    /// Where it listens (in the process's network namespace).
    pub host: String,
    /// The port.
    pub port: u16,
    /// A VS Code `launch.json` configuration that attaches to it.
    pub launch_json: serde_json::Value,
    /// Warnings and next steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// What `borescope snap attach PID` (load the live-snapshot agent into a running process) and
/// `snap attach PID --detach` (take it out again) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapAttachReport {
    /// [`SNAP_ATTACH_SCHEMA`].
    pub schema: String,
    /// The process.
    pub pid: u32,
    /// True after attaching, false after detaching.
    pub attached: bool,
    /// False when `--detach` found no agent to take out.
    pub changed: bool,
    /// The process's Python version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// The instance id the agent registers with (attach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// How lines are hooked there: `monitoring` (3.12+) or `rewrite` (attach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The `sys.monitoring` tool id the agent holds (attach, 3.12+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_id: Option<u32>,
    /// The service it registers as (attach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The environment it registers with (attach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The server it reports to (attach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Caveats and next steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}
