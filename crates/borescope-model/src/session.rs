//! Interactive sessions: their state, breakpoints, and every answer the daemon gives.

use crate::{
    EvalResult, ExitInfo, Frame, Location, Notice, OutputLine, OutputTail, SourceContext, Stop, StopReason,
    ThreadRef, Variable,
};
use serde::{Deserialize, Serialize};

/// Schema name and version of session answers ([`SessionReport`] and the others in this module).
pub const SESSION_SCHEMA: &str = "borescope.session/1";

/// Language of a debuggee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// CPython, debugged through debugpy (sessions) or the borescope agent (probes).
    Python,
    /// Node.js, debugged through the Chrome DevTools Protocol.
    Node,
}

impl Language {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Node => "node",
        }
    }
}

/// Which exceptions stop a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionMode {
    /// Only exceptions nothing catches (the default).
    #[default]
    Uncaught,
    /// Every raised exception, caught or not.
    Raised,
    /// Never stop on exceptions.
    None,
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// The program is started but held before its first line, waiting for the first run
    /// command (`continue`, `next`, `step`); breakpoints set now bind before any code runs.
    Ready,
    /// The program runs.
    Running,
    /// The program is paused; a stop report is available.
    Paused,
    /// The program has ended (or we detached from it).
    Exited,
}

/// A breakpoint as the user asked for it: at a line (`location`) or on a function (`function`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakpointSpec {
    /// Where: the line of a line breakpoint. A function breakpoint has it once the debugger
    /// names the function's place (Node binds it there); Python's debugger matches the name
    /// as code runs, so it stays unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Stop when a function of this name starts (`handle`, `Shop.total`, `pkg.mod.func`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Stop only when this expression is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Stop only on this hit (1 = first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit: Option<u32>,
    /// Log this message instead of stopping (`{expr}` is interpolated). Never pauses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

impl BreakpointSpec {
    /// A plain line breakpoint.
    pub fn at(location: Location) -> BreakpointSpec {
        BreakpointSpec { location: Some(location), function: None, condition: None, hit: None, log: None }
    }

    /// A plain function breakpoint.
    pub fn on_function(name: impl Into<String>) -> BreakpointSpec {
        BreakpointSpec { location: None, function: Some(name.into()), condition: None, hit: None, log: None }
    }

    /// The line of a line breakpoint (`None` for a function breakpoint, even once placed).
    pub fn line_location(&self) -> Option<&Location> {
        self.location.as_ref().filter(|_| self.function.is_none())
    }
}

/// Whether the debugger has bound a breakpoint to code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakpointState {
    /// Bound to code at `line`.
    Verified {
        /// The line it bound to (may differ from the requested one); absent for a function
        /// breakpoint the debugger matches by name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
    /// Not bound yet: the script has not been loaded. It binds when it loads.
    Pending,
    /// The debugger refused it.
    Rejected {
        /// The debugger's reason.
        message: String,
    },
}

/// A breakpoint in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakpointInfo {
    /// borescope's id for it (stable within the session).
    pub id: u32,
    /// What was asked.
    pub spec: BreakpointSpec,
    /// What the debugger did with it.
    #[serde(flatten)]
    pub state: BreakpointState,
}

/// Summary of one session, for `sessions` and `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session name.
    pub name: String,
    /// Language.
    pub language: Language,
    /// State.
    pub state: SessionState,
    /// Debuggee process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Command line (or `attach PID`).
    pub command: Vec<String>,
    /// True when the session attached to an existing process (stop detaches).
    #[serde(default)]
    pub attached: bool,
    /// Where it is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Why it is paused there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<StopReason>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// What ended it, when that is known and not an exit status (a pod deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_because: Option<String>,
    /// Number of breakpoints.
    pub breakpoints: usize,
}

/// The answer to a command that runs the program (`start`, `continue`, `next`, `step`, `out`,
/// `pause`): what state it is in now, and the stop report if it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    /// Session name.
    pub session: String,
    /// State after the command.
    pub state: SessionState,
    /// The stop, when paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// How the program ended, when it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// Output printed since the previous command (tail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputTail>,
    /// Caveats (e.g. "still running after 30 s").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// Program output since a cursor, for `borescope output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChunk {
    /// Cursor the lines start at.
    pub cursor: u64,
    /// Pass this as `--since` to get only what comes after.
    pub next_cursor: u64,
    /// Lines dropped because they fell out of the buffer before being read.
    pub dropped: u64,
    /// The lines.
    pub lines: Vec<OutputLine>,
}

/// A thread and where it is, for `borescope threads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadState {
    /// The thread.
    pub thread: ThreadRef,
    /// True for the thread the current stop report follows.
    pub current: bool,
    /// Its innermost frame, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<Frame>,
}

