//! How a job's bootstrap gets started in the target: PEP 768 on CPython 3.14+, a pending call
//! scheduled through ptrace on 3.9–3.13. Everything else about a job (its directory, files,
//! status file, time limits) is the same for both; this module is the one place they differ.

use crate::files::InjectionDir;
use crate::{AttachError, ThreadChoice};
use borescope_inject::offsets::PythonVersion;
use borescope_inject::pending_call::{self, Page, Plan};
use borescope_inject::pep768;
use borescope_inject::runtime::{self, ThreadState};
use borescope_inject::{InjectError, PythonRuntime, RemoteMemory};

/// The oldest CPython borescope attaches to.
pub const OLDEST: (u8, u8) = (3, 9);

/// How borescope starts code in one process.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// CPython 3.14+: write the script path into a thread's state (PEP 768).
    Pep768(Box<PythonRuntime>),
    /// CPython 3.9–3.13: `Py_AddPendingCall(PyRun_SimpleString, ...)` through ptrace.
    PendingCall {
        /// The checked addresses.
        plan: Plan,
        /// The interpreter's version.
        version: PythonVersion,
    },
}

/// A started request, until the job has been picked up and has reported.
#[derive(Debug)]
pub(crate) enum Armed {
    Pep768(pep768::Armed),
    PendingCall(Page),
}

/// What became of a request withdrawn after a pick-up timeout.
pub(crate) enum Withdrawal {
    /// It was picked up after all: wait for the job.
    PickedUp,
    /// Taken back; `queued` when it stays queued in the process (a pending call cannot be
    /// taken back) and will find nothing to run.
    Withdrawn { queued: bool },
}

impl Trigger {
    /// Chooses the mechanism for `pid`, refusing what neither can do.
    pub fn open(pid: u32, memory: &RemoteMemory) -> Result<Trigger, AttachError> {
        let identity = runtime::identify(pid)?;
        let version = identity.version.unwrap_or(PythonVersion::minor_only(3, 0));
        if version.has_remote_debugging() {
            let runtime = PythonRuntime::open(pid, memory)?;
            let interp = runtime.interpreter(memory)?;
            if !runtime.remote_debug_enabled(memory, interp)? {
                return Err(InjectError::Disabled { pid, how: pep768::explain_disabled(pid) }.into());
            }
            return Ok(Trigger::Pep768(Box::new(runtime)));
        }
        if (version.major, version.minor) < OLDEST {
            return Err(InjectError::Unsupported { pid, version, hint: too_old_hint() }.into());
        }
        let plan = pending_call::plan(pid, version)?;
        Ok(Trigger::PendingCall { plan, version })
    }

    /// `pep768` or `ptrace`, as `ps` shows it.
    pub fn method(&self) -> &'static str {
        match self {
            Trigger::Pep768(_) => "pep768",
            Trigger::PendingCall { .. } => "ptrace",
        }
    }

    /// The 3.14 runtime, for reading threads and stacks.
    pub fn runtime(&self) -> Option<&PythonRuntime> {
        match self {
            Trigger::Pep768(runtime) => Some(runtime),
            Trigger::PendingCall { .. } => None,
        }
    }

    /// Asks the chosen thread to run `dir`'s `run.py`.
    pub(crate) fn arm(&self, pid: u32, memory: &RemoteMemory, dir: &InjectionDir, thread: ThreadChoice) -> Result<Armed, AttachError> {
        let run_py = dir.inside_path("run.py");
        match self {
            Trigger::Pep768(runtime) => Ok(Armed::Pep768(pep768::arm(runtime, memory, thread, &run_py)?)),
            Trigger::PendingCall { plan, version } => {
                if let ThreadChoice::Native(tid) = thread {
                    return Err(AttachError::MainThreadOnly { pid, version: *version, tid });
                }
                let statement = borescope_pyagent::jobs::pending_call_source(&run_py);
                Ok(Armed::PendingCall(pending_call::schedule(plan, &statement)?))
            }
        }
    }

    /// True while the request waits for its thread.
    pub(crate) fn is_pending(&self, armed: &Armed, memory: &RemoteMemory, dir: &InjectionDir) -> bool {
        match armed {
            Armed::Pep768(armed) => pep768::is_pending(armed, memory),
            // The bootstrap removes itself first thing.
            Armed::PendingCall(_) => dir.has("run.py"),
        }
    }

    /// Takes a request back that was not picked up in time.
    pub(crate) fn withdraw(&self, armed: &Armed, memory: &RemoteMemory, dir: &InjectionDir) -> Withdrawal {
        match armed {
            Armed::Pep768(armed) if pep768::disarm(armed, memory) => {
                dir.mark("cancelled");
                Withdrawal::Withdrawn { queued: false }
            }
            Armed::Pep768(_) => Withdrawal::PickedUp,
            Armed::PendingCall(_) => {
                // The bootstrap deletes run.py, then looks for the marker: with run.py still
                // there after the marker is written, the bootstrap will see it.
                dir.mark("cancelled");
                if dir.has("run.py") {
                    dir.strip_for_withdrawal();
                    Withdrawal::Withdrawn { queued: true }
                } else {
                    Withdrawal::PickedUp
                }
            }
        }
    }

    /// After the job reported (or was abandoned while running): frees what the request left in
    /// the process. Python compiled the pending call's statement before the job started, so
    /// its page is no longer read.
    pub(crate) fn finish(&self, armed: Armed) {
        let (Trigger::PendingCall { plan, .. }, Armed::PendingCall(page)) = (self, armed) else { return };
        if let Err(error) = pending_call::free(plan, page) {
            tracing::warn!(pid = plan.pid, %error, "could not unmap borescope's page (4 KB stay mapped)");
        }
    }

    /// The thread a request went to, for diagnoses (3.14 only).
    pub(crate) fn thread(&self, armed: &Armed) -> Option<ThreadState> {
        match armed {
            Armed::Pep768(armed) => Some(armed.thread),
            Armed::PendingCall(_) => None,
        }
    }
}

fn too_old_hint() -> String {
    " (borescope attaches to CPython 3.9 and newer)\nhint: restart it under borescope (`borescope start -- COMMAND`), or have it call \
     `import debugpy; debugpy.listen(5678)` and attach your editor"
        .to_string()
}
