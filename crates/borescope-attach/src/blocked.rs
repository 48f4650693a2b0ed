//! Saying where a thread is when it does not pick up injected code: its Python stack (read
//! from memory; on 3.9–3.13 the main thread's), what it waits for in the kernel, and which other threads run Python and
//! could take the job instead (`--thread TID`, 3.14; older Pythons run pending calls in the main
//! thread only).

use crate::job::Injector;
use borescope_inject::procfs;
use borescope_inject::runtime::ThreadState;
use borescope_inject::stack::{older_thread_stack, thread_stack, PyFrame};
use std::time::Duration;

/// Frames shown per thread.
const FRAMES: usize = 6;

/// The multi-line explanation for an attach that timed out waiting for `thread` (`None`: the
/// main thread of a Python before 3.14, which runs pending calls only there). `queued`: a
/// withdrawn pending call that stays queued, its files removed.
pub fn diagnose(injector: &Injector, thread: Option<ThreadState>, waited: Duration, queued: bool) -> String {
    let target = &injector.target;
    let pid = target.pid;
    let Some((thread, runtime)) = thread.zip(injector.trigger.runtime()) else {
        return main_thread_of_older_python(injector, waited, queued);
    };
    let memory = injector.memory();
    let thread = &thread;
    let host_tid = target.host_tid(thread.native_id);
    let is_main = host_tid == Some(pid);
    let name = if is_main { "main thread".to_string() } else { format!("thread {}", thread.native_id) };
    let mut out = format!(
        "pid {pid}'s {name} did not run Python code for {:.1}s, so it never picked up borescope's request",
        waited.as_secs_f64()
    );
    out.push_str(&kernel_wait(pid, host_tid.unwrap_or(0), &name));
    match thread_stack(runtime, memory, thread, FRAMES) {
        Ok(frames) if !frames.is_empty() => {
            out.push_str(", at:");
            for frame in &frames {
                out.push_str(&format!("\n    {}", describe(frame)));
            }
        }
        _ => out.push_str(" (its Python stack could not be read)"),
    }
    out.push_str(
        "\n  Python runs injected code only between bytecodes; a thread in a sleep, a blocking call or a long C function never gets there",
    );
    let others = other_threads(injector, thread);
    let hint = match others.first() {
        Some((tid, _)) => format!(
            "attach while it is busy (e.g. send it a request), or let a thread that runs Python take the request: `borescope attach {pid} --thread {tid}`"
        ),
        None => "attach again while the program is busy (e.g. send it a request or input)".to_string(),
    };
    if !others.is_empty() {
        out.push_str("\n  other Python threads:");
        for (tid, line) in others.iter().take(8) {
            out.push_str(&format!("\n    --thread {tid}: {line}"));
        }
    }
    out.push_str(&format!("\nhint: {hint}"));
    out
}

/// [`diagnose`] for CPython 3.9–3.13: only the main thread runs pending calls, so there is no
/// other thread to suggest; what it waits for in the kernel says why it does not run Python.
fn main_thread_of_older_python(injector: &Injector, waited: Duration, queued: bool) -> String {
    let pid = injector.target.pid;
    let mut out = format!(
        "pid {pid}'s main thread did not run Python code for {:.1}s, so it never picked up borescope's request",
        waited.as_secs_f64()
    );
    out.push_str(&kernel_wait(pid, pid, "main thread"));
    let pid_inside = u64::from(injector.target.pid_inside);
    match older_thread_stack(pid, pid_inside, injector.memory(), FRAMES) {
        Ok(frames) if !frames.is_empty() => {
            out.push_str(", at:");
            for frame in &frames {
                out.push_str(&format!("\n    {}", describe(frame)));
            }
        }
        Ok(_) => out.push_str(" (no Python frames)"),
        Err(error) => {
            tracing::debug!(%error, "no Python stack for the blocked main thread");
            out.push_str(" (its Python stack could not be read)");
        }
    }
    out.push_str(
        "\n  Python runs injected code only between bytecodes, and before 3.14 only in the main thread (a pending call); a main thread in a sleep, a blocking call or a long C function never gets there",
    );
    if queued {
        out.push_str(
            "\n  Python cannot take the request back: it stays queued and does nothing when the main thread next runs Python (borescope removed its files)",
        );
    }
    out.push_str("\nhint: attach again while the main thread runs Python (e.g. send the program a request or input), or start the program under borescope: `borescope start -- COMMAND`");
    out
}

/// "main thread (tid N) waits in the kernel in `wchan` (system call `recvfrom` on fd 5, a
/// socket)", or that it is busy outside Python.
fn kernel_wait(pid: u32, tid: u32, name: &str) -> String {
    match procfs::wchan(pid, tid) {
        Some(wchan) => {
            let call = borescope_inject::syscalls::blocking_call(pid, tid).map(|call| format!(" ({call})")).unwrap_or_default();
            format!("\n  {name} (tid {tid}) waits in the kernel in `{wchan}`{call}")
        }
        None => format!("\n  {name} (tid {tid}) is busy outside Python code (a C extension or a long call)"),
    }
}

fn describe(frame: &PyFrame) -> String {
    match frame.line {
        Some(line) => format!("{} ({}:{line})", frame.function, frame.file),
        None => format!("{} ({})", frame.function, frame.file),
    }
}

/// Other Python threads, with the innermost frame of each (native ids as the target sees them).
fn other_threads(injector: &Injector, skip: &ThreadState) -> Vec<(u64, String)> {
    let memory = injector.memory();
    let Some(runtime) = injector.trigger.runtime() else { return Vec::new() };
    let Ok(interp) = runtime.interpreter(memory) else { return Vec::new() };
    let Ok(threads) = runtime.threads(memory, interp) else { return Vec::new() };
    threads
        .iter()
        .filter(|t| t.address != skip.address)
        .filter_map(|t| {
            let frames = thread_stack(runtime, memory, t, 1).ok()?;
            let top = frames.first()?;
            let name = injector
                .target
                .host_tid(t.native_id)
                .and_then(|tid| procfs::thread_name(injector.target.pid, tid))
                .unwrap_or_default();
            Some((t.native_id, format!("`{name}` in {}", describe(top))))
        })
        .collect()
}
