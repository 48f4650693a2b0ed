//! The Python session backend: debugpy inside the program, driven over DAP.
//!
//! The program is started by borescope with the agent's listen job, so it is our child (exact
//! exit codes, its own process group, stdout/stderr captured) and debugpy runs in-process (one
//! TCP hop, no adapter process). Two tasks watch it: one turns DAP events into the shared run
//! state, one waits for the process to exit. Commands read that state, so a command on an
//! ended program answers at once.

use super::breakpoints::BreakpointTable;
use super::core::{watch_exit, SessionCore};
use super::paths::PathMap;
use super::dap_report::{build_stop, CurrentStop};
use super::python_values::{evaluate, frame_locals, path_children};
use super::launch::{start_listening, LaunchSpec, RunAction, StartMode};
use super::python_dap::{handshake, pump_events, send_file_breakpoints};
use crate::agent::AgentListener;
use crate::process::StdinMode;
use super::functions::send_function_breakpoints;
use super::state::RunState;
use super::BreakOp;
use crate::frames::FrameClassifier;
use crate::DebuggerError;
use borescope_dap::events::StoppedEvent;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::wording::counted;
use borescope_model::{
    Answer, Budget, Language,
    Notice, SessionInfo, SessionReport, SessionState, StopReason, ThreadRef, ThreadState,
};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// A Python program under debugpy.
pub struct PythonSession {
    pub(super) core: SessionCore<StoppedEvent>,
    pub(super) client: Arc<DapClient>,
    pub(super) classifier: FrameClassifier,
    /// Our view of the debuggee's files versus its own (they differ for attached containers).
    pub(super) paths: PathMap,
    pub(super) breakpoints: Mutex<BreakpointTable>,
    pub(super) current: Mutex<Option<CurrentStop>>,
    /// The agent's channel while the program is held before its first line (`go` releases it).
    pub(super) gate: Mutex<Option<AgentListener>>,
}

