//! A session's run state, shared between the tasks that watch the debuggee and the commands
//! that wait for it to stop. Generic over what a pause carries (a DAP `stopped` event, a CDP
//! `Debugger.paused` event).

use borescope_model::ExitInfo;

/// Where the program is.
#[derive(Debug, Clone)]
pub enum RunState<P> {
    /// Started, but held before its first line until the first run command.
    Held,
    /// Running.
    Running,
    /// Paused; the event that stopped it.
    Paused(P),
    /// Ended (or detached).
    Exited(ExitInfo),
}

impl<P> RunState<P> {
    /// True once the program has ended.
    pub fn is_exited(&self) -> bool {
        matches!(self, RunState::Exited(_))
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        matches!(self, RunState::Paused(_))
    }

    /// True while held before the first line.
    pub fn is_held(&self) -> bool {
        matches!(self, RunState::Held)
    }
}

/// The state plus a counter of stops, so a waiter can tell a new stop from the one it saw.
#[derive(Debug, Clone)]
pub struct Snapshot<P> {
    /// Current state.
    pub run: RunState<P>,
    /// Incremented at every stop.
    pub epoch: u64,
    /// Set when the debugger connection dropped while the program still ran.
    pub debugger_lost: bool,
    /// Why the program is gone, when an outside watcher said so (a pod deleted).
    pub ended_because: Option<String>,
}

impl<P> Snapshot<P> {
    /// A running program, never stopped.
    pub fn running() -> Snapshot<P> {
        Snapshot {
            run: RunState::Running,
            epoch: 0,
            debugger_lost: false,
            ended_because: None,
        }
    }
}