/// Every answer the session daemon gives, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Answer {
    /// A run command's result.
    Report(SessionReport),
    /// The stopped thread's stack.
    Stack {
        /// Session name.
        session: String,
        /// The thread.
        thread: ThreadRef,
        /// Frames, innermost first.
        frames: Vec<Frame>,
        /// Index of the selected frame.
        selected: usize,
    },
    /// All threads.
    Threads {
        /// Session name.
        session: String,
        /// The threads.
        threads: Vec<ThreadState>,
    },
    /// A frame was selected; its locals follow.
    Variables {
        /// Session name.
        session: String,
        /// The frame the variables belong to.
        frame: Frame,
        /// The path that was expanded (`order.items[0]`), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The variables or children.
        variables: Vec<Variable>,
        /// How many were left out by the budget.
        #[serde(default)]
        omitted: usize,
    },
    /// An evaluated expression.
    Eval {
        /// Session name.
        session: String,
        /// The frame it ran in.
        frame: Frame,
        /// The result.
        result: EvalResult,
    },
    /// The session's breakpoints.
    Breakpoints {
        /// Session name.
        session: String,
        /// All breakpoints, in id order.
        breakpoints: Vec<BreakpointInfo>,
        /// What changed, in words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        change: Option<String>,
    },
    /// Program output.
    Output {
        /// Session name.
        session: String,
        /// The chunk.
        chunk: OutputChunk,
    },
    /// One session's status.
    Status {
        /// The session.
        info: SessionInfo,
        /// The current stop, when paused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stop: Option<Stop>,
    },
    /// All sessions.
    Sessions {
        /// The sessions, by name.
        sessions: Vec<SessionInfo>,
        /// Daemons of other borescope builds (another executable, or this one rebuilt) that
        /// hold sessions this build cannot reach.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        other_builds: Vec<OtherBuild>,
    },
    /// Source lines around a line of a file, or around the selected frame of a session.
    Source {
        /// Session name (absent when a file was read without a session).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The frame whose line is shown (absent when a file was named).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<Frame>,
        /// The file, as the program names it.
        file: String,
        /// The lines; `current_line` is marked.
        source: SourceContext,
        /// Number of lines in the file.
        total_lines: u32,
    },
    /// A session was stopped.
    Ended {
        /// Session name.
        session: String,
        /// True when we detached and left the process running.
        detached: bool,
        /// How the program ended, when we ended it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit: Option<ExitInfo>,
        /// What `stop` had to do to end it (absent when it detached).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ending: Option<Ending>,
        /// The last output lines.
        #[serde(default)]
        output: OutputTail,
        /// What else the user should know (e.g. a detach that could not finish cleaning up).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notices: Vec<Notice>,
    },
    /// Text was written to the program's standard input.
    Input {
        /// Session name.
        session: String,
        /// Bytes written.
        bytes: usize,
        /// True when standard input was closed afterwards (the program reads end-of-file).
        closed: bool,
    },
}

impl Answer {
    /// The answer as `--json` prints it: the tagged object plus `schema`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("schema".into(), serde_json::Value::String(SESSION_SCHEMA.into()));
        }
        value
    }
}

/// What `stop` did to end a program borescope started: SIGTERM to its process group first, so
/// it can clean up, and SIGKILL only if it is still running after a grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Ending {
    /// It had already exited; nothing was sent.
    AlreadyExited,
    /// It ended within the grace period after SIGTERM (the exit says how: its own exit code
    /// from a handler, or the signal).
    Terminated,
    /// It was still running `grace_ms` after SIGTERM and was killed with SIGKILL.
    Killed {
        /// The grace period it had, in milliseconds.
        grace_ms: u64,
    },
}

/// Another borescope build's session daemon in the same runtime directory, with live sessions.
/// Each build runs its own daemon; this one is only reported, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherBuild {
    /// The build's short id (the name of its directory in the runtime directory).
    pub build: String,
    /// Its daemon's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The executable its daemon runs (` (deleted)` when the file was replaced since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Names of its sessions.
    pub sessions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_breakpoints_keep_their_json_shape() {
        let old = json!({"location": {"file": "/a.py", "line": 3}, "condition": "x > 1"});
        let spec: BreakpointSpec = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(spec.line_location().map(|l| l.line), Some(3));
        assert_eq!(serde_json::to_value(&spec).unwrap(), old);
        let info = BreakpointInfo { id: 1, spec, state: BreakpointState::Verified { line: Some(3) } };
        assert_eq!(serde_json::to_value(&info).unwrap()["line"], 3);
    }

    #[test]
    fn function_breakpoints_name_the_function_and_may_have_no_place() {
        let spec = BreakpointSpec::on_function("Shop.total");
        assert_eq!(serde_json::to_value(&spec).unwrap(), json!({"function": "Shop.total"}));
        assert!(spec.line_location().is_none());
        let info = BreakpointInfo { id: 2, spec, state: BreakpointState::Verified { line: None } };
        assert_eq!(serde_json::to_value(&info).unwrap(), json!({"id": 2, "spec": {"function": "Shop.total"}, "state": "verified"}));
        let placed = BreakpointSpec { location: Some(Location { file: "/a.js".into(), line: 4 }), ..BreakpointSpec::on_function("total") };
        assert!(placed.line_location().is_none(), "a placed function breakpoint is still a function breakpoint");
    }
}
