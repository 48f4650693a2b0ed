//! A session's run state, shared between the tasks that watch the debuggee and the commands
//! that wait for it to stop.

use borescope_dap::events::StoppedEvent;
use borescope_model::ExitInfo;

/// Where the program is.
#[derive(Debug, Clone)]
pub enum RunState {
    /// Running.
    Running,
    /// Paused; the event that stopped it.
    Paused(StoppedEvent),
    /// Ended (or detached).
    Exited(ExitInfo),
}

/// The state plus a counter of stops, so a waiter can tell a new stop from the one it saw.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Current state.
    pub run: RunState,
    /// Incremented at every stop.
    pub epoch: u64,
    /// Set when the debugger connection dropped while the program still ran.
    pub debugger_lost: bool,
}

impl Snapshot {
    /// A running program, never stopped.
    pub fn running() -> Snapshot {
        Snapshot {
            run: RunState::Running,
            epoch: 0,
            debugger_lost: false,
        }
    }
}
