//! What every session backend shares: the watched run state, output and its cursors, waiting
//! for the next stop, the base of every report, and the end of the program.

use super::state::{RunState, Snapshot};
use crate::output::OutputBuffer;
use crate::process::ProgramProcess;
use crate::DebuggerError;
use borescope_model::{
    Answer, ExitInfo, Language, Location, Notice, SessionInfo, SessionReport, SessionState,
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
            remote: false,
        }
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
            RunState::Running if snapshot.debugger_lost => report.notices.push(Notice::plain(
                "the debugger connection was lost; the program keeps running",
            )),
            RunState::Running => {}
            RunState::Paused(_) => report.state = SessionState::Paused,
            RunState::Exited(exit) => {
                report.state = SessionState::Exited;
                report.exit = Some(*exit);
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

    /// The error for a command that needs a paused program.
    pub fn not_paused(&self) -> DebuggerError {
        match self.snapshot().run {
            RunState::Exited(exit) => DebuggerError::State(format!(
                "the program has exited ({}); start it again with `borescope start`",
                exit.describe()
            )),
            _ => DebuggerError::State("the program is running, not stopped; `borescope pause` stops it".into()),
        }
    }

    /// Summary for `sessions`.
    pub fn info(&self, location: Option<Location>, breakpoints: usize, attached: bool) -> SessionInfo {
        let (state, exit) = match self.snapshot().run {
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
            location: location.filter(|_| state == SessionState::Paused),
            exit,
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

    /// Kills the program's process group and waits (up to 5 s) for the exit to be recorded.
    /// An attached process is never killed.
    pub async fn kill(&self) -> Option<ExitInfo> {
        if !self.attached && !self.snapshot().run.is_exited() {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
            let mut receiver = self.state.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                let _ = receiver.wait_for(|s| s.run.is_exited()).await;
            })
            .await;
        }
        match self.snapshot().run {
            RunState::Exited(exit) => Some(exit),
            _ => None,
        }
    }

    /// The answer to `stop`.
    pub fn ended(&self, exit: Option<ExitInfo>, detached: bool) -> Answer {
        Answer::Ended {
            session: self.name.clone(),
            detached,
            exit,
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

/// Waits for the program to exit and records it in the state.
pub(crate) async fn watch_exit<P>(mut process: ProgramProcess, state: Arc<watch::Sender<Snapshot<P>>>) {
    let exit = process.wait().await;
    process.kill_group();
    process.drain_output().await;
    state.send_modify(|s| s.run = RunState::Exited(exit));
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