impl PythonSession {
    /// Starts the program, connects, sets the initial breakpoints, and (when asked to stop
    /// somewhere) waits for the first stop.
    pub async fn launch(
        name: &str,
        spec: LaunchSpec,
        cache_dir: &Path,
    ) -> Result<(PythonSession, SessionReport), DebuggerError> {
        let mut listening = start_listening(&spec, cache_dir).await?;
        let mut classifier = FrameClassifier::default();
        classifier.learn(&listening.hello.runtime_dirs, listening.hello.agent_dir.as_deref());
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], listening.port));
        let (client, mut events) = DapClient::connect_tcp(addr).await?;
        let client = Arc::new(client);
        let mut table = BreakpointTable::default();
        for bp in &listening.breakpoints {
            table.set(bp.clone());
        }
        let paths = PathMap::same();
        let early = handshake(&client, &mut events, &listening.token, &mut table, &paths, spec.exceptions, false).await?;
        let core = SessionCore::new(
            name,
            Language::Python,
            listening.argv,
            listening.process.pid(),
            listening.process.output.clone(),
        )
        .with_stdin(listening.process.take_stdin());
        if spec.mode == StartMode::Hold {
            core.hold();
        }
        tokio::spawn(pump_events(events, early, core.state.clone(), core.output.clone(), false));
        tokio::spawn(watch_exit(listening.process, core.state.clone()));
        let session = PythonSession::assemble(core, client, classifier, paths, table);
        if spec.mode == StartMode::Hold {
            *session.gate.lock().await = Some(listening.channel);
        }
        let mut report = if spec.mode.waits_for_stop() {
            session.wait_and_report(0, spec.timeout, &spec.budget).await?
        } else {
            session.report_now(&spec.budget).await?
        };
        report.notices.extend(launch_notices(&spec, report.state));
        Ok((session, report))
    }

    /// Releases a program held before its first line; `stop_on_entry` stops it at its first
    /// line (the first command was `next` or `step`).
    async fn go(&self, stop_on_entry: bool) -> Result<(), DebuggerError> {
        let gate = self.gate.lock().await.take();
        if !self.core.release() {
            return Ok(());
        }
        if let Some(gate) = gate {
            let sent = gate.broadcast(&json!({"type": "go", "stop_on_entry": stop_on_entry})).await;
            tracing::debug!(sent, stop_on_entry, "released the held program");
        }
        Ok(())
    }

    /// A session from its connected parts (no stop fetched yet).
    pub(super) fn assemble(
        core: SessionCore<StoppedEvent>,
        client: Arc<DapClient>,
        classifier: FrameClassifier,
        paths: PathMap,
        table: BreakpointTable,
    ) -> PythonSession {
        PythonSession {
            core,
            client,
            classifier,
            paths,
            breakpoints: Mutex::new(table),
            current: Mutex::new(None),
            gate: Mutex::new(None),
        }
    }

    /// The current run state.
    pub fn state(&self) -> RunState<StoppedEvent> {
        self.core.snapshot().run
    }

    /// Summary for `sessions`.
    pub fn info(&self) -> SessionInfo {
        let epoch = self.core.snapshot().epoch;
        let stop = self
            .current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|c| c.epoch == epoch).map(|c| c.stop.clone()));
        let breakpoints = self.breakpoints.try_lock().map(|t| t.len()).unwrap_or(0);
        self.core.info(stop.as_ref(), breakpoints, self.core.is_attached())
    }

    /// `continue`, `next`, `step`, `out`, `pause`.
    pub async fn run(&self, action: RunAction, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let snapshot = self.core.snapshot();
        if self.core.has_unreported_stop() {
            // The program stopped while nobody was waiting (e.g. an exception after `start`):
            // show that stop instead of silently resuming past it.
            let mut report = self.report_now(budget).await?;
            report.notices.push(Notice::with_hint(
                "the program stopped here after the previous command; it was not resumed",
                "run the command again to go on",
            ));
            return Ok(report);
        }
        match (&snapshot.run, action) {
            (RunState::Exited(_), _) | (RunState::Paused(_) | RunState::Held, RunAction::Pause) => {
                return self.report_now(budget).await;
            }
            (RunState::Held, RunAction::Out) => return Err(not_started_for_out()),
            (RunState::Held, action) => self.go(action != RunAction::Continue).await?,
            (RunState::Running, RunAction::Continue) => {}
            (RunState::Running, RunAction::Pause) => {
                let thread_id = self.any_thread().await?;
                self.client.request::<dap::Pause>(dap::ThreadArguments { thread_id }).await?;
            }
            (RunState::Running, _) => {
                return Err(DebuggerError::State(
                    "the program is running; `borescope pause` stops it first (or `borescope continue` waits for a breakpoint)".into(),
                ));
            }
            (RunState::Paused(event), action) => {
                let thread_id = self.stopped_thread(event).await;
                let args = dap::ThreadArguments { thread_id };
                match action {
                    RunAction::Continue => self.client.request::<dap::Continue>(args).await?,
                    RunAction::Next => self.client.request::<dap::Next>(args).await?,
                    RunAction::Step => self.client.request::<dap::StepIn>(args).await?,
                    RunAction::Out => self.client.request::<dap::StepOut>(args).await?,
                    RunAction::Pause => Value::Null,
                };
            }
        }
        self.wait_and_report(snapshot.epoch, timeout, budget).await
    }

    pub(super) async fn wait_and_report(&self, epoch: u64, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let stopped = self.core.wait_for_stop(epoch, timeout).await;
        let mut report = self.report_now(budget).await?;
        if !stopped {
            SessionCore::<StoppedEvent>::still_running(&mut report, timeout);
        }
        Ok(report)
    }

    /// A report of the state right now (building the stop report if paused).
    pub(super) async fn report_now(&self, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let mut report = self.core.base_report();
        if report.state == SessionState::Paused {
            let current = self.current_stop(budget).await?;
            self.core.mark_reported(current.epoch);
            report.stop = Some(current.stop);
        }
        Ok(report)
    }

    /// The current stop, fetched from the debugger once per stop.
    pub(super) async fn current_stop(&self, budget: &Budget) -> Result<CurrentStop, DebuggerError> {
        let snapshot = self.core.snapshot();
        let RunState::Paused(event) = &snapshot.run else {
            return Err(self.core.not_paused());
        };
        let mut current = self.current.lock().await;
        if let Some(stop) = current.as_ref().filter(|c| c.epoch == snapshot.epoch) {
            return Ok(stop.clone());
        }
        let mut stop = build_stop(&self.client, event, snapshot.epoch, &self.classifier, &self.paths, budget).await?;
        if let (StopReason::Breakpoint { hit }, Some(at)) = (&mut stop.stop.reason, &stop.stop.location) {
            // debugpy does not count hits; this runs once per stop (the stop is cached).
            *hit = self.breakpoints.lock().await.record_hit(|ours| self.paths.same_file(ours, &at.file), at.line);
        }
        *current = Some(stop.clone());
        Ok(stop)
    }

    async fn stopped_thread(&self, event: &StoppedEvent) -> i64 {
        match self.current.lock().await.as_ref() {
            Some(current) => current.thread_id,
            None => event.thread_id.unwrap_or(1),
        }
    }

    async fn any_thread(&self) -> Result<i64, DebuggerError> {
        let threads = self.client.request::<dap::Threads>(Value::Null).await?;
        threads
            .threads
            .first()
            .map(|t| t.id)
            .ok_or_else(|| DebuggerError::Protocol("the debugger reports no threads".into()))
    }

    /// `break`: changes breakpoints and re-sends the affected files.
    pub async fn breakpoints(&self, op: BreakOp, cwd: &Path) -> Result<Answer, DebuggerError> {
        let ended = self.core.debugger_gone();
        if let BreakOp::Set(spec) = &op {
            super::functions::check_python_function(spec)?;
            if !ended {
                super::conditions::check_python(&self.client, spec).await?;
            }
        }
        let mut table = self.breakpoints.lock().await;
        let before = table.clone();
        let mut change = table.apply(op, cwd, Language::Python, &self.paths)?;
        if ended {
            change.message = change.message.map(super::core::after_the_end);
        } else {
            let sent = async {
                for file in &change.files {
                    send_file_breakpoints(&self.client, &mut table, &self.paths, file).await?;
                }
                if change.functions {
                    send_function_breakpoints(&self.client, &mut table).await?;
                }
                Ok::<(), DebuggerError>(())
            }
            .await;
            if let Err(error) = sent {
                // The debugger did not take the change: the table says what it has.
                *table = before;
                return Err(error);
            }
        }
        Ok(Answer::Breakpoints {
            session: self.core.name.clone(),
            breakpoints: table.all(),
            change: change.message,
        })
    }

    /// `stack`.
    pub async fn stack(&self) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(&Budget::default()).await?;
        Ok(Answer::Stack {
            session: self.core.name.clone(),
            thread: current.stop.thread.clone().unwrap_or(ThreadRef { id: current.thread_id, name: String::new() }),
            frames: current.stop.stack.clone(),
            selected: current.selected,
        })
    }

    /// `threads`.
    pub async fn threads(&self) -> Result<Answer, DebuggerError> {
        if self.core.snapshot().run.is_exited() {
            return Err(self.core.not_paused());
        }
        let reply = self.client.request::<dap::Threads>(Value::Null).await?;
        let paused = self.core.snapshot().run.is_paused();
        let current_id = if paused {
            self.current.lock().await.as_ref().map(|c| c.thread_id).unwrap_or(-1)
        } else {
            -1
        };
        let mut threads = Vec::new();
        for thread in reply.threads.iter().take(64) {
            let top = if paused {
                self.client
                    .request::<dap::StackTrace>(dap::StackTraceArguments { thread_id: thread.id, start_frame: None, levels: Some(1) })
                    .await
                    .ok()
                    .and_then(|t| super::dap_report::model_frames(&t.stack_frames, &self.classifier).into_iter().next())
            } else {
                None
            };
            threads.push(ThreadState {
                thread: ThreadRef { id: thread.id, name: thread.name.clone() },
                current: thread.id == current_id,
                top,
            });
        }
        Ok(Answer::Threads { session: self.core.name.clone(), threads })
    }

    /// `frame N`: selects a frame and lists its locals.
    pub async fn select_frame(&self, index: usize, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let Some(&frame_id) = current.frame_ids.get(index) else {
            return Err(no_such_frame(index, current.frame_ids.len()));
        };
        let (variables, omitted) = frame_locals(&self.client, frame_id, budget).await?;
        if let Some(cached) = self.current.lock().await.as_mut().filter(|c| c.epoch == current.epoch) {
            cached.selected = index;
        }
        Ok(Answer::Variables {
            session: self.core.name.clone(),
            frame: current.stop.stack[index].clone(),
            path: None,
            variables,
            omitted,
        })
    }

    /// `vars [PATH]`: the selected frame's locals, or the children of PATH.
    pub async fn vars(&self, path: Option<&str>, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let frame = super::listing::selected_frame(&current.stop, current.selected)?;
        let frame_id = current
            .frame_ids
            .get(current.selected)
            .copied()
            .ok_or_else(|| DebuggerError::Protocol("the selected frame has no debugger id".into()))?;
        let (variables, omitted) = match path {
            None => frame_locals(&self.client, frame_id, budget).await?,
            Some(path) => path_children(&self.client, frame_id, path, budget).await?,
        };
        Ok(Answer::Variables {
            session: self.core.name.clone(),
            frame,
            path: path.map(str::to_string),
            variables,
            omitted,
        })
    }

    /// `eval EXPR` in the selected frame.
    pub async fn eval(&self, expression: &str, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let frame = super::listing::selected_frame(&current.stop, current.selected)?;
        let frame_id = current.frame_ids.get(current.selected).copied();
        let result = evaluate(&self.client, frame_id, expression, budget).await;
        Ok(Answer::Eval { session: self.core.name.clone(), frame, result })
    }

    /// `output`.
    pub fn output(&self, since: u64, limit: usize) -> Answer {
        self.core.output_answer(since, limit)
    }

    /// `status`: the state, and where and why the program is paused when it is.
    pub async fn status(&self, budget: &Budget) -> Answer {
        let stop = match self.core.snapshot().run {
            RunState::Paused(_) => self.current_stop(budget).await.ok().map(|c| c.stop),
            _ => None,
        };
        Answer::Status { info: self.info(), stop }
    }

    /// `stop`: ends the program and its process group (SIGTERM, a grace period, SIGKILL); an
    /// attached program is detached from instead and keeps running.
    pub async fn stop(&self) -> Answer {
        if self.core.is_attached() {
            return self.detach().await;
        }
        // Before SIGTERM: no breakpoint or exception filter may stop the way out (on 3.12+ debugpy
        // would stop on the handler's SystemExit). After it: disconnecting resumes every thread.
        let disarm = async {
            let _ = self.breakpoints(BreakOp::Clear, Path::new("/")).await;
            let filters = dap::SetExceptionBreakpointsArguments { filters: Vec::new() };
            if let Err(error) = self.client.request::<dap::SetExceptionBreakpoints>(filters).await {
                tracing::debug!(%error, "clearing exception filters while ending the program");
            }
        };
        let release = async {
            let arguments = dap::DisconnectArguments { terminate_debuggee: false };
            if let Err(error) = self.client.request::<dap::Disconnect>(arguments).await {
                tracing::debug!(%error, "disconnect while ending the program");
            }
        };
        let (exit, ending) = self.core.end_gently(disarm, release).await;
        self.core.ended_by(exit, ending)
    }
}

