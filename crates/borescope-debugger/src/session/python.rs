//! The Python session backend: debugpy inside the program, driven over DAP.
//!
//! The program is started by borescope with the agent's listen job, so it is our child (exact
//! exit codes, its own process group, stdout/stderr captured) and debugpy runs in-process (one
//! TCP hop, no adapter process). Two tasks watch it: one turns DAP events into the shared run
//! state, one waits for the process to exit. Commands read that state, so a command on an
//! ended program answers at once.

use super::breakpoints::BreakpointTable;
use super::dap_report::{build_stop, children, frame_locals, variable_from_dap, CurrentStop};
use super::launch::{start_listening, LaunchSpec, RunAction};
use super::state::{RunState, Snapshot};
use super::BreakOp;
use crate::frames::FrameClassifier;
use crate::locate::resolve_location;
use crate::output::OutputBuffer;
use crate::DebuggerError;
use borescope_dap::events::{OutputEvent, StoppedEvent};
use borescope_dap::requests as dap;
use borescope_dap::{DapClient, Event};
use borescope_model::{
    Answer, BreakpointSpec, BreakpointState, Budget, EvalResult, ExceptionMode, ExitInfo, Language,
    Notice, OutputStream, SessionInfo, SessionReport, SessionState, ThreadRef, ThreadState,
};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

/// A Python program under debugpy.
pub struct PythonSession {
    name: String,
    command: Vec<String>,
    pid: u32,
    client: Arc<DapClient>,
    state: Arc<watch::Sender<Snapshot>>,
    output: OutputBuffer,
    output_cursor: AtomicU64,
    /// The last stop (epoch) whose report a client has seen.
    reported: AtomicU64,
    classifier: FrameClassifier,
    breakpoints: Mutex<BreakpointTable>,
    current: Mutex<Option<CurrentStop>>,
}

