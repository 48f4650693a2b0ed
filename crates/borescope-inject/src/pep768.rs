//! PEP 768, the safe external debugger interface of CPython 3.14, driven from Rust.
//!
//! To have a thread run a script the next time it checks its eval breaker (loop back-edges,
//! calls, function entry), a debugger writes the script's path into that thread's
//! `remote_debugger_support.debugger_script_path`, sets `debugger_pending_call` to 1 and sets
//! the `_PY_EVAL_PLEASE_STOP_BIT` in its `eval_breaker`. The target then opens the path (in
//! *its* filesystem view, with its own credentials) and runs it in a fresh namespace. That is
//! all: there is no completion signal, so callers build their own (see `borescope-attach`).
//!
//! borescope refuses when the operator disabled remote debugging (`PYTHON_DISABLE_REMOTE_DEBUG`,
//! `-X disable-remote-debug`): the flag is plain memory a writer could flip, which is exactly
//! why a debugger must respect it.

use crate::memory::ProcessMemory;
use crate::procfs;
use crate::runtime::{memory_error, PythonRuntime, ThreadState};
use crate::InjectError;

/// `_PY_EVAL_PLEASE_STOP_BIT`: makes the thread handle pending work (and so our script).
pub const EVAL_PLEASE_STOP_BIT: u64 = 1 << 5;

/// Which thread should run the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadChoice {
    /// The main thread (what `sys.remote_exec` does).
    Main,
    /// The thread with this kernel thread id.
    Native(u64),
}

/// A script waiting for its thread to pick it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed {
    /// The thread that will run it.
    pub thread: ThreadState,
    /// Address of that thread's `debugger_pending_call`.
    pending: u64,
}

/// Asks `choice`'s thread to run the script at `script_path` (a path in the target's view).
pub fn arm(
    runtime: &PythonRuntime,
    memory: &dyn ProcessMemory,
    choice: ThreadChoice,
    script_path: &str,
) -> Result<Armed, InjectError> {
    let pid = runtime.pid;
    let offsets = &runtime.offsets;
    if script_path.len() as u64 >= offsets.debugger_script_path_size {
        return Err(InjectError::PathTooLong { path: script_path.into(), len: script_path.len() });
    }
    let interp = runtime.interpreter(memory)?;
    if !runtime.remote_debug_enabled(memory, interp)? {
        return Err(InjectError::Disabled { pid, how: explain_disabled(pid) });
    }
    let thread = match choice {
        ThreadChoice::Main => runtime.main_thread(memory, interp)?,
        ThreadChoice::Native(tid) => runtime
            .threads(memory, interp)?
            .into_iter()
            .find(|t| t.native_id == tid)
            .ok_or_else(|| InjectError::BadLayout {
                pid,
                what: format!("thread {tid} is not a Python thread of this process (`borescope ps` lists the process; its threads are in /proc/{pid}/task)"),
            })?,
    };
    let support = thread.address + offsets.remote_debugger_support;
    let pending = support + offsets.debugger_pending_call;
    let write_error = |e| memory_error(pid, "write to the memory of", e);
    let current = memory.read_u32(pending).map_err(|e| memory_error(pid, "read the memory of", e))?;
    if current == 1 {
        return Err(InjectError::BadLayout {
            pid,
            what: "another remote-debugger script is already waiting to run in that thread (from `sys.remote_exec`, `python -m pdb -p`, or an attach that the thread has not picked up yet); try again when it has run".into(),
        });
    }
    let mut path = script_path.as_bytes().to_vec();
    path.push(0);
    memory.write(support + offsets.debugger_script_path, &path).map_err(write_error)?;
    memory.write(pending, &1i32.to_ne_bytes()).map_err(write_error)?;
    let breaker_at = thread.address + offsets.eval_breaker;
    let breaker = memory.read_u64(breaker_at).map_err(|e| memory_error(pid, "read the memory of", e))?;
    memory.write(breaker_at, &(breaker | EVAL_PLEASE_STOP_BIT).to_ne_bytes()).map_err(write_error)?;
    tracing::debug!(pid, thread = thread.native_id, script_path, "armed a PEP 768 script");
    Ok(Armed { thread, pending })
}

/// True while the script has not been picked up.
pub fn is_pending(armed: &Armed, memory: &dyn ProcessMemory) -> bool {
    memory.read_u32(armed.pending).map(|v| v == 1).unwrap_or(false)
}

/// Withdraws a script the thread has not picked up yet; returns whether it was still pending.
pub fn disarm(armed: &Armed, memory: &dyn ProcessMemory) -> bool {
    if !is_pending(armed, memory) {
        return false;
    }
    memory.write(armed.pending, &0i32.to_ne_bytes()).is_ok()
}

