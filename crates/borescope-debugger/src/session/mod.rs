//! Interactive sessions: one debuggee each, driven by commands that arrive one at a time or
//! concurrently (a `continue` may be waiting while `pause` or `status` arrives).
//!
//! [`Session`] is the language-neutral face the daemon uses. The Python backend speaks DAP to
//! debugpy running inside the program; the Node backend speaks CDP to V8. Both answer with
//! `borescope-model` types, so every front door renders the same reports.

mod address;
mod attached;
mod breakpoints;
pub mod conditions;
mod core;
mod dap_report;
mod ending;
mod functions;
mod launch;
mod listing;
mod paths;
mod python;
mod python_dap;
mod python_values;
mod remote;
mod state;

pub use address::Address;
pub use attached::{AttachSpec, DebugIo, DebugStream, ExitWatch};
pub use remote::ConnectSpec;
pub use launch::{LaunchSpec, RunAction, StartMode};
pub use paths::{PathMap, PathMappings};
pub(crate) use breakpoints::{check_function_spec, BreakpointTable};
pub(crate) use core::{after_the_end, watch_exit, SessionCore};
pub(crate) use listing::{frame_place, selected_frame};
pub(crate) use python::{launch_notices, no_such_frame, not_started_for_out};
pub use python::PythonSession;
pub use state::{RunState, Snapshot};

use crate::node::NodeSession;
use crate::DebuggerError;
use borescope_model::{Answer, Budget, BreakpointSpec, Language, Location, SessionInfo, SessionReport};
use std::path::Path;
use std::time::Duration;

/// How long `status` and `sessions` wait for a paused program's debugger to say where it is.
const STATUS_WAIT: Duration = Duration::from_secs(3);

/// One live (or ended) debug session.
pub enum Session {
    /// A Python program under debugpy.
    Python(Box<PythonSession>),
    /// A Node program under V8's inspector.
    Node(Box<NodeSession>),
}

/// What `break` should do.
#[derive(Debug, Clone)]
pub enum BreakOp {
    /// Add or replace the breakpoint at its location.
    Set(BreakpointSpec),
    /// Delete the breakpoint at this location.
    Delete(Location),
    /// Delete the breakpoint on this function.
    DeleteFunction(String),
    /// Delete every breakpoint.
    Clear,
    /// Only list.
    List,
}

impl Session {
    /// Starts a program under the debugger.
    pub async fn launch(name: &str, spec: LaunchSpec, cache_dir: &Path) -> Result<(Session, SessionReport), DebuggerError> {
        let first_break = spec.breakpoints.iter().find_map(|b| b.location.as_ref()).map(|l| spec.location_base.join(&l.file));
        let path = crate::preflight::path_of(Some(&spec.base_env), &spec.env);
        let language = crate::preflight::resolve_startable(
            &spec.command,
            first_break.as_deref(),
            spec.python.as_deref(),
            spec.language,
            &spec.cwd,
            path.as_deref(),
        )?
        .language;
        match language {
            Language::Python => {
                let (session, report) = PythonSession::launch(name, spec, cache_dir).await?;
                Ok((Session::Python(Box::new(session)), report))
            }
            Language::Node => {
                let (session, report) = NodeSession::launch(name, spec).await?;
                Ok((Session::Node(Box::new(session)), report))
            }
        }
    }

    /// Connects to debugpy already listening inside a running Python process.
    pub async fn attach(name: &str, spec: AttachSpec) -> Result<(Session, SessionReport), DebuggerError> {
        let (session, report) = PythonSession::attach(name, spec).await?;
        Ok((Session::Python(Box::new(session)), report))
    }

    /// Summary for `sessions` / `status`.
    pub fn info(&self) -> SessionInfo {
        match self {
            Session::Python(s) => s.info(),
            Session::Node(s) => s.info(),
        }
    }

