//! Tool arguments. Field docs become the JSON Schema descriptions agents read.
//!
//! Arguments are parsed inside each tool ([`parse`]) rather than by rmcp's extractor, so a
//! malformed call (a missing field, a wrong type, a misspelt name) is answered with a one-line
//! tool error the agent can act on, instead of a protocol error it may not show to the model.
//! Unknown fields are refused for the same reason: a typo must not be silently ignored.

use rmcp::model::{CallToolResult, JsonObject};
use rmcp::schemars::{self, JsonSchema};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Parses a tool's arguments; the error is a ready tool result.
pub fn parse<P: DeserializeOwned>(tool: &str, arguments: JsonObject) -> Result<P, CallToolResult> {
    serde_json::from_value(serde_json::Value::Object(arguments)).map_err(|e| {
        crate::response::error(format!(
            "invalid arguments for `{tool}`: {e}; see the tool's input schema for the fields it takes"
        ))
    })
}

/// The input schema of a parameter type (what `tools/list` shows).
pub fn schema<P: JsonSchema + 'static>() -> Arc<JsonObject> {
    use rmcp::handler::server::common::{schema_for_empty_input, schema_for_input};
    schema_for_input::<P>().unwrap_or_else(|_| schema_for_empty_input())
}

/// `probe`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeParams {
    /// Source locations as "FILE:LINE" (relative paths resolve against `cwd`). The first one
    /// that runs is reported.
    pub locations: Vec<String>,
    /// The command to run, one argument per item, e.g. ["python3", "app.py", "--port", "0"] or
    /// ["python3", "-m", "pytest", "tests/test_x.py::test_y"] or ["node", "app.js"].
    /// Default: run the first location's file with python3/node.
    #[serde(default)]
    pub command: Vec<String>,
    /// Only stop when this expression (in the program's language) is true in the line's frame.
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop at the Nth time the line runs (with the condition true).
    #[serde(default)]
    pub hit: Option<u32>,
    /// Collect up to N hits without stopping (a sample across iterations), then end.
    #[serde(default)]
    pub hits: Option<u32>,
    /// Expressions to evaluate in the frame at each hit.
    #[serde(default)]
    pub evals: Vec<String>,
    /// Give up after this many seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Working directory for the program and for relative paths (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Extra environment variables for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Interpreter replacing the command's python.
    #[serde(default)]
    pub python: Option<String>,
}

/// `start_session`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartParams {
    /// The command to run, one argument per item, e.g. ["python3", "app.py"] or ["node", "app.js"].
    pub command: Vec<String>,
    /// Session name (default "default"); the CLI sees the same sessions.
    #[serde(default)]
    pub session: Option<String>,
    /// "FILE:LINE" breakpoints set before the first line runs; the call then returns the first
    /// stop report.
    #[serde(default)]
    pub breakpoints: Vec<String>,
    /// Stop at the program's first line and return that stop.
    #[serde(default)]
    pub stop_on_entry: bool,
    /// Start running at once (the call returns while it runs) instead of holding the program
    /// before its first line until the first continue/step.
    #[serde(default)]
    pub run: bool,
    /// Condition for every breakpoint in `breakpoints` (checked when set).
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop only on the Nth hit of each breakpoint in `breakpoints`.
    #[serde(default)]
    pub hit: Option<u32>,
    /// Log this message at each breakpoint in `breakpoints` instead of stopping (`{expr}` is
    /// interpolated).
    #[serde(default)]
    pub log: Option<String>,
    /// Which exceptions stop the program: "uncaught" (default), "raised", "none".
    #[serde(default)]
    pub exceptions: Option<String>,
    /// Working directory (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Use borescope's cached debugpy if the Python interpreter lacks it.
    #[serde(default)]
    pub provision_debugpy: bool,
    /// Seconds to wait for the first stop (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// `set_breakpoint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakpointParams {
    /// "FILE:LINE". Give this or `function`.
    #[serde(default)]
    pub location: Option<String>,
    /// Stop when this function is called instead of at a line: "handle", "Shop.total",
    /// "pkg.module.func". Python: a bare name stops in every function of that name. Node: the
    /// name must be reachable where the program is paused (e.g. stopped on entry).
    #[serde(default)]
    pub function: Option<String>,
    /// Stop only when this expression is true.
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop only on the Nth hit.
    #[serde(default)]
    pub hit: Option<u32>,
    /// Log this message instead of stopping; `{expr}` is replaced by its value. Never pauses.
    #[serde(default)]
    pub log: Option<String>,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
    /// Base directory for a relative FILE (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
}

/// `remove_breakpoint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBreakpointParams {
    /// "FILE:LINE" of the breakpoint to delete; omit with `all: true` to delete every one.
    #[serde(default)]
    pub location: Option<String>,
    /// The function of a function breakpoint to delete.
    #[serde(default)]
    pub function: Option<String>,
    /// Delete every breakpoint.
    #[serde(default)]
    pub all: bool,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
    /// Base directory for a relative FILE.
    #[serde(default)]
    pub cwd: Option<String>,
}

