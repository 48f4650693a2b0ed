//! What every session backend shares: the watched run state, output and its cursors, waiting
//! for the next stop, the base of every report, and the end of the program.

use super::state::{RunState, Snapshot};
use crate::output::OutputBuffer;
use crate::process::ProgramProcess;
use crate::DebuggerError;
use borescope_model::{
    Answer, Ending, ExitInfo, Language, Notice, SessionInfo, SessionReport, SessionState, Stop,
};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The shared part of a session. `P` is what a pause carries.
pub(crate) struct SessionCore<P> {
    pub name: String,
    pub language: Language,
    pub command: Vec<String>,
    pub pid: u32,
    pub state: Arc<watch::Sender<Snapshot<P>>>,
    pub output: OutputBuffer,
    output_cursor: AtomicU64,
    /// The last stop (epoch) whose report a client has seen.
    reported: AtomicU64,
    /// borescope attached to a process it did not start: it is never signalled.
    attached: bool,
    /// The writing end of the program's standard input, when borescope holds it.
    stdin: tokio::sync::Mutex<Option<tokio::process::ChildStdin>>,
    /// The program was reached by address: its pid means nothing here (another machine, a
    /// container), so none is shown.
    remote: bool,
}

impl<P: Clone + Send + Sync + 'static> SessionCore<P> {
    pub fn new(name: &str, language: Language, command: Vec<String>, pid: u32, output: OutputBuffer) -> SessionCore<P> {
        SessionCore {
            name: name.to_string(),
            language,
            command,
            pid,
            state: Arc::new(watch::Sender::new(Snapshot::running())),
            output,
            output_cursor: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            attached: false,
            stdin: tokio::sync::Mutex::new(None),
            remote: false,
        }
    }

    /// Keeps the writing end of the program's standard input for `input`.
    pub fn with_stdin(mut self, stdin: Option<tokio::process::ChildStdin>) -> SessionCore<P> {
        self.stdin = tokio::sync::Mutex::new(stdin);
        self
    }

    /// `input`: writes to the program's standard input (and closes it on `eof`).
    pub async fn input(&self, text: &str, eof: bool) -> Result<Answer, DebuggerError> {
        let mut guard = self.stdin.lock().await;
        let Some(stdin) = guard.as_mut() else {
            let why = if self.attached {
                "borescope did not start this program, so its standard input is not borescope's"
            } else {
                "this program reads the standard input `start` was given (your shell's pipe or file), or it was closed with --eof"
            };
            return Err(DebuggerError::State(format!("cannot type into the program: {why}")));
        };
        use tokio::io::AsyncWriteExt;
        let written = async {
            stdin.write_all(text.as_bytes()).await?;
            stdin.flush().await
        };
        match tokio::time::timeout(Duration::from_secs(5), written).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                *guard = None;
                return Err(DebuggerError::State(format!(
                    "cannot write to the program's standard input ({error}); it has closed it or ended"
                )));
            }
            Err(_) => {
                return Err(DebuggerError::State(
                    "the program is not reading its standard input and the pipe is full; part of the text may have been written: check `borescope output` before typing more".into(),
                ));
            }
        }
        if eof {
            *guard = None;
        }
        Ok(Answer::Input { session: self.name.clone(), bytes: text.len(), closed: eof })
    }

    /// Marks the program as one reached by address: attached, and without a pid.
    pub fn into_remote(mut self) -> SessionCore<P> {
        self.attached = true;
        self.remote = true;
        self
    }

    /// Marks the program as one borescope attached to: `kill` and drop leave it alone.
    pub fn into_attached(mut self) -> SessionCore<P> {
        self.attached = true;
        self
    }

    /// True for an attached process.
    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// The state right now.
    pub fn snapshot(&self) -> Snapshot<P> {
        self.state.borrow().clone()
    }

    /// True when the program is paused at a stop no client has seen yet.
    pub fn has_unreported_stop(&self) -> bool {
        let snapshot = self.snapshot();
        snapshot.run.is_paused() && snapshot.epoch > self.reported.load(Ordering::Relaxed)
    }

    /// Records that the stop `epoch` was shown to a client.
    pub fn mark_reported(&self, epoch: u64) {
        self.reported.fetch_max(epoch, Ordering::Relaxed);
    }

    /// Waits until the stop counter passes `epoch` or the program ends; false on timeout.
    pub async fn wait_for_stop(&self, epoch: u64, timeout: Duration) -> bool {
        let mut receiver = self.state.subscribe();
        tokio::time::timeout(timeout, async {
            receiver
                .wait_for(|s| s.epoch > epoch || s.run.is_exited())
                .await
                .map(|_| ())
        })
        .await
        .is_ok()
    }

    /// A report of the state without its stop (the backend adds that), with the output
    /// printed since the previous report.
    pub fn base_report(&self) -> SessionReport {
        let snapshot = self.snapshot();
        let cursor = self.output_cursor.swap(self.output.end(), Ordering::Relaxed);
        let mut report = SessionReport {
            session: self.name.clone(),
            state: SessionState::Running,
            stop: None,
            exit: None,
            output: Some(self.output.tail_since(cursor, 20)),
            notices: Vec::new(),
        };
        match &snapshot.run {
            RunState::Held => {
                report.state = SessionState::Ready;
                report.notices.push(ready_notice());
            }
            RunState::Running if snapshot.debugger_lost => report.notices.push(Notice::plain(
                "the debugger connection was lost; the program keeps running",
            )),
            RunState::Running => {}
            RunState::Paused(_) => report.state = SessionState::Paused,
            RunState::Exited(exit) => {
                report.state = SessionState::Exited;
                report.exit = Some(*exit);
                if let Some(reason) = &snapshot.ended_because {
                    report.notices.push(Notice::plain(reason.clone()));
                }
            }
        }
        report
    }

    /// Adds the "still running" notice to a report after a wait timed out.
    pub fn still_running(report: &mut SessionReport, timeout: Duration) {
        report.notices.push(Notice::with_hint(
            format!("still running after {}s", timeout.as_secs_f64()),
            "`borescope pause` stops it; `borescope continue` waits again",
        ));
    }

    /// Marks the program as held before its first line (the state it starts in).
    pub fn hold(&self) {
        self.state.send_modify(|s| s.run = RunState::Held);
    }

    /// Leaves the held state for running; false if the program was not held.
    pub fn release(&self) -> bool {
        let mut released = false;
        self.state.send_if_modified(|s| {
            released = s.run.is_held();
            if released {
                s.run = RunState::Running;
            }
            released
        });
        released
    }

    /// True once the program has ended or its debugger connection is gone: breakpoint changes
    /// can only be recorded (for `restart`), not sent.
    pub fn debugger_gone(&self) -> bool {
        let snapshot = self.snapshot();
        snapshot.run.is_exited() || snapshot.debugger_lost
    }

    /// The error for a command that needs a paused program.
    pub fn not_paused(&self) -> DebuggerError {
        let snapshot = self.snapshot();
        if let (RunState::Exited(_), Some(reason)) = (&snapshot.run, &snapshot.ended_because) {
            return DebuggerError::State(format!("{reason}, so the session's program is gone; `borescope stop` ends the session"));
        }
        match snapshot.run {
            RunState::Held => DebuggerError::State(
                "the program has not started: it is held before its first line; `borescope continue` runs it, `borescope next` stops at its first line".into(),
            ),
            RunState::Exited(exit) => DebuggerError::State(format!(
                "the program has exited ({}); start it again with `borescope start`",
                exit.describe()
            )),
            _ => DebuggerError::State("the program is running, not stopped; `borescope pause` stops it".into()),
        }
    }

    /// Summary for `sessions`.
    pub fn info(&self, stop: Option<&Stop>, breakpoints: usize, attached: bool) -> SessionInfo {
        let (state, exit) = match self.snapshot().run {
            RunState::Held => (SessionState::Ready, None),
            RunState::Running => (SessionState::Running, None),
            RunState::Paused(_) => (SessionState::Paused, None),
            RunState::Exited(exit) => (SessionState::Exited, Some(exit)),
        };
        SessionInfo {
            name: self.name.clone(),
            language: self.language,
            state,
            pid: (!self.remote).then_some(self.pid),
            command: self.command.clone(),
            attached,
            location: stop.and_then(|s| s.location.clone()).filter(|_| state == SessionState::Paused),
            reason: stop.map(|s| s.reason.clone()).filter(|_| state == SessionState::Paused),
            exit,
            ended_because: self.snapshot().ended_because,
            breakpoints,
        }
    }

    /// `output`.
    pub fn output_answer(&self, since: u64, limit: usize) -> Answer {
        Answer::Output {
            session: self.name.clone(),
            chunk: self.output.since(since, limit),
        }
    }

    /// The answer to `stop` for an attached process (detached, or found ended).
    pub fn ended(&self, exit: Option<ExitInfo>, detached: bool) -> Answer {
        Answer::Ended {
            session: self.name.clone(),
            detached,
            exit,
            ending: None,
            output: self.output.tail_since(0, 10),
            notices: Vec::new(),
        }
    }

    /// The answer to `stop` for a program borescope ended (see `end_gently`).
    pub fn ended_by(&self, exit: Option<ExitInfo>, ending: Ending) -> Answer {
        Answer::Ended {
            session: self.name.clone(),
            detached: false,
            exit,
            ending: Some(ending),
            output: self.output.tail_since(0, 10),
            notices: Vec::new(),
        }
    }
}

