//! The Node session backend: V8's inspector over CDP.
//!
//! Node is started by borescope with `--inspect-brk` (so it is our child with its own process
//! group and captured output), the breakpoints are set before the first line runs, and the
//! initial "Break on start" pause is passed silently unless `--stop-on-entry`. One task turns
//! CDP events into the shared run state (deciding what each pause *is*: V8 reports breakpoints
//! and steps alike as reason `other`, told apart by `hitBreakpoints`), another waits for the
//! process to exit. When the program's code has finished, the connection is closed so Node does
//! not sit in "Waiting for the debugger to disconnect".

use super::breakpoints::{send, NodeBreakpoints};
use super::events::pump_events;
use super::launch::start_inspected;
use super::report::{build_stop, children, frame_locals, main_thread};
use super::values::variable;
use super::evaluate::evaluate;
use crate::command::resolve_command;
use crate::frames::FrameClassifier;
use crate::locate::resolve_specs;
use crate::process::StdinMode;
use crate::session::{check_function_spec, watch_exit, BreakOp, PathMap, RunAction, RunState, SessionCore, Snapshot, StartMode};
use crate::DebuggerError;
use borescope_cdp::commands as cdp;
use borescope_cdp::events::Paused;
use borescope_cdp::CdpClient;
use borescope_model::{
    Answer, BreakpointSpec, BreakpointState, Budget, ExceptionMode, Language, Location, Notice, SessionInfo, SessionReport,
    SessionState, Stop, StopReason, ThreadState,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{watch, Mutex};

/// A pause and what it means.
#[derive(Debug, Clone)]
pub struct NodePause {
    /// V8's event.
    pub event: Paused,
    /// borescope's reading of it.
    pub reason: StopReason,
}

/// Everything needed to start a Node program under the inspector.
#[derive(Debug, Clone)]
pub(crate) struct NodeStart {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub base_env: Option<Vec<(String, String)>>,
    pub env: Vec<(String, String)>,
    pub stdin: StdinMode,
    pub breakpoints: Vec<BreakpointSpec>,
    pub exceptions: ExceptionMode,
    pub stop_on_entry: bool,
    /// Hold the program at Node's initial pause (before its first line) until the first run
    /// command, instead of resuming it.
    pub hold: bool,
}

#[derive(Debug, Clone)]
pub(super) struct CurrentStop {
    epoch: u64,
    pub(super) stop: Stop,
    pub(super) selected: usize,
}

/// The run state shared with the event pump.
pub(crate) type PauseState = Arc<watch::Sender<Snapshot<Arc<NodePause>>>>;

/// A Node program under the inspector.
pub struct NodeSession {
    pub(super) core: SessionCore<Arc<NodePause>>,
    pub(super) client: Arc<CdpClient>,
    pub(super) classifier: FrameClassifier,
    pub(super) breakpoints: Arc<StdMutex<NodeBreakpoints>>,
    pub(super) current: Mutex<Option<CurrentStop>>,
    pub(super) last_action: Arc<StdMutex<Option<RunAction>>>,
    /// Script id → file, from `Debugger.scriptParsed` (paused frames carry only the id).
    pub(super) scripts: Scripts,
    /// Node's initial pause while the program is held before its first line.
    pub(super) entry: EntryPause,
}

/// The initial pause of a held program, kept for the first run command.
pub(crate) type EntryPause = Arc<StdMutex<Option<Paused>>>;

/// Parsed scripts: id → URL.
pub(crate) type Scripts = Arc<StdMutex<HashMap<String, String>>>;

impl NodeSession {
    /// `borescope start` for a Node program.
    pub async fn launch(name: &str, spec: crate::session::LaunchSpec) -> Result<(NodeSession, SessionReport), DebuggerError> {
        let first_break = spec.breakpoints.iter().find_map(|b| b.location.as_ref()).map(|l| spec.location_base.join(&l.file));
        let program = resolve_command(&spec.command, first_break.as_deref(), None, spec.language, &spec.cwd)?;
        if spec.python.is_some() {
            return Err(DebuggerError::BadCommand("--python applies only to Python programs".into()));
        }
        let breakpoints = resolve_specs(&spec.breakpoints, &spec.location_base, Some(Language::Node))?;
        let session = NodeSession::start(
            name,
            NodeStart {
                argv: program.argv,
                cwd: spec.cwd.clone(),
                base_env: Some(spec.base_env.clone()),
                env: spec.env.clone(),
                stdin: spec.stdin.clone(),
                breakpoints,
                exceptions: spec.exceptions,
                stop_on_entry: spec.mode == StartMode::StopOnEntry,
                hold: spec.mode == StartMode::Hold,
            },
        )
        .await?;
        let mut report = if spec.mode.waits_for_stop() {
            session.wait_and_report(0, spec.timeout, &spec.budget).await?
        } else {
            session.report_now(&spec.budget).await?
        };
        report.notices.extend(crate::session::launch_notices(&spec, report.state));
        Ok((session, report))
    }

    /// Starts the program paused, connects, configures, and lets it run.
    pub(crate) async fn start(name: &str, start: NodeStart) -> Result<NodeSession, DebuggerError> {
        let mut inspected = start_inspected(&start.argv, &start.cwd, start.base_env.as_deref(), &start.env, &start.stdin).await?;
        let (client, events) = CdpClient::connect(&inspected.ws_url).await?;
        let client = Arc::new(client);
        enable_debugger(&client, start.exceptions).await?;
        for spec in &start.breakpoints {
            crate::session::conditions::check_node(&client, spec).await?;
        }
        let mut table = NodeBreakpoints::default();
        for spec in start.breakpoints {
            let id = table.table.set(spec.clone());
            let (v8_id, bp_state) = send(&client, &table.wire(&spec)).await?;
            table.v8_ids.insert(id, v8_id);
            table.table.set_state(id, bp_state);
        }
        let core = SessionCore::new(
            name,
            Language::Node,
            inspected.argv.clone(),
            inspected.process.pid(),
            inspected.process.output.clone(),
        )
        .with_stdin(inspected.process.take_stdin());
        let session = NodeSession::assemble(core, client.clone(), table);
        let (started_tx, mut started) = watch::channel(false);
        session.spawn_pump(events, start.stop_on_entry, start.hold, started_tx, None);
        tokio::spawn(watch_exit(inspected.process, session.core.state.clone()));
        client.call::<cdp::RunIfWaitingForDebugger>(cdp::NoParams {}).await?;
        // Return only once Node's initial pause is dealt with, so the next command meets a
        // program that runs (or is stopped on entry), never one still held by `--inspect-brk`.
        let mut state = session.core.state.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            tokio::select! {
                _ = started.wait_for(|s| *s) => {}
                _ = state.wait_for(|s| s.run.is_exited()) => {}
            }
        })
        .await;
        Ok(session)
    }

    /// A session from its connected parts, before its event pump runs.
    pub(super) fn assemble(core: SessionCore<Arc<NodePause>>, client: Arc<CdpClient>, table: NodeBreakpoints) -> NodeSession {
        NodeSession {
            client,
            classifier: FrameClassifier::default(),
            breakpoints: Arc::new(StdMutex::new(table)),
            current: Mutex::new(None),
            last_action: Arc::new(StdMutex::new(None)),
            scripts: Arc::default(),
            entry: Arc::default(),
            core,
        }
    }

    /// Starts the task that turns CDP events into this session's run state; `stop`/`hold` say
    /// what becomes of Node's initial pause, `relayed` collects console output of a program
    /// reached by address.
    pub(super) fn spawn_pump(
        &self,
        events: tokio::sync::mpsc::UnboundedReceiver<borescope_cdp::Event>,
        stop: bool,
        hold: bool,
        started: watch::Sender<bool>,
        relayed: Option<crate::output::OutputBuffer>,
    ) {
        tokio::spawn(pump_events(
            events,
            self.client.clone(),
            self.core.state.clone(),
            self.breakpoints.clone(),
            self.last_action.clone(),
            self.scripts.clone(),
            super::events::EntryChoice { stop, hold, pause: self.entry.clone() },
            started,
            relayed,
        ));
    }

    /// The shared state (for the probe).
    pub(crate) fn core(&self) -> &SessionCore<Arc<NodePause>> {
        &self.core
    }

    /// Files of scripts V8 has parsed so far.
    pub(crate) fn loaded_files(&self) -> HashSet<String> {
        self.scripts
            .lock()
            .map(|s| s.values().map(|url| super::urls::url_to_path(url)).collect())
            .unwrap_or_default()
    }

    /// Summary for `sessions`.
    pub fn info(&self) -> SessionInfo {
        let epoch = self.core.snapshot().epoch;
        let stop = self
            .current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().filter(|c| c.epoch == epoch).map(|c| c.stop.clone()));
        let count = self.breakpoints.lock().map(|b| b.table.len()).unwrap_or(0);
        self.core.info(stop.as_ref(), count, self.core.is_attached())
    }

    /// True while the program has not ended.
    pub fn is_alive(&self) -> bool {
        !self.core.snapshot().run.is_exited()
    }

    /// `continue`, `next`, `step`, `out`, `pause`.
    pub async fn run(&self, action: RunAction, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        if self.core.has_unreported_stop() {
            let mut report = self.report_now(budget).await?;
            report.notices.push(Notice::with_hint(
                "the program stopped here after the previous command; it was not resumed",
                "run the command again to go on",
            ));
            return Ok(report);
        }
        let snapshot = self.core.snapshot();
        match (&snapshot.run, action) {
            (RunState::Exited(_), _) | (RunState::Paused(_) | RunState::Held, RunAction::Pause) => {
                return self.report_now(budget).await;
            }
            (RunState::Held, RunAction::Out) => return Err(crate::session::not_started_for_out()),
            (RunState::Held, action) => self.leave_entry(action).await?,
            (RunState::Running, RunAction::Continue) => {}
            (RunState::Running, RunAction::Pause) => self.send_action(RunAction::Pause).await?,
            (RunState::Running, _) => {
                return Err(DebuggerError::State(
                    "the program is running; `borescope pause` stops it first (or `borescope continue` waits for a breakpoint)".into(),
                ));
            }
            (RunState::Paused(_), action) => self.send_action(action).await?,
        }
        self.wait_and_report(snapshot.epoch, timeout, budget).await
    }

    /// Sends the CDP command for a run action.
    pub(crate) async fn send_action(&self, action: RunAction) -> Result<(), DebuggerError> {
        if let Ok(mut last) = self.last_action.lock() {
            *last = Some(action);
        }
        let none = cdp::NoParams {};
        match action {
            RunAction::Continue => self.client.call::<cdp::Resume>(none).await?,
            RunAction::Next => self.client.call::<cdp::StepOver>(none).await?,
            RunAction::Step => self.client.call::<cdp::StepInto>(none).await?,
            RunAction::Out => self.client.call::<cdp::StepOut>(none).await?,
            RunAction::Pause => self.client.call::<cdp::Pause>(none).await?,
        };
        Ok(())
    }

    pub(crate) async fn wait_and_report(&self, epoch: u64, timeout: Duration, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let stopped = self.core.wait_for_stop(epoch, timeout).await;
        let mut report = self.report_now(budget).await?;
        if !stopped {
            SessionCore::<Arc<NodePause>>::still_running(&mut report, timeout);
        }
        Ok(report)
    }

    pub(super) async fn report_now(&self, budget: &Budget) -> Result<SessionReport, DebuggerError> {
        let mut report = self.core.base_report();
        if report.state == SessionState::Paused {
            let current = self.current_stop(budget).await?;
            self.core.mark_reported(current.epoch);
            report.stop = Some(current.stop);
        }
        Ok(report)
    }

    /// The current pause.
    pub(crate) fn pause(&self) -> Result<Arc<NodePause>, DebuggerError> {
        match self.core.snapshot().run {
            RunState::Paused(pause) => Ok(pause),
            _ => Err(self.core.not_paused()),
        }
    }

    pub(super) async fn current_stop(&self, budget: &Budget) -> Result<CurrentStop, DebuggerError> {
        let epoch = self.core.snapshot().epoch;
        let pause = self.pause()?;
        let mut current = self.current.lock().await;
        if let Some(stop) = current.as_ref().filter(|c| c.epoch == epoch) {
            return Ok(stop.clone());
        }
        let mut stop = build_stop(&self.client, &pause.event, pause.reason.clone(), &self.classifier, &self.scripts, budget, false).await?;
        if self.core.is_attached() {
            self.localize(&mut stop, &pause.event).await;
        }
        let fresh = CurrentStop { epoch, stop, selected: 0 };
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    /// A stop report with `evals` evaluated in the innermost frame (for probes).
    pub(crate) async fn capture(&self, evals: &[String], budget: &Budget) -> Result<Stop, DebuggerError> {
        let mut stop = self.current_stop(budget).await?.stop;
        let pause = self.pause()?;
        if let Some(frame) = pause.event.call_frames.first() {
            for expression in evals {
                stop.evals.push(evaluate(&self.client, &frame.call_frame_id, expression, budget).await);
            }
        }
        Ok(stop)
    }

    /// `break`.
    pub async fn breakpoints(&self, op: BreakOp, cwd: &Path) -> Result<Answer, DebuggerError> {
        let ended = self.core.debugger_gone();
        if let BreakOp::Set(spec) = &op
            && !ended
        {
            crate::session::conditions::check_node(&self.client, spec).await?;
            if let Some(name) = &spec.function {
                return self.function_breakpoint(name, spec).await;
            }
        }
        let mut change = {
            let mut table = self.lock_breakpoints()?;
            table.table.apply(op, cwd, Language::Node, &PathMap::same())?
        };
        if ended {
            // Nothing to send to: the table keeps the change for `restart`.
            change.message = change.message.map(crate::session::after_the_end);
            let all = self.lock_breakpoints()?.table.all();
            return Ok(Answer::Breakpoints { session: self.core.name.clone(), breakpoints: all, change: change.message });
        }
        for removed in &change.removed {
            let v8_id = self.lock_breakpoints()?.v8_ids.remove(&removed.id);
            if let Some(v8_id) = v8_id {
                self.client.call::<cdp::RemoveBreakpoint>(cdp::BreakpointId { breakpoint_id: v8_id }).await?;
            }
        }
        if let Some(id) = change.set {
            let (old, spec) = {
                let table = self.lock_breakpoints()?;
                (table.v8_ids.get(&id).cloned(), table.table.get(id).map(|i| table.wire(&i.spec)))
            };
            if let Some(old) = old {
                self.client.call::<cdp::RemoveBreakpoint>(cdp::BreakpointId { breakpoint_id: old }).await?;
            }
            if let Some(spec) = spec {
                let (v8_id, state) = send(&self.client, &spec).await?;
                let mut table = self.lock_breakpoints()?;
                table.v8_ids.insert(id, v8_id);
                table.table.set_state(id, state);
            }
        }
        let all = self.lock_breakpoints()?.table.all();
        Ok(Answer::Breakpoints { session: self.core.name.clone(), breakpoints: all, change: change.message })
    }

    /// `break --function NAME`: resolves the name where the program is and sets the
    /// breakpoint where the function's body starts.
    async fn function_breakpoint(&self, name: &str, spec: &BreakpointSpec) -> Result<Answer, DebuggerError> {
        check_function_spec(name, spec)?;
        // A held program is paused at its first line too: its module's functions are there.
        let held = self.entry.lock().ok().and_then(|e| e.clone());
        let pause = self.pause().ok();
        let frames = pause.as_ref().map(|p| &p.event).or(held.as_ref());
        let placed = super::functions::place(&self.client, frames, spec).await?;
        let url = self.scripts.lock().ok().and_then(|s| s.get(&placed.at.script_id).cloned()).unwrap_or_default();
        let file = self.lock_breakpoints()?.paths.to_local(&super::urls::url_to_path(&url));
        let line = placed.at.line_number + 1;
        let location = Location { file, line };
        let (id, old) = {
            let mut table = self.lock_breakpoints()?;
            let id = table.table.set(BreakpointSpec { location: Some(location.clone()), ..spec.clone() });
            table.table.set_state(id, BreakpointState::Verified { line: Some(line) });
            (id, table.v8_ids.insert(id, placed.v8_id))
        };
        if let Some(old) = old {
            self.client.call::<cdp::RemoveBreakpoint>(cdp::BreakpointId { breakpoint_id: old }).await?;
        }
        let all = self.lock_breakpoints()?.table.all();
        Ok(Answer::Breakpoints {
            session: self.core.name.clone(),
            breakpoints: all,
            change: Some(format!("breakpoint #{id} set on `{name}` (its body starts at line {line})")),
        })
    }

    pub(super) fn lock_breakpoints(&self) -> Result<std::sync::MutexGuard<'_, NodeBreakpoints>, DebuggerError> {
        self.breakpoints
            .lock()
            .map_err(|_| DebuggerError::Protocol("breakpoint table unavailable".into()))
    }

    /// `stack`.
    pub async fn stack(&self) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(&Budget::default()).await?;
        Ok(Answer::Stack {
            session: self.core.name.clone(),
            thread: main_thread(),
            frames: current.stop.stack,
            selected: current.selected,
        })
    }

    /// `threads`: Node runs JavaScript on one thread.
    pub async fn threads(&self) -> Result<Answer, DebuggerError> {
        let top = match self.core.snapshot().run {
            RunState::Paused(_) => self.current_stop(&Budget::default()).await.ok().and_then(|c| c.stop.stack.into_iter().next()),
            _ => None,
        };
        Ok(Answer::Threads {
            session: self.core.name.clone(),
            threads: vec![ThreadState { thread: main_thread(), current: true, top }],
        })
    }

    /// `frame N`.
    pub async fn select_frame(&self, index: usize, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let pause = self.pause()?;
        let Some(frame) = pause.event.call_frames.get(index) else {
            if index < current.stop.stack.len() {
                let valid = match pause.event.call_frames.len() {
                    1 => "only frame 0 can be selected".to_string(),
                    n => format!("frames 0-{} can be selected", n.saturating_sub(1)),
                };
                return Err(DebuggerError::BadCommand(format!(
                    "frame {index} is an async caller; its variables are gone ({valid})"
                )));
            }
            return Err(crate::session::no_such_frame(index, current.stop.stack.len()));
        };
        let (variables, omitted) = frame_locals(&self.client, frame, budget, false).await?;
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

    /// `vars [PATH]` (`closures` adds closure and module scopes to the locals).
    pub async fn vars(&self, path: Option<&str>, budget: &Budget, closures: bool) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let pause = self.pause()?;
        let frame = pause
            .event
            .call_frames
            .get(current.selected)
            .ok_or_else(|| DebuggerError::Protocol("no frame selected".into()))?;
        let (variables, omitted) = match path {
            None => frame_locals(&self.client, frame, budget, closures).await?,
            Some(path) => {
                let reply = self
                    .client
                    .call::<cdp::EvaluateOnCallFrame>(cdp::EvaluateOnFrame {
                        call_frame_id: frame.call_frame_id.clone(),
                        expression: path.to_string(),
                        generate_preview: true,
                        silent: true,
                    })
                    .await?;
                if let Some(details) = reply.exception_details {
                    let text = details.exception.as_ref().and_then(|e| e.description.clone()).unwrap_or(details.text);
                    return Err(DebuggerError::BadCommand(format!(
                        "cannot read `{path}`: {}",
                        text.lines().next().unwrap_or_default()
                    )));
                }
                match reply.result.object_id.clone().filter(|_| reply.result.kind == "object") {
                    Some(object_id) => children(&self.client, &object_id, budget).await?,
                    None => (vec![variable(path, &reply.result, budget)], 0),
                }
            }
        };
        Ok(Answer::Variables {
            session: self.core.name.clone(),
            frame: current.stop.stack[current.selected].clone(),
            path: path.map(str::to_string),
            variables,
            omitted,
        })
    }

    /// `eval EXPR` in the selected frame.
    pub async fn eval(&self, expression: &str, budget: &Budget) -> Result<Answer, DebuggerError> {
        let current = self.current_stop(budget).await?;
        let pause = self.pause()?;
        let frame = pause
            .event
            .call_frames
            .get(current.selected)
            .ok_or_else(|| DebuggerError::Protocol("no frame selected".into()))?;
        let result = evaluate(&self.client, &frame.call_frame_id, expression, budget).await;
        Ok(Answer::Eval { session: self.core.name.clone(), frame: current.stop.stack[current.selected].clone(), result })
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

    /// `stop`: ends the program and its process group (SIGTERM, a grace period, SIGKILL), or,
    /// for one reached by address, detaches and leaves it running.
    pub async fn stop(&self) -> Answer {
        if self.core.is_attached() {
            return self.detach().await;
        }
        // After SIGTERM, hanging up drops borescope's breakpoints and resumes a paused program,
        // so a `process.on('SIGTERM')` handler (it runs on the event loop) gets to run.
        let (exit, ending) = self.core.end_gently(async {}, self.client.close()).await;
        self.core.ended_by(exit, ending)
    }
}

/// Enables the domains a session uses and sets which exceptions pause.
pub(super) async fn enable_debugger(client: &CdpClient, exceptions: ExceptionMode) -> Result<(), DebuggerError> {
    client.call::<cdp::RuntimeEnable>(cdp::NoParams {}).await?;
    client.call::<cdp::DebuggerEnable>(cdp::NoParams {}).await?;
    client.call::<cdp::SetAsyncCallStackDepth>(cdp::AsyncDepth { max_depth: 32 }).await?;
    let state = match exceptions {
        ExceptionMode::Uncaught => "uncaught",
        ExceptionMode::Raised => "all",
        ExceptionMode::None => "none",
    };
    client.call::<cdp::SetPauseOnExceptions>(cdp::PauseOnExceptions { state: state.into() }).await?;
    Ok(())
}