/// Tools that only name a session.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// Execution tools.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
    /// Seconds to wait for the program to stop (default 30); on timeout the report says it
    /// still runs.
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// `select_frame`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameParams {
    /// Frame number from the stack (0 = innermost).
    pub index: usize,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// `variables`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesParams {
    /// What to expand: a name then `.attr`, `[index]` or `['key']` steps, e.g. "order.items[0]".
    /// Omit for the selected frame's locals.
    #[serde(default)]
    pub path: Option<String>,
    /// Also list closure and module variables (JavaScript).
    #[serde(default)]
    pub closures: bool,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// `evaluate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateParams {
    /// The expression, in the program's language, evaluated in the selected frame.
    pub expression: String,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// `output`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputParams {
    /// Only lines after this cursor (the previous call's `next_cursor`); default 0.
    #[serde(default)]
    pub since: Option<u64>,
    /// At most this many lines (default 200).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// Tools that take no arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `list_python_processes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsParams {
    /// Only processes whose command line contains this text.
    #[serde(default)]
    pub name: Option<String>,
    /// Only processes listening on this TCP port (e.g. the port of the web app to debug).
    #[serde(default)]
    pub port: Option<u16>,
}

/// `attach`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachParams {
    /// Process id of a running Python 3.9+ program (from list_python_processes). Give this
    /// or `address`.
    #[serde(default)]
    pub pid: Option<u32>,
    /// "HOST:PORT" (or ":PORT") where debugpy (`python -m debugpy --listen PORT app.py`) or
    /// Node's inspector (`node --inspect=PORT app.js`) already listens, here, in a container
    /// or on another machine.
    #[serde(default)]
    pub address: Option<String>,
    /// With `address`: local directories and the directories the program sees them as, e.g.
    /// {".": "/app"} for a container that mounts the current directory at /app. Breakpoints
    /// name local files; reports show local paths.
    #[serde(default)]
    pub path_map: BTreeMap<String, String>,
    /// Session name (default "default"); the other tools then drive it.
    #[serde(default)]
    pub session: Option<String>,
    /// "FILE:LINE" breakpoints to set at once; then `continue` waits for a hit.
    #[serde(default)]
    pub breakpoints: Vec<String>,
    /// Run borescope's start-up code in this thread id instead of the main thread (when the
    /// main thread is blocked; the error then names candidates). Python 3.14+ only.
    #[serde(default)]
    pub thread: Option<u64>,
    /// Seconds the process may take to pick up borescope's code (default 10).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Base directory for relative breakpoint paths (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// A process in Kubernetes instead: "svc/NAME" (a ready pod behind the Service) or
    /// "pod/NAME[:PID]", reached through the Kubernetes API (kubeconfig of this server).
    /// Breakpoint paths are the container's (relative ones from the app's working directory).
    #[serde(default)]
    pub kubernetes: Option<String>,
    /// With `kubernetes`: the namespace (default: the kubeconfig context's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// With `kubernetes`: the pod's container (default: every container is looked at).
    #[serde(default)]
    pub container: Option<String>,
    /// With `kubernetes`: the kubeconfig context (default: the current one).
    #[serde(default)]
    pub context: Option<String>,
    /// With `kubernetes`: when the pod is replaced (rollout, crash), attach again to its
    /// successor with the same breakpoints (the session's output says so).
    #[serde(default)]
    pub follow: bool,
}

/// `list_pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodsParams {
    /// Namespace (default: the kubeconfig context's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only the pods behind this Service (Knative and ExternalName services too).
    #[serde(default)]
    pub service: Option<String>,
    /// Only pods matching this label selector, e.g. "app=web".
    #[serde(default)]
    pub selector: Option<String>,
    /// Pods of every namespace.
    #[serde(default)]
    pub all_namespaces: bool,
    /// The kubeconfig context (default: the current one).
    #[serde(default)]
    pub context: Option<String>,
}

/// `source`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceParams {
    /// "FILE:LINE" to show (relative to `cwd`); omit for the selected frame of the paused
    /// session.
    #[serde(default)]
    pub location: Option<String>,
    /// Lines on each side of the line (default 10).
    #[serde(default)]
    pub context: Option<u32>,
    /// Session name (default "default"), when no location is given.
    #[serde(default)]
    pub session: Option<String>,
    /// Base directory for a relative FILE (default: the server's).
    #[serde(default)]
    pub cwd: Option<String>,
}

/// `exec_in_process`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    /// Process id of a running Python 3.9+ program.
    pub pid: u32,
    /// Python code to run inside it; what it prints is returned. Names it does not assign
    /// are read from the program's `__main__` globals; its assignments stay its own.
    pub code: String,
    /// Run it in this thread id instead of the main thread (Python 3.14+ only).
    #[serde(default)]
    pub thread: Option<u64>,
    /// Seconds the code may run (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

/// `send_input`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputParams {
    /// The text to write to the program's standard input (add "\n" to end a line).
    #[serde(default)]
    pub text: String,
    /// Close standard input afterwards (the program then reads end-of-file).
    #[serde(default)]
    pub eof: bool,
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
}

/// `restart_session`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartParams {
    /// Session name (default "default").
    #[serde(default)]
    pub session: Option<String>,
    /// Seconds to wait for the first stop when the session was started with breakpoints (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}
