//! Having a CPython 3.9–3.13 run a statement at its next safe point, from outside, with
//! nothing installed in it.
//!
//! CPython's `Py_AddPendingCall(func, arg)` queues `func(arg)` for the main thread, which runs
//! it between two bytecodes while holding the GIL — the same safe point PEP 768 uses in 3.14.
//! It is documented as callable from any thread without the GIL (signal handlers use it), and
//! `int PyRun_SimpleString(const char *)` fits the `int (*)(void *)` it expects. So borescope:
//!
//! 1. stops the main thread for a moment ([`crate::ptrace::Seized`]), never inside the
//!    pending-call functions themselves (it lets the thread go and tries again);
//! 2. has it `mmap` one page and writes the statement there;
//! 3. has it call `Py_AddPendingCall(PyRun_SimpleString, page)`;
//! 4. restores every register and byte and lets it go — a few hundred microseconds in all.
//!
//! The statement (`borescope_pyagent::jobs::pending_call_source`) runs the job's bootstrap
//! file; Python has compiled the page's text before the job starts, so once the job reported,
//! [`free`] unmaps the page with the same dance. Nothing else of borescope stays in the
//! process. The addresses come from the interpreter's exported symbols ([`crate::symbols`]).

use crate::memory::{ProcessMemory, RemoteMemory};
use crate::offsets::PythonVersion;
use crate::permission;
use crate::procfs;
use crate::ptrace::{self, PtraceError, Seized};
use crate::runtime::memory_error;
use crate::symbols::{self, Function};
use crate::InjectError;
use std::ops::Range;
use std::time::Duration;

/// The functions borescope calls.
pub const REQUIRED: [&str; 2] = ["Py_AddPendingCall", "PyRun_SimpleString"];

/// Functions that hold the pending-call lock: a thread stopped inside one is let go first.
const HOLD_THE_LOCK: [&str; 4] = ["Py_AddPendingCall", "_PyEval_AddPendingCall", "Py_MakePendingCalls", "_Py_MakePendingCalls"];

/// How long the thread may take to stop, and each remote step to return.
const STOP_TIMEOUT: Duration = Duration::from_secs(1);
const STEP_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times to let a thread go that was stopped inside the pending-call functions.
const RETRIES: u32 = 20;

/// Linux system-call numbers and flags for the page.
#[cfg(target_arch = "aarch64")]
const SYS_MMAP: u64 = 222;
#[cfg(target_arch = "aarch64")]
const SYS_MUNMAP: u64 = 215;
#[cfg(not(target_arch = "aarch64"))]
const SYS_MMAP: u64 = 9;
#[cfg(not(target_arch = "aarch64"))]
const SYS_MUNMAP: u64 = 11;
const PROT_READ_WRITE: u64 = 0x1 | 0x2;
const MAP_PRIVATE_ANONYMOUS: u64 = 0x02 | 0x20;

/// Everything needed to schedule code in one process, checked before touching it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The process (its main thread is the one borrowed).
    pub pid: u32,
    /// The file that exports the functions (the interpreter or libpython).
    pub file: String,
    add_pending_call: u64,
    run_simple_string: u64,
    /// The program's entry point: where the stub and the return trap go.
    entry: u64,
    /// Code a stopped thread must not be in (it may hold the pending-call lock).
    hold_the_lock: Vec<Range<u64>>,
}

/// A page in the target holding a scheduled statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Its address.
    pub address: u64,
    /// Its length.
    pub len: u64,
}

/// Checks everything that can be checked without stopping the process: the architecture,
/// another tracer, the exported functions, the entry point.
pub fn plan(pid: u32, version: PythonVersion) -> Result<Plan, InjectError> {
    if !ptrace::SUPPORTED {
        return Err(InjectError::UnsupportedArch { pid, version, arch: std::env::consts::ARCH });
    }
    refuse_if_held(pid)?;
    let mut names = REQUIRED.to_vec();
    names.extend(HOLD_THE_LOCK.iter().filter(|n| !REQUIRED.contains(n)));
    let exports = symbols::find(pid, &names)
        .map_err(|e| crate::runtime::proc_error(pid, "read the memory map of", e))?
        .ok_or_else(|| InjectError::NoSymbols {
            pid,
            binary: interpreter_file(pid),
            missing: "`Py_AddPendingCall`".into(),
        })?;
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|n| !exports.functions.contains_key(*n)).collect();
    if !missing.is_empty() {
        return Err(InjectError::NoSymbols {
            pid,
            binary: exports.file,
            missing: missing.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" and "),
        });
    }
    let address = |name: &str| exports.functions.get(name).map(|f| f.address).unwrap_or_default();
    let entry = symbols::entry_point(pid)
        .map_err(|e| crate::runtime::proc_error(pid, "read the auxiliary vector of", e))?
        .ok_or_else(|| InjectError::Injection { pid, what: "its auxiliary vector has no entry point (AT_ENTRY)".into() })?;
    Ok(Plan {
        pid,
        add_pending_call: address("Py_AddPendingCall"),
        run_simple_string: address("PyRun_SimpleString"),
        entry,
        hold_the_lock: HOLD_THE_LOCK.iter().filter_map(|n| exports.functions.get(*n)).map(Function::range).collect(),
        file: exports.file,
    })
}