impl PythonSession {
    /// Starts the program, connects, sets the initial breakpoints, and (when asked to stop
    /// somewhere) waits for the first stop.
    pub async fn launch(
        name: &str,
        spec: LaunchSpec,
        cache_dir: &Path,
    ) -> Result<(PythonSession, SessionReport), DebuggerError> {
        let listening = start_listening(&spec, cache_dir).await?;
        let mut classifier = FrameClassifier::default();
        classifier.learn(&listening.hello.runtime_dirs, listening.hello.agent_dir.as_deref());
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], listening.port));
        let (client, mut events) = DapClient::connect_tcp(addr).await?;
        let client = Arc::new(client);
        let mut table = BreakpointTable::default();
        for bp in &listening.breakpoints {
            table.set(bp.clone());
        }
        let early = handshake(&client, &mut events, &listening.token, &mut table, spec.exceptions).await?;
        let state = Arc::new(watch::Sender::new(Snapshot::running()));
        let pid = listening.process.pid();
        let output = listening.process.output.clone();
        tokio::spawn(pump_events(events, early, state.clone(), output.clone()));
        tokio::spawn(watch_exit(listening.process, state.clone()));
        let session = PythonSession {
            name: name.to_string(),
            command: listening.argv,
            pid,
            client,
            state,
            output,
            output_cursor: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            classifier,
            breakpoints: Mutex::new(table),
            current: Mutex::new(None),
        };
        let report = if spec.stop_on_entry || !spec.breakpoints.is_empty() {
            session.wait_for_stop(0, spec.timeout, &spec.budget).await?
        } else {
            let mut report = session.report_now(&spec.budget).await?;
            report.notices.push(Notice::with_hint(
                "the program runs; set breakpoints with `borescope break FILE:LINE`",
                "`borescope continue` waits for the next stop; use --break or --stop-on-entry to stop before the first line",
            ));
            report
        };
        Ok((session, report))
    }

    /// The current run state.
    pub fn state(&self) -> RunState {
        self.state.borrow().run.clone()
    }

    /// Summary for `sessions`.
    pub fn info(&self) -> SessionInfo {
        let snapshot = self.state.borrow().clone();
        let (state, exit) = match &snapshot.run {
            RunState::Running => (SessionState::Running, None),
            RunState::Paused(_) => (SessionState::Paused, None),
            RunState::Exited(exit) => (SessionState::Exited, Some(*exit)),
        };
        let location = self
            .current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|c| c.epoch == snapshot.epoch).and_then(|c| c.stop.location.clone()));
        SessionInfo {
            name: self.name.clone(),
            language: Language::Python,
            state,
            pid: Some(self.pid),
            command: self.command.clone(),
            attached: false,
            location,
            exit,
            breakpoints: self.breakpoints.try_lock().map(|t| t.len()).unwrap_or(0),
        }
    }

    /// `continue`, `next`, `step`, `out`, `pause`.
    pub async fn run(&self, action: RunAction, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let snapshot = self.state.borrow().clone();
        let epoch = snapshot.epoch;
        if matches!(snapshot.run, RunState::Paused(_)) && epoch > self.reported.load(Ordering::Relaxed) {
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
            (RunState::Exited(_), _) => return self.report_now(budget).await,
            (RunState::Paused(_), RunAction::Pause) => return self.report_now(budget).await,
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
        self.wait_for_stop(epoch, timeout, budget).await
    }

    /// Waits until the stop counter passes `epoch` or the program ends.
    async fn wait_for_stop(&self, epoch: u64, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let mut receiver = self.state.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            receiver
                .wait_for(|s| s.epoch > epoch || matches!(s.run, RunState::Exited(_)))
                .await
                .map(|_| ())
        })
        .await;
        match waited {
            Ok(_) => self.report_now(budget).await,
            Err(_) => {
                let mut report = self.report_now(budget).await?;
                report.notices.push(Notice::with_hint(
                    format!("still running after {}s", timeout.as_secs_f64()),
                    "`borescope pause` stops it; `borescope continue` waits again",
                ));
                Ok(report)
            }
        }
    }

    /// A report of the state right now (building the stop report if paused).
    async fn report_now(&self, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let snapshot = self.state.borrow().clone();
        let cursor = self.output_cursor.swap(self.output.end(), Ordering::Relaxed);
        let output = Some(self.output.tail_since(cursor, 20));
        let mut report = SessionReport {
            session: self.name.clone(),
            state: SessionState::Running,
            stop: None,
            exit: None,
            output,
            notices: Vec::new(),
        };
        match &snapshot.run {
            RunState::Running => {
                if snapshot.debugger_lost {
                    report.notices.push(Notice::plain("the debugger connection was lost; the program keeps running"));
                }
            }
            RunState::Exited(exit) => {
                report.state = SessionState::Exited;
                report.exit = Some(*exit);
            }
            RunState::Paused(_) => {
                report.state = SessionState::Paused;
                let current = self.current_stop(budget).await?;
                self.reported.fetch_max(current.epoch, Ordering::Relaxed);
                report.stop = Some(current.stop);
            }
        }
        Ok(report)
    }

    /// The current stop, fetched from the debugger once per stop.
    async fn current_stop(&self, budget: &Budget) -> Result<CurrentStop, DebuggerError> {
        let snapshot = self.state.borrow().clone();
        let RunState::Paused(event) = &snapshot.run else {
            return Err(self.not_paused(&snapshot.run));
        };
        let mut current = self.current.lock().await;
        if let Some(stop) = current.as_ref().filter(|c| c.epoch == snapshot.epoch) {
            return Ok(stop.clone());
        }
        let stop = build_stop(&self.client, event, snapshot.epoch, &self.classifier, budget).await?;
        *current = Some(stop.clone());
        Ok(stop)
    }

    fn not_paused(&self, run: &RunState) -> DebuggerError {
        match run {
            RunState::Exited(exit) => DebuggerError::State(format!(
                "the program has exited ({}); start it again with `borescope start`",
                exit.describe()
            )),
            _ => DebuggerError::State(
                "the program is running, not stopped; `borescope pause` stops it".into(),
            ),
        }
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
        let mut table = self.breakpoints.lock().await;
        let (files, change) = match op {
            BreakOp::List => (Vec::new(), None),
            BreakOp::Clear => {
                let count = table.len();
                (table.remove_where(|_| true), Some(format!("deleted {count} breakpoint(s)")))
            }
            BreakOp::Delete(location) => {
                let resolved = resolve_location(&location, cwd, Some(Language::Python))
                    .map(|l| l.file)
                    .unwrap_or_else(|_| cwd.join(&location.file).display().to_string());
                let files = table.remove_where(|e| e.spec.location.file == resolved && e.spec.location.line == location.line);
                if files.is_empty() {
                    return Err(DebuggerError::BadCommand(format!(
                        "no breakpoint at `{location}`; `borescope break --list` shows them"
                    )));
                }
                (files, Some(format!("deleted the breakpoint at {location}")))
            }
            BreakOp::Set(spec) => {
                let location = resolve_location(&spec.location, cwd, Some(Language::Python))
                    .map_err(|p| DebuggerError::BadLocation(vec![p]))?;
                let file = location.file.clone();
                let id = table.set(BreakpointSpec { location, ..spec });
                (vec![file], Some(format!("breakpoint #{id} set")))
            }
        };
        for file in files {
            send_file_breakpoints(&self.client, &mut table, &file).await?;
        }
        Ok(Answer::Breakpoints {
            session: self.name.clone(),
            breakpoints: table.all(),
            change,
        })
    }

    /// `stack`.
    pub async fn stack(&self) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(&Budget::default()).await?;
        Ok(Answer::Stack {
            session: self.name.clone(),
            thread: current.stop.thread.clone().unwrap_or(ThreadRef { id: current.thread_id, name: String::new() }),
            frames: current.stop.stack.clone(),
            selected: current.selected,
        })
    }

    /// `threads`.
    pub async fn threads(&self) -> Result<Answer, DebuggerError> {
        let reply = self.client.request::<dap::Threads>(Value::Null).await?;
        let paused = matches!(self.state.borrow().run, RunState::Paused(_));
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
        Ok(Answer::Threads { session: self.name.clone(), threads })
    }

    /// `frame N`: selects a frame and lists its locals.
    pub async fn select_frame(&self, index: usize, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let Some(&frame_id) = current.frame_ids.get(index) else {
            return Err(DebuggerError::BadCommand(format!(
                "there is no frame {index}; the stack has {} frames (0-{})",
                current.frame_ids.len(),
                current.frame_ids.len().saturating_sub(1)
            )));
        };
        let (variables, omitted) = frame_locals(&self.client, frame_id, budget).await?;
        if let Some(cached) = self.current.lock().await.as_mut().filter(|c| c.epoch == current.epoch) {
            cached.selected = index;
        }
        Ok(Answer::Variables {
            session: self.name.clone(),
            frame: current.stop.stack[index].clone(),
            path: None,
            variables,
            omitted,
        })
    }

    /// `vars [PATH]`: the selected frame's locals, or the children of PATH.
    pub async fn vars(&self, path: Option<&str>, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let frame = current.stop.stack.get(current.selected).cloned().ok_or_else(|| {
            DebuggerError::Protocol("the stopped thread has no frames".into())
        })?;
        let frame_id = current.frame_ids[current.selected];
        let (variables, omitted) = match path {
            None if current.selected == 0 => {
                let (vars, omitted) = frame_locals(&self.client, frame_id, budget).await?;
                (vars, omitted)
            }
            None => frame_locals(&self.client, frame_id, budget).await?,
            Some(path) => {
                let reply = self
                    .client
                    .request::<dap::Evaluate>(dap::EvaluateArguments {
                        expression: path.to_string(),
                        frame_id: Some(frame_id),
                        context: "watch".into(),
                    })
                    .await
                    .map_err(|e| DebuggerError::BadCommand(format!("cannot read `{path}`: {}", dap_message(&e))))?;
                if reply.variables_reference > 0 {
                    children(&self.client, reply.variables_reference, budget).await?
                } else {
                    let var = variable_from_dap(path, &reply.result, reply.type_name.as_deref(), 0, budget);
                    (vec![var], 0)
                }
            }
        };
        Ok(Answer::Variables {
            session: self.name.clone(),
            frame,
            path: path.map(str::to_string),
            variables,
            omitted,
        })
    }

    /// `eval EXPR` in the selected frame.
    pub async fn eval(&self, expression: &str, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let frame_id = current.frame_ids.get(current.selected).copied();
        let reply = self
            .client
            .request::<dap::Evaluate>(dap::EvaluateArguments {
                expression: expression.to_string(),
                frame_id,
                context: "repl".into(),
            })
            .await;
        let result = match reply {
            Ok(reply) => EvalResult {
                expression: expression.to_string(),
                value: Some(variable_from_dap(
                    expression,
                    &reply.result,
                    reply.type_name.as_deref(),
                    reply.variables_reference,
                    &Budget { redact: false, ..*budget },
                )),
                error: None,
            },
            Err(error) => EvalResult {
                expression: expression.to_string(),
                value: None,
                error: Some(dap_message(&error)),
            },
        };
        Ok(Answer::Eval {
            session: self.name.clone(),
            frame: current.stop.stack.get(current.selected).cloned().unwrap_or_else(|| current.stop.stack[0].clone()),
            result,
        })
    }

    /// `output`.
    pub fn output(&self, since: u64, limit: usize) -> Answer {
        Answer::Output {
            session: self.name.clone(),
            chunk: self.output.since(since, limit),
        }
    }

    /// `status`.
    pub fn status(&self) -> Answer {
        let snapshot_epoch = self.state.borrow().epoch;
        let stop = self
            .current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|c| c.epoch == snapshot_epoch).map(|c| c.stop.clone()))
            .filter(|_| matches!(self.state.borrow().run, RunState::Paused(_)));
        Answer::Status { info: self.info(), stop }
    }

    /// `stop`: ends the program and its process group.
    pub async fn stop(&self) -> Answer {
        if !matches!(self.state.borrow().run, RunState::Exited(_)) {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            let mut receiver = self.state.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                let _ = receiver.wait_for(|s| matches!(s.run, RunState::Exited(_))).await;
            })
            .await;
        }
        let exit = match &self.state.borrow().run {
            RunState::Exited(exit) => Some(*exit),
            _ => None,
        };
        Answer::Ended {
            session: self.name.clone(),
            detached: false,
            exit,
            output: self.output.tail_since(0, 10),
        }
    }
}

