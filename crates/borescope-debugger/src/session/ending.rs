//! Ending a program borescope started, gently: the backend first disarms the debugger (no
//! breakpoint or exception filter may catch the program on its way out, e.g. debugpy stopping on
//! the handler's `SystemExit`), then SIGTERM goes to the process group, then the backend lets go
//! of the debugger (so a paused program runs on: Node runs handlers only from its event loop),
//! then a grace period, then SIGKILL. `stop` answers once the process group is gone (waiting at most one second more).
//!
//! When the program itself exits, the rest of its group is killed at once (as when it ends on
//! its own: see `watch_exit`), so the grace period is the program's, not its helpers'.

use super::core::SessionCore;
use super::state::RunState;
use borescope_model::{Ending, ExitInfo};
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::future::Future;
use std::time::Duration;

/// How long a program may take to end after SIGTERM before it is killed with SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// How long disarming the debugger may take before SIGTERM is sent anyway.
const DISARM_LIMIT: Duration = Duration::from_secs(1);

/// How long the exit may take to be recorded after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How long the rest of the group (already sent SIGKILL) may take to disappear.
const GROUP_WAIT: Duration = Duration::from_secs(1);

impl<P: Clone + Send + Sync + 'static> SessionCore<P> {
    /// Ends the program: `disarm` (the backend removes breakpoints and exception filters; at
    /// most [`DISARM_LIMIT`]), SIGTERM to its group, `release` (the backend lets go of the
    /// debugger; bounded by the grace period and run while the program ends), up to
    /// [`STOP_GRACE`] for it to exit, SIGKILL if it has not, then a short wait until nothing of
    /// its group is left. Returns how it exited and what it took. Never called for an attached
    /// process.
    pub async fn end_gently(&self, disarm: impl Future<Output = ()>, release: impl Future<Output = ()>) -> (Option<ExitInfo>, Ending) {
        if let RunState::Exited(exit) = self.snapshot().run {
            return (Some(exit), Ending::AlreadyExited);
        }
        let _ = tokio::time::timeout(DISARM_LIMIT, disarm).await;
        let group = Pid::from_raw(self.pid as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let (_, ended) = tokio::join!(tokio::time::timeout(STOP_GRACE, release), self.wait_exited(STOP_GRACE));
        let ending = if ended {
            Ending::Terminated
        } else {
            tracing::debug!(pid = self.pid, "still running {STOP_GRACE:?} after SIGTERM; SIGKILL");
            let _ = killpg(group, Signal::SIGKILL);
            self.wait_exited(KILL_WAIT).await;
            Ending::Killed { grace_ms: STOP_GRACE.as_millis() as u64 }
        };
        if !group_gone(group, GROUP_WAIT).await {
            tracing::warn!(pid = self.pid, "processes of the program's group are still exiting");
        }
        let exit = match self.snapshot().run {
            RunState::Exited(exit) => Some(exit),
            _ => None,
        };
        (exit, ending)
    }

    /// Waits until the program's exit is recorded; false when `timeout` passed first.
    async fn wait_exited(&self, timeout: Duration) -> bool {
        let mut receiver = self.state.subscribe();
        tokio::time::timeout(timeout, receiver.wait_for(|s| s.run.is_exited()))
            .await
            .is_ok_and(|changed| changed.is_ok())
    }
}

/// Waits (up to `timeout`) until no process is left in `group`; true when none is.
async fn group_gone(group: Pid, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if killpg(group, None) == Err(Errno::ESRCH) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