/// The error for `out` on a program that has not started.
pub(crate) fn not_started_for_out() -> DebuggerError {
    DebuggerError::State(
        "the program has not started, so there is no function to step out of; `borescope continue` runs it, `borescope next` stops at its first line".into(),
    )
}

/// What `start` (and `restart`) add to their first report: how the program was started (only
/// while it still runs: a program that stopped or ended before `start` answered shows that
/// instead) and where its standard input comes from.
pub(crate) fn launch_notices(spec: &LaunchSpec, state: SessionState) -> Vec<Notice> {
    let mut notices = Vec::new();
    if spec.mode == StartMode::Run && state == SessionState::Running {
        notices.push(Notice::with_hint(
            "the program runs; set breakpoints with `borescope break FILE:LINE`",
            "`borescope continue` waits for the next stop",
        ));
    }
    if matches!(spec.stdin, StdinMode::Pipe) {
        notices.push(Notice::with_hint(
            "standard input: the program reads from borescope, not from your terminal",
            "type a line with `borescope input 'TEXT'` (MCP: send_input); `borescope input --eof` ends its input",
        ));
    }
    notices
}

/// The error for `frame N` past the end of the stack.
pub(crate) fn no_such_frame(index: usize, len: usize) -> DebuggerError {
    let valid = match len {
        0 => "none can be selected".to_string(),
        1 => "only frame 0 can be selected".to_string(),
        _ => format!("frames 0-{} can be selected", len - 1),
    };
    DebuggerError::BadCommand(format!(
        "there is no frame {index}; the stack has {} ({valid})",
        counted(len as u64, "frame", "frames")
    ))
}