impl Drop for PythonSession {
    fn drop(&mut self) {
        if !matches!(self.state.borrow().run, RunState::Exited(_)) {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
    }
}

/// The DAP start-up sequence debugpy needs: authorize, initialize, attach *without awaiting*,
/// wait for `initialized`, configure, `configurationDone`, then await both answers. Returns
/// the events that arrived meanwhile.
async fn handshake(
    client: &DapClient,
    events: &mut mpsc::UnboundedReceiver<Event>,
    token: &str,
    table: &mut BreakpointTable,
    exceptions: ExceptionMode,
) -> Result<Vec<Event>, DebuggerError> {
    client
        .request::<dap::PydevdAuthorize>(dap::PydevdAuthorizeArguments { debug_server_access_token: token.into() })
        .await?;
    client.request::<dap::Initialize>(dap::InitializeArguments::borescope("debugpy")).await?;
    let attach = client
        .send::<dap::Attach>(json!({
            "justMyCode": true,
            "redirectOutput": false,
            "showReturnValue": false,
            "variablePresentation": {"special": "hide", "function": "hide", "class": "hide", "protected": "inline"},
        }))
        .await?;
    let mut early = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(15), events.recv())
            .await
            .map_err(|_| DebuggerError::Timeout("debugpy did not send `initialized` within 15s".into()))?
            .ok_or_else(|| DebuggerError::Protocol("debugpy closed the connection during start-up".into()))?;
        if event.event == "initialized" {
            break;
        }
        early.push(event);
    }
    for file in table.files() {
        send_file_breakpoints(client, table, &file).await?;
    }
    let filters: Vec<String> = match exceptions {
        ExceptionMode::Uncaught => vec!["uncaught".into()],
        ExceptionMode::Raised => vec!["raised".into(), "uncaught".into()],
        ExceptionMode::None => vec![],
    };
    client
        .request::<dap::SetExceptionBreakpoints>(dap::SetExceptionBreakpointsArguments { filters })
        .await?;
    let done = client.send::<dap::ConfigurationDone>(Value::Null).await?;
    done.wait().await?;
    attach.wait().await?;
    Ok(early)
}