impl<P> Drop for SessionCore<P> {
    fn drop(&mut self) {
        if !self.attached && !self.state.borrow().run.is_exited() {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
    }
}

/// A `break` message for a program that has ended: the change is recorded, not sent.
pub(crate) fn after_the_end(message: String) -> String {
    format!("{message}; the program has ended, so it takes effect when `borescope restart` runs it again")
}

/// What a held program's reports say.
pub(crate) fn ready_notice() -> Notice {
    Notice::with_hint(
        "set breakpoints with `borescope break FILE:LINE`, then `borescope continue` runs the program",
        "`borescope next` stops at its first line instead; `start --run` starts programs without holding them",
    )
}

/// Waits for the program to exit and records it in the state.
pub(crate) async fn watch_exit<P>(mut process: ProgramProcess, state: Arc<watch::Sender<Snapshot<P>>>) {
    let exit = process.wait().await;
    process.kill_group();
    process.drain_output().await;
    state.send_modify(|s| s.run = RunState::Exited(exit));
}

/// Waits for an outside watcher (a pod's) to say the program is gone, then records the end
/// with its reason.
pub(crate) async fn watch_external_exit<P>(
    gone: std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send>>,
    state: Arc<watch::Sender<Snapshot<P>>>,
) {
    let mut ended = state.subscribe();
    tokio::select! {
        reason = gone => state.send_modify(|s| {
            if !s.run.is_exited() {
                s.run = RunState::Exited(ExitInfo { code: None, signal: None });
                s.ended_because = Some(reason);
            }
        }),
        _ = ended.wait_for(|s| s.run.is_exited()) => {}
    }
}

/// Watches a process borescope did not start (no exit status to wait for): polls its
/// `/proc/PID/stat` start time and records the end when the pid is gone or reused.
pub(crate) async fn watch_attached_exit<P>(pid: u32, start_time: u64, state: Arc<watch::Sender<Snapshot<P>>>) {
    let same_process = || borescope_inject::procfs::stat(pid).is_ok_and(|s| s.start_time == start_time && s.state != 'Z');
    loop {
        if state.borrow().run.is_exited() {
            return;
        }
        if !same_process() {
            state.send_modify(|s| s.run = RunState::Exited(ExitInfo { code: None, signal: None }));
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