/// Why `config.remote_debug` is off, as far as the process's start-up says.
pub fn explain_disabled(pid: u32) -> String {
    let by_env = procfs::environ(pid)
        .ok()
        .and_then(|env| env.into_iter().find(|(k, _)| k == "PYTHON_DISABLE_REMOTE_DEBUG"));
    if let Some((_, value)) = by_env {
        return format!("its environment sets PYTHON_DISABLE_REMOTE_DEBUG={value}");
    }
    let argv = procfs::cmdline(pid).unwrap_or_default();
    let by_flag = argv.windows(2).any(|w| w[0] == "-X" && w[1].starts_with("disable-remote-debug"))
        || argv.iter().any(|a| a.starts_with("-Xdisable-remote-debug"));
    if by_flag {
        return "it was started with `-X disable-remote-debug`".into();
    }
    "the interpreter's `config.remote_debug` is off (set by the application embedding Python, or a build without remote debugging)".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::BufferMemory;
    use crate::offsets::tests::table_3_14;
    use crate::offsets::DebugOffsets;
    use crate::runtime::{Identity, VersionSource};

    const BASE: u64 = 0x10_0000;
    const RUNTIME: u64 = BASE;
    const INTERP: u64 = BASE + 0x1000;
    const THREAD: u64 = BASE + 0x40000;

    /// A process image with a runtime, one interpreter and one (main) thread.
    fn image(enabled: bool) -> (PythonRuntime, BufferMemory) {
        let memory = BufferMemory::new(BASE, 0x50000);
        let table = table_3_14();
        memory.write(RUNTIME, &table).expect("table");
        let offsets = DebugOffsets::parse(&table).expect("offsets");
        memory.write(RUNTIME + offsets.stack.interpreters_head, &INTERP.to_ne_bytes()).expect("head");
        memory.write(INTERP + offsets.stack.threads_head, &THREAD.to_ne_bytes()).expect("threads");
        memory.write(INTERP + offsets.threads_main, &THREAD.to_ne_bytes()).expect("main");
        memory.write(INTERP + offsets.remote_debugging_enabled, &(enabled as u32).to_ne_bytes()).expect("flag");
        memory.write(THREAD + offsets.stack.thread_native_id, &4242u64.to_ne_bytes()).expect("tid");
        memory.write(THREAD + offsets.eval_breaker, &0b1_0000_0001u64.to_ne_bytes()).expect("breaker");
        let identity = Identity {
            binary: "/usr/bin/python3.14".into(),
            version: Some(offsets.header.version),
            source: VersionSource::DebugOffsets,
            free_threaded: Some(false),
            runtime_address: Some(RUNTIME),
        };
        let runtime = PythonRuntime { pid: std::process::id(), identity, address: RUNTIME, offsets };
        (runtime, memory)
    }

    #[test]
    fn arming_writes_path_flag_and_breaker_bit() {
        let (runtime, memory) = image(true);
        let armed = arm(&runtime, &memory, ThreadChoice::Main, "/tmp/x/run.py").expect("armed");
        let o = runtime.offsets;
        let support = THREAD + o.remote_debugger_support;
        let path = memory.read_vec(support + o.debugger_script_path, 14).expect("path");
        assert_eq!(&path, b"/tmp/x/run.py\0");
        assert_eq!(memory.read_u32(support + o.debugger_pending_call).expect("flag"), 1);
        let breaker = memory.read_u64(THREAD + o.eval_breaker).expect("breaker");
        assert_eq!(breaker, 0b1_0000_0001 | EVAL_PLEASE_STOP_BIT, "other bits are kept");
        assert!(is_pending(&armed, &memory));
        assert!(arm(&runtime, &memory, ThreadChoice::Main, "/tmp/y.py").is_err(), "one pending script at a time");
        assert!(disarm(&armed, &memory));
        assert!(!is_pending(&armed, &memory));
        assert!(!disarm(&armed, &memory));
    }

    #[test]
    fn threads_are_found_by_native_id() {
        let (runtime, memory) = image(true);
        assert_eq!(arm(&runtime, &memory, ThreadChoice::Native(4242), "/s.py").expect("armed").thread.native_id, 4242);
        assert!(arm(&runtime, &memory, ThreadChoice::Native(7), "/s.py").is_err());
    }

    #[test]
    fn a_disabled_interpreter_and_long_paths_are_refused() {
        let (runtime, memory) = image(false);
        let error = arm(&runtime, &memory, ThreadChoice::Main, "/tmp/x.py").expect_err("disabled");
        assert!(matches!(error, InjectError::Disabled { .. }), "{error}");
        let untouched = memory.read_u32(THREAD + runtime.offsets.remote_debugger_support).expect("flag");
        assert_eq!(untouched, 0, "nothing is written to a disabled interpreter");
        let (runtime, memory) = image(true);
        let long = format!("/{}", "d".repeat(600));
        assert!(matches!(arm(&runtime, &memory, ThreadChoice::Main, &long), Err(InjectError::PathTooLong { .. })));
    }
}