    /// Adds a line from borescope itself to the session's output (shown with the program's
    /// output by the next command), e.g. that a pod was replaced and attached again.
    pub fn say(&self, line: String) {
        let output = match self {
            Session::Python(s) => &s.core.output,
            Session::Node(s) => &s.core().output,
        };
        output.push(borescope_model::OutputStream::Stderr, format!("[borescope] {line}"));
    }

    /// True while the program has not ended.
    pub fn is_alive(&self) -> bool {
        match self {
            Session::Python(s) => !matches!(s.state(), RunState::Exited(_)),
            Session::Node(s) => s.is_alive(),
        }
    }

    /// `continue`, `next`, `step`, `out`, `pause`.
    pub async fn run(&self, action: RunAction, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        match self {
            Session::Python(s) => s.run(action, timeout, budget).await,
            Session::Node(s) => s.run(action, timeout, budget).await,
        }
    }

    /// `break`.
    pub async fn breakpoints(&self, op: BreakOp, cwd: &Path) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.breakpoints(op, cwd).await,
            Session::Node(s) => s.breakpoints(op, cwd).await,
        }
    }

    /// `stack`.
    pub async fn stack(&self) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.stack().await,
            Session::Node(s) => s.stack().await,
        }
    }

    /// `threads`.
    pub async fn threads(&self) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.threads().await,
            Session::Node(s) => s.threads().await,
        }
    }

    /// `frame N`.
    pub async fn select_frame(&self, index: usize, budget: &Budget) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.select_frame(index, budget).await,
            Session::Node(s) => s.select_frame(index, budget).await,
        }
    }

    /// `vars [PATH]`; `closures` also lists closure and module scopes (JavaScript; Python's
    /// locals already include closure cells).
    pub async fn vars(&self, path: Option<&str>, budget: &Budget, closures: bool) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.vars(path, budget).await,
            Session::Node(s) => s.vars(path, budget, closures).await,
        }
    }

    /// `eval EXPR`.
    pub async fn eval(&self, expression: &str, budget: &Budget) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.eval(expression, budget).await,
            Session::Node(s) => s.eval(expression, budget).await,
        }
    }

    /// `source` without a location: the `radius` lines around the selected frame's line.
    pub async fn source(&self, radius: u32) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.source(radius).await,
            Session::Node(s) => s.source(radius).await,
        }
    }

    /// `output`.
    pub fn output(&self, since: u64, limit: usize) -> Answer {
        match self {
            Session::Python(s) => s.output(since, limit),
            Session::Node(s) => s.output(since, limit),
        }
    }

    /// `status`: the state, and where and why the program is paused when it is. A debugger
    /// that does not answer within [`STATUS_WAIT`] leaves the stop out rather than the caller
    /// waiting.
    pub async fn status(&self, budget: &Budget) -> Answer {
        let status = async {
            match self {
                Session::Python(s) => s.status(budget).await,
                Session::Node(s) => s.status(budget).await,
            }
        };
        match tokio::time::timeout(STATUS_WAIT, status).await {
            Ok(answer) => answer,
            Err(_) => Answer::Status { info: self.info(), stop: None },
        }
    }

    /// Summary for `sessions`, with where a paused program is (fetched if not yet known).
    pub async fn describe(&self) -> SessionInfo {
        match self.status(&Budget::default()).await {
            Answer::Status { info, .. } => info,
            _ => self.info(),
        }
    }

    /// `input`: writes to the program's standard input.
    pub async fn input(&self, text: &str, eof: bool) -> Result<Answer, DebuggerError> {
        match self {
            Session::Python(s) => s.core.input(text, eof).await,
            Session::Node(s) => s.core().input(text, eof).await,
        }
    }

    /// `stop`: ends the program (or, for an attached one, detaches and leaves it running).
    pub async fn stop(&self) -> Answer {
        match self {
            Session::Python(s) => s.stop().await,
            Session::Node(s) => s.stop().await,
        }
    }
}
