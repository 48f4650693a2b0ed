//! Python sessions on a process borescope did not start: debugpy was started inside it
//! (by the attach capability, through PEP 768) and this side connects, drives it with the same
//! commands as a launched program, and detaches without ending it.
//!
//! What differs from a launched program: there is no exit status to wait for (the process is
//! watched through `/proc`), its output is relayed by debugpy (`redirectOutput`), its files may
//! live in another filesystem view ([`PathMap`]), and `stop` detaches instead of killing.

use super::breakpoints::BreakpointTable;
use super::core::{watch_attached_exit, watch_external_exit, SessionCore};
use super::paths::PathMap;
use super::python::PythonSession;
use super::python_dap::{handshake, pump_events};
use crate::frames::FrameClassifier;
use crate::output::OutputBuffer;
use crate::DebuggerError;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::{Answer, Budget, BreakpointSpec, ExceptionMode, Language, Notice, SessionReport};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A debugpy listening inside a running process, and how to talk about it.
#[derive(Debug)]
pub struct AttachSpec {
    /// The process (as its own PID namespace sees it, for a pod).
    pub pid: u32,
    /// How its end is noticed.
    pub watch: ExitWatch,
    /// What `sessions` shows as its command.
    pub command: Vec<String>,
    /// How the attach notice names it (`pid 412`, `pid 7 in pod shop/web-1`).
    pub described: String,
    /// A connected stream to its debugpy.
    pub stream: DebugStream,
    /// debugpy's access token.
    pub token: String,
    /// Our view of its files versus its own.
    pub paths: PathMap,
    /// Its standard-library directories, in its view.
    pub runtime_dirs: Vec<String>,
    /// Breakpoints to set at once.
    pub breakpoints: Vec<BreakpointSpec>,
    /// Base for relative breakpoint paths.
    pub location_base: PathBuf,
    /// Which exceptions stop it.
    pub exceptions: ExceptionMode,
    /// Budget for the first report.
    pub budget: Budget,
}

/// A connection to debugpy in the process.
pub enum DebugStream {
    /// A socket (local attach, reached from inside the target's network namespace if needed).
    Tcp(std::net::TcpStream),
    /// Any other byte stream (a Kubernetes port-forward).
    Other(Box<dyn DebugIo>),
}

/// What a [`DebugStream::Other`] must be.
pub trait DebugIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> DebugIo for T {}

impl std::fmt::Debug for DebugStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DebugStream::Tcp(stream) => stream.fmt(f),
            DebugStream::Other(_) => f.write_str("DebugStream::Other"),
        }
    }
}

/// How the end of an attached program is noticed (there is no exit status to wait for).
pub enum ExitWatch {
    /// A process of this machine: its `/proc/PID/stat` start time is polled.
    Process {
        /// Its start time (to notice a reused pid).
        start_time: u64,
    },
    /// Something else says when it is gone (a pod deleted), and how to say so.
    External(std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>),
}

impl std::fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitWatch::Process { start_time } => f.debug_struct("Process").field("start_time", start_time).finish(),
            ExitWatch::External(_) => f.write_str("External"),
        }
    }
}

/// What an attach reports: the program keeps running, and what to do next.
pub(super) fn attached_notice(what: &str, has_breakpoints: bool) -> Notice {
    let next = if has_breakpoints {
        "`borescope continue` waits for a breakpoint to be hit"
    } else {
        "set breakpoints with `borescope break FILE:LINE` (or `--function NAME`), then `borescope continue` waits for a hit"
    };
    Notice::with_hint(
        format!("attached to {what}; the program keeps running"),
        format!("{next}; `borescope stop` detaches and leaves it running"),
    )
}

impl PythonSession {
    /// Connects the session to debugpy in a running process and sets the breakpoints. The
    /// program keeps running; `continue` waits for the first stop.
    pub async fn attach(name: &str, spec: AttachSpec) -> Result<(PythonSession, SessionReport), DebuggerError> {
        let paths = spec.paths;
        let mut table = BreakpointTable::default();
        let mut problems = Vec::new();
        for bp in &spec.breakpoints {
            match bp.line_location().map(|location| paths.resolve(location, &spec.location_base, Language::Python)) {
                Some(Err(problem)) => problems.push(problem),
                Some(Ok(location)) => {
                    table.set(BreakpointSpec { location: Some(location), ..bp.clone() });
                }
                None => {
                    table.set(bp.clone());
                }
            }
        }
        if !problems.is_empty() {
            return Err(DebuggerError::BadLocation(problems));
        }
        let (client, mut events) = match spec.stream {
            DebugStream::Tcp(stream) => {
                stream.set_nonblocking(true).map_err(DebuggerError::io("preparing the debugger connection"))?;
                let stream = tokio::net::TcpStream::from_std(stream).map_err(DebuggerError::io("preparing the debugger connection"))?;
                let (reader, writer) = stream.into_split();
                DapClient::new(reader, writer)
            }
            DebugStream::Other(stream) => {
                let (reader, writer) = tokio::io::split(stream);
                DapClient::new(reader, writer)
            }
        };
        let client = Arc::new(client);
        let early = handshake(&client, &mut events, &spec.token, &mut table, &paths, spec.exceptions, true).await?;
        let core = SessionCore::new(name, Language::Python, spec.command, spec.pid, OutputBuffer::new()).into_attached();
        tokio::spawn(pump_events(events, early, core.state.clone(), core.output.clone(), false));
        match spec.watch {
            ExitWatch::Process { start_time } => {
                tokio::spawn(watch_attached_exit(spec.pid, start_time, core.state.clone()));
            }
            ExitWatch::External(gone) => {
                tokio::spawn(watch_external_exit(gone, core.state.clone()));
            }
        }
        let mut classifier = FrameClassifier::default();
        classifier.learn(&spec.runtime_dirs, None);
        let breakpoints = table.len();
        let session = PythonSession::assemble(core, client, classifier, paths, table);
        let mut report = session.report_now(&spec.budget).await?;
        report.notices.push(attached_notice(&spec.described, breakpoints > 0));
        Ok((session, report))
    }

    /// Ends the debugger connection without ending the program: debugpy removes every
    /// breakpoint and resumes every thread.
    pub(super) async fn detach(&self) -> Answer {
        // Read before disconnecting: debugpy answers a disconnect with `terminated`, which for
        // a program reached by address means it ended.
        let before = self.core.snapshot().run;
        if !self.breakpoints.lock().await.functions().is_empty() {
            let clear = super::functions::clear_function_breakpoints(&self.client);
            if let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(5), clear).await {
                tracing::debug!(%error, "clearing function breakpoints");
            }
        }
        let disconnect = self
            .client
            .request::<dap::Disconnect>(dap::DisconnectArguments { terminate_debuggee: false });
        if let Err(error) = tokio::time::timeout(Duration::from_secs(5), disconnect).await.unwrap_or(Ok(serde_json::Value::Null)) {
            tracing::debug!(%error, "disconnect");
        }
        match before {
            // It ended on its own while attached: nothing was detached from.
            super::RunState::Exited(exit) => self.core.ended(Some(exit), false),
            _ => self.core.ended(None, true),
        }
    }
}
