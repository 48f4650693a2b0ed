//! Starting a Python program with debugpy listening inside it, ready for a DAP client.

use crate::agent::{AgentListener, AgentMessage, Hello};
use crate::command::resolve_command;
use crate::locate::resolve_specs;
use crate::probe::agent_env;
use crate::process::{ProgramProcess, StdinMode};
use crate::{debugpy, DebuggerError};
use borescope_model::{Budget, BreakpointSpec, ExceptionMode, Language};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything `borescope start` asks for.
#[derive(Debug, Clone)]
pub struct LaunchSpec {
    /// The command (after `--`).
    pub command: Vec<String>,
    /// Absolute working directory of the program.
    pub cwd: PathBuf,
    /// Base for relative breakpoint paths (the caller's working directory).
    pub location_base: PathBuf,
    /// The caller's full environment, which the program gets.
    pub base_env: Vec<(String, String)>,
    /// `--env` overrides.
    pub env: Vec<(String, String)>,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// `--lang`.
    pub language: Option<Language>,
    /// Breakpoints to set before the first line runs.
    pub breakpoints: Vec<BreakpointSpec>,
    /// How the program starts.
    pub mode: StartMode,
    /// The program's standard input.
    pub stdin: StdinMode,
    /// Which exceptions stop.
    pub exceptions: ExceptionMode,
    /// Consent to use borescope's cached debugpy.
    pub provision_debugpy: bool,
    /// How long to wait for the first stop.
    pub timeout: Duration,
    /// Budget for the first stop report.
    pub budget: Budget,
}

/// The run-control commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    /// Resume (or keep waiting) until the next stop.
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

/// How long debugpy may take to start listening.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How a launched program starts (and starts again on `restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// Held before its first line until the first run command (`start` without --break).
    Hold,
    /// Runs, and `start` waits for the first stop (`start --break`).
    UntilStop,
    /// Stops at its first line (`start --stop-on-entry`).
    StopOnEntry,
    /// Runs, and `start` answers at once (`start --run`).
    Run,
}

impl StartMode {
    /// The mode `start` asked for.
    pub fn from_flags(run: bool, stop_on_entry: bool, has_breakpoints: bool) -> StartMode {
        match (run, stop_on_entry, has_breakpoints) {
            (true, _, _) => StartMode::Run,
            (false, true, _) => StartMode::StopOnEntry,
            (false, false, true) => StartMode::UntilStop,
            (false, false, false) => StartMode::Hold,
        }
    }

    /// True when the launch answers only after the first stop.
    pub fn waits_for_stop(self) -> bool {
        matches!(self, StartMode::UntilStop | StartMode::StopOnEntry)
    }
}

impl LaunchSpec {
    /// For `restart`: checks, while the old run still stands, that the program can start again
    /// with `breakpoints` (the session's current ones: a script removed or a breakpoint line
    /// edited away is refused here, and nothing is lost), and splits off the breakpoints that
    /// can only be placed once the new run is held (Node function breakpoints).
    pub fn again_with(&self, breakpoints: Vec<BreakpointSpec>) -> Result<(LaunchSpec, Vec<BreakpointSpec>), DebuggerError> {
        let path = crate::preflight::path_of(Some(&self.base_env), &self.env);
        let first = breakpoints.iter().find_map(|b| b.line_location()).map(|l| self.location_base.join(&l.file));
        let language = crate::preflight::resolve_startable(
            &self.command,
            first.as_deref(),
            self.python.as_deref(),
            self.language,
            &self.cwd,
            path.as_deref(),
        )?
        .language;
        let (later, now): (Vec<BreakpointSpec>, Vec<BreakpointSpec>) =
            breakpoints.into_iter().partition(|b| language == Language::Node && b.function.is_some());
        let now = resolve_specs(&now, &self.location_base, Some(language))?;
        let later = later.into_iter().map(|b| BreakpointSpec { location: None, ..b }).collect();
        Ok((LaunchSpec { breakpoints: now, ..self.clone() }, later))
    }
}