/// Refuses a process someone else traces (ptrace allows one tracer, and a debugger would see
/// borescope's traps as its own) or that is stopped (`SIGSTOP`, Ctrl-Z): borescope's remote
/// calls would have to resume it, and it must stay as it was.
pub fn refuse_if_held(pid: u32) -> Result<(), InjectError> {
    let status = procfs::status(&pid.to_string()).map_err(|_| InjectError::NoSuchProcess { pid })?;
    if status.tracer_pid == 0 && status.state == 'T' {
        return Err(InjectError::Stopped { pid });
    }
    if status.tracer_pid == 0 {
        return Ok(());
    }
    let tracer = status.tracer_pid;
    let name = procfs::status(&tracer.to_string()).map(|s| s.name).unwrap_or_else(|_| "?".into());
    Err(InjectError::Traced { pid, tracer: format!("pid {tracer} (`{name}`)") })
}

/// Queues `statement` (Python source, no NUL) to run in the main thread at its next safe
/// point; returns the page holding it, for [`free`] once it has run.
pub fn schedule(plan: &Plan, statement: &str) -> Result<Page, InjectError> {
    let pid = plan.pid;
    let mut text = statement.as_bytes().to_vec();
    text.push(0);
    let page_size = procfs::page_size().max(4096);
    let len = (text.len() as u64).div_ceil(page_size) * page_size;
    let mut thread = borrow_main_thread(plan)?;
    let mapped = thread
        .syscall(SYS_MMAP, &[0, len, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, u64::MAX, 0], STEP_TIMEOUT)
        .map_err(|e| ptrace_error(pid, "mapping a page", e))?;
    if (-4095..0).contains(&mapped) {
        return Err(InjectError::Injection { pid, what: format!("mmap in the target failed: {}", nix::errno::Errno::from_raw(-mapped as i32)) });
    }
    let page = Page { address: mapped as u64, len };
    let queued = RemoteMemory::new(pid)
        .write(page.address, &text)
        .map_err(|e| memory_error(pid, "write to the memory of", e))
        .and_then(|()| {
            thread
                .call(plan.add_pending_call, &[plan.run_simple_string, page.address], STEP_TIMEOUT)
                .map_err(|e| ptrace_error(pid, "calling Py_AddPendingCall", e))
        });
    let result = match queued {
        Ok(code) if code as u32 == 0 => Ok(page),
        Ok(_) => Err(InjectError::Injection {
            pid,
            what: "CPython's pending-call queue is full (the main thread has not run Python for a while); nothing was queued\nhint: attach again when the program is busy".into(),
        }),
        Err(error) => Err(error),
    };
    if result.is_err() {
        let _ = thread.syscall(SYS_MUNMAP, &[page.address, page.len], STEP_TIMEOUT);
    }
    thread.release().map_err(|e| ptrace_error(pid, "restoring the main thread", e))?;
    if result.is_ok() {
        tracing::debug!(pid, page = format_args!("{:#x}", page.address), "statement queued with Py_AddPendingCall");
    }
    result
}

/// Unmaps a page whose statement has run (the job it started reported).
pub fn free(plan: &Plan, page: Page) -> Result<(), InjectError> {
    let mut thread = borrow_main_thread(plan)?;
    let result = thread.syscall(SYS_MUNMAP, &[page.address, page.len], STEP_TIMEOUT);
    thread.release().map_err(|e| ptrace_error(plan.pid, "restoring the main thread", e))?;
    match result {
        Ok(0) => Ok(()),
        Ok(errno) => Err(InjectError::Injection { pid: plan.pid, what: format!("munmap failed: {}", nix::errno::Errno::from_raw(-errno as i32)) }),
        Err(error) => Err(ptrace_error(plan.pid, "unmapping the page", error)),
    }
}

/// Stops the main thread somewhere it does not hold the pending-call lock.
fn borrow_main_thread(plan: &Plan) -> Result<Seized, InjectError> {
    refuse_if_held(plan.pid)?;
    for attempt in 0..RETRIES {
        let thread = Seized::stop(plan.pid, plan.entry, STOP_TIMEOUT).map_err(|e| ptrace_error(plan.pid, "stopping the main thread", e))?;
        let at = thread.stopped_at();
        if !plan.hold_the_lock.iter().any(|range| range.contains(&at)) {
            return Ok(thread);
        }
        tracing::debug!(attempt, pc = format_args!("{at:#x}"), "stopped inside the pending-call code; trying again");
        thread.release().map_err(|e| ptrace_error(plan.pid, "restoring the main thread", e))?;
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(InjectError::Injection {
        pid: plan.pid,
        what: format!("its main thread was inside CPython's pending-call code each of {RETRIES} times borescope looked\nhint: attach again in a moment"),
    })
}

fn ptrace_error(pid: u32, step: &str, error: PtraceError) -> InjectError {
    match error {
        PtraceError::Refused(_) => InjectError::Permission { pid, operation: "trace (ptrace)".into(), diagnosis: permission::diagnose(pid) },
        PtraceError::Gone => InjectError::Exited { pid },
        error => InjectError::Injection { pid, what: format!("{step}: {error}; the main thread was restored") },
    }
}

/// The interpreter file a process maps, for messages.
fn interpreter_file(pid: u32) -> String {
    crate::runtime::identify(pid).map(|identity| identity.binary).unwrap_or_else(|_| "its interpreter".into())
}