/// Sends one file's breakpoints and records how debugpy bound them.
async fn send_file_breakpoints(client: &DapClient, table: &mut BreakpointTable, file: &str) -> Result<(), DebuggerError> {
    let breakpoints: Vec<dap::SourceBreakpoint> = table
        .in_file(file)
        .iter()
        .map(|e| dap::SourceBreakpoint {
            line: e.spec.location.line,
            condition: e.spec.condition.clone(),
            hit_condition: e.spec.hit.map(|n| n.to_string()),
            log_message: e.spec.log.clone(),
        })
        .collect();
    let reply = client
        .request::<dap::SetBreakpoints>(dap::SetBreakpointsArguments {
            source: dap::Source { path: Some(file.to_string()), name: None },
            breakpoints,
        })
        .await?;
    let states = reply
        .breakpoints
        .into_iter()
        .map(|b| match (b.verified, b.line) {
            (true, Some(line)) => BreakpointState::Verified { line },
            (true, None) => BreakpointState::Pending,
            (false, _) => match b.message {
                Some(message) => BreakpointState::Rejected { message },
                None => BreakpointState::Pending,
            },
        })
        .collect();
    table.update_states(file, states);
    Ok(())
}

/// Turns DAP events into run-state changes; debugger messages (logpoints) go to the output.
async fn pump_events(
    mut events: mpsc::UnboundedReceiver<Event>,
    early: Vec<Event>,
    state: Arc<watch::Sender<Snapshot>>,
    output: OutputBuffer,
) {
    let apply = |event: Event| match event.event.as_str() {
        "stopped" => {
            if let Ok(stopped) = serde_json::from_value::<StoppedEvent>(event.body) {
                state.send_modify(|s| {
                    if !matches!(s.run, RunState::Exited(_)) {
                        s.epoch += 1;
                        s.run = RunState::Paused(stopped);
                    }
                });
            }
        }
        "continued" => state.send_modify(|s| {
            if matches!(s.run, RunState::Paused(_)) {
                s.run = RunState::Running;
            }
        }),
        "output" => {
            if let Ok(out) = serde_json::from_value::<OutputEvent>(event.body) {
                // The program's own stdout/stderr come from its pipes (debugpy runs with
                // redirectOutput off), so output events carry only what the debugger itself
                // says: logpoint messages (category stdout) and warnings.
                let stream = match out.category.as_deref() {
                    Some("telemetry") => None,
                    Some("stderr") => Some(OutputStream::Stderr),
                    _ => Some(OutputStream::Stdout),
                };
                if let Some(stream) = stream {
                    for line in out.output.lines() {
                        output.push(stream, line.to_string());
                    }
                }
            }
        }
        _ => {}
    };
    for event in early {
        apply(event);
    }
    while let Some(event) = events.recv().await {
        apply(event);
    }
    state.send_modify(|s| {
        if !matches!(s.run, RunState::Exited(_)) {
            s.debugger_lost = true;
        }
    });
}

/// Waits for the program to exit and records it.
async fn watch_exit(mut process: crate::process::ProgramProcess, state: Arc<watch::Sender<Snapshot>>) {
    let exit: ExitInfo = process.wait().await;
    process.kill_group();
    process.drain_output().await;
    state.send_modify(|s| s.run = RunState::Exited(exit));
}

/// The useful part of a DAP error (debugpy's evaluate errors carry the Python message).
fn dap_message(error: &borescope_dap::DapError) -> String {
    match error {
        borescope_dap::DapError::Failed { message, .. } => message.lines().last().unwrap_or(message).trim().to_string(),
        other => other.to_string(),
    }
}