/// A program started with the listen job, debugpy listening.
pub(super) struct Listening {
    /// The agent's channel, kept open: a held program waits on it for `go`.
    pub channel: AgentListener,
    pub process: ProgramProcess,
    pub hello: Hello,
    pub port: u16,
    pub token: String,
    pub argv: Vec<String>,
    pub breakpoints: Vec<BreakpointSpec>,
}

/// Checks the spec, starts the program with the agent's listen job and waits until debugpy
/// listens. Nothing is started if a breakpoint location is bad.
pub(super) async fn start_listening(spec: &LaunchSpec, cache_dir: &Path) -> Result<Listening, DebuggerError> {
    let program = resolve_command(&spec.command, None, spec.python.as_deref(), spec.language, &spec.cwd)?;
    if program.language != Language::Python {
        return Err(DebuggerError::BadCommand(
            "this session backend debugs Python; Node programs use the Node backend".into(),
        ));
    }
    let breakpoints = resolve_specs(&spec.breakpoints, &spec.location_base, Some(Language::Python))?;
    let agent_dir = borescope_pyagent::materialize(cache_dir)?;
    let debugpy_path = if spec.provision_debugpy {
        Some(debugpy::provision(cache_dir).await?)
    } else {
        None
    };
    let token = debugpy::random_token()?;
    let mut listener = AgentListener::bind()?;
    let job = json!({
        "kind": "listen",
        "token": token,
        "stop_on_entry": spec.mode == StartMode::StopOnEntry,
        "hold": spec.mode == StartMode::Hold,
        "expressions": super::conditions::job_expressions(&breakpoints)?,
        "debugpy_path": debugpy_path,
    });
    let env = agent_env(&agent_dir, listener.path(), &job, Some(&spec.base_env), &spec.env);
    let mut process = ProgramProcess::spawn_with(&program.argv, &spec.cwd, Some(&spec.base_env), &env, &spec.stdin)?;
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    let mut hello = None;
    loop {
        tokio::select! {
            message = listener.recv() => match message {
                Some((_, AgentMessage::Hello(h))) => hello = Some(h),
                Some((_, AgentMessage::BadInput { expressions, .. })) => {
                    process.terminate().await;
                    let bad = expressions.into_iter().next();
                    return Err(match bad {
                        Some(bad) => DebuggerError::BadExpression { option: bad.option, text: bad.text, error: bad.error },
                        None => DebuggerError::Agent("the agent refused the session's input".into()),
                    });
                }
                Some((_, AgentMessage::NoDebugpy { executable, .. })) => {
                    process.terminate().await;
                    return Err(DebuggerError::NoDebugpy { executable });
                }
                Some((_, AgentMessage::AgentError { message })) => {
                    process.terminate().await;
                    return Err(DebuggerError::Agent(message));
                }
                Some((_, AgentMessage::Listening { port, .. })) => {
                    let hello = hello.ok_or_else(|| DebuggerError::Protocol("agent listened before greeting".into()))?;
                    return Ok(Listening { channel: listener, process, hello, port, token, argv: program.argv, breakpoints });
                }
                Some(_) => {}
                None => {}
            },
            exit = process.wait() => {
                process.drain_output().await;
                if hello.is_none() {
                    return Err(DebuggerError::AgentNotLoaded);
                }
                let tail = process.output.tail_since(0, 5);
                let output: String = tail.lines.iter().map(|l| format!("\n  {}", l.text)).collect();
                return Err(DebuggerError::ExitedEarly { exit: exit.describe(), output });
            }
            _ = tokio::time::sleep_until(deadline) => {
                process.terminate().await;
                return Err(DebuggerError::Timeout(format!(
                    "debugpy did not start listening within {}s", LISTEN_TIMEOUT.as_secs()
                )));
            }
        }
    }
}
