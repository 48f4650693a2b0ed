//! A main thread blocked in the kernel (`time.sleep`, `socket.recv`) never runs the pending call
//! borescope queued: the attach says so with the kernel's side of the wait, `--thread` is refused
//! with the reason (only the main thread runs pending calls before 3.14), the queued call finds
//! nothing to run once the thread runs Python again, and the interrupted system call carries on
//! as if nothing happened.

use super::{job_dirs_with, pending_call_pages, per_python, tracer, wait_in_syscall, wchan, Py};
use crate::{ctx, fixture};
use borescope_test::targets::TargetProcess;
use borescope_test::TestContext;
use insta::assert_snapshot;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

per_python!(a_sleeping_main_thread_is_diagnosed_and_thread_is_refused, sleeping);
per_python!(a_main_thread_in_recv_keeps_its_data_and_the_withdrawn_job_never_runs, receiving);

/// 3.9 and 3.10 (frame objects, older line tables): the same diagnosis with the same stack.
mod a_sleeping_main_thread_is_diagnosed_on_older_pythons {
    #[test]
    fn py39() {
        super::sleeping(super::Py::V39)
    }
    #[test]
    fn py310() {
        super::sleeping(super::Py::V310)
    }
}

/// x86-64 system call numbers.
const CLOCK_NANOSLEEP: u32 = 230;
const PSELECT6: u32 = 270;

/// The system call `time.sleep` blocks in: `select` (glibc: `pselect6`) before 3.11, `clock_nanosleep` since.
fn sleep_call(py: Py) -> (u32, &'static str) {
    match py {
        Py::V39 | Py::V310 => (PSELECT6, "pselect6"),
        _ => (CLOCK_NANOSLEEP, "clock_nanosleep"),
    }
}
const RECVFROM: u32 = 45;

/// Another thread of the process (its host tid).
fn other_thread(pid: u32) -> String {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|tid| *tid != pid.to_string())
        .expect("a second thread")
}

/// `exec`s code printing a word unique to the test while the main thread is blocked: refused
/// after a second with the diagnosis, and nothing left behind. Returns the run and the word.
fn blocked_exec(ctx: &TestContext, target: &TargetProcess) -> (borescope_test::Run, String) {
    let marker = format!("marker-{}", ctx.root.file_name().unwrap().to_string_lossy());
    let run = ctx.run(["exec", &target.pid.to_string(), "--timeout", "1", "-c", &format!("print('{marker}')")]);
    run.expect_code(1).stderr_has("main thread did not run Python code").stderr_has("it stays queued");
    assert_eq!(job_dirs_with(&marker), Vec::<std::path::PathBuf>::new(), "the withdrawn job's files must be gone");
    assert_eq!(tracer(target.pid), 0, "never left stopped or traced");
    assert!(target.is_running());
    (run, marker)
}

/// Runs an `exec` while `nudge` makes the main thread run Python every 10 ms (bounded). Pending
/// calls run in order, so once it returns, the call an earlier blocked `exec` left queued has
/// had its turn: the code printing `marker` must not have run, and the program printed nothing
/// of borescope's.
fn exec_while_nudged(ctx: &TestContext, target: &TargetProcess, marker: &str, mut nudge: impl FnMut() + Send + 'static) {
    let stop = Arc::new(AtomicBool::new(false));
    let nudger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for _ in 0..3000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                nudge();
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let run = ctx.run(["exec", &target.pid.to_string(), "-c", "import threading; print('ran in', threading.current_thread().name)"]);
    stop.store(true, Ordering::Relaxed);
    nudger.join().unwrap();
    run.expect_code(0).stdout_has("ran in MainThread");
    let output = target.output();
    assert!(!output.contains(marker), "a withdrawn job must not run:\n{output}");
    assert!(!output.contains("Traceback") && !output.contains("borescope"), "the queued call must stay silent:\n{output}");
    assert!(target.is_running());
}

fn sleeping(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "dozer.py");
    let target = py.start(&ctx, &["dozer.py"]);
    target.wait_for("ready pid=", Duration::from_secs(20));
    let (sleep_number, sleep_name) = sleep_call(py);
    wait_in_syscall(&target, target.pid, sleep_number);
    let pid = target.pid.to_string();
    let waits_in = wchan(target.pid, target.pid);

    let blocked = ctx.run(["attach", &pid, "--timeout", "1"]);
    blocked
        .expect_code(1)
        .stderr_has("main thread did not run Python code")
        .stderr_has(&format!("`{waits_in}` (system call `{sleep_name}`), at:"))
        .stderr_has("main (")
        .stderr_has("dozer.py:23)");
    assert!(
        !blocked.stderr.contains(&format!("attach {pid} --thread")),
        "no other thread can run a pending call on Python {}:\n{}",
        py.minor(),
        blocked.stderr
    );
    assert!(target.is_running());
    assert_eq!(tracer(target.pid), 0, "never left stopped or traced");

    // `--thread`: only the main thread runs pending calls before 3.14.
    let tid = other_thread(target.pid);
    let refused = ctx.run(["exec", &pid, "--thread", &tid, "-c", "1"]);
    refused
        .expect_code(2)
        .stderr_has(&format!("runs Python {}", py.minor()))
        .stderr_has("borescope's code runs there as a pending call, which CPython runs only in the main thread")
        .stderr_has(&format!("`--thread {tid}` cannot be honoured (choosing a thread needs Python 3.14, PEP 768)"));
    ctx.run(["attach", &pid, "--thread", &tid]).expect_code(2).stderr_has("choosing a thread needs Python 3.14");
    if py == Py::V311 {
        assert_snapshot!("legacy_blocked_main_thread", blocked.snapshot());
        assert_snapshot!("legacy_thread_refused", refused.snapshot());
    }

    // A pending call cannot be taken back; borescope removed its files, so when signals wake
    // the main thread the queued calls (the attach's and the exec's) find nothing to run.
    let (_, marker) = blocked_exec(&ctx, &target);
    // The page each queued call reads its statement from stays mapped (it is read whenever
    // the call runs): the attach's and the exec's.
    assert_eq!(pending_call_pages(target.pid), 2);
    let target_pid = nix::unistd::Pid::from_raw(target.pid as i32);
    exec_while_nudged(&ctx, &target, &marker, move || {
        let _ = nix::sys::signal::kill(target_pid, nix::sys::signal::Signal::SIGUSR1);
    });
    assert!(target.output().contains("woken"));
    // And it sleeps on.
    wait_in_syscall(&target, target.pid, sleep_number);
}

fn receiving(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "receiver.py");
    let target = py.start(&ctx, &["receiver.py"]);
    target.wait_for("ready pid=", Duration::from_secs(20));
    let port: u16 = target
        .output()
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("the port");
    let mut peer = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the receiver");
    wait_in_syscall(&target, target.pid, RECVFROM);
    let waits_in = wchan(target.pid, target.pid);

    let (blocked, marker) = blocked_exec(&ctx, &target);
    blocked
        .stderr_has(&format!("`{waits_in}` (system call `recvfrom` on fd "))
        .stderr_has(", a socket), at:")
        .stderr_has("receiver.py:22)");
    if py == Py::V311 {
        assert_snapshot!("legacy_blocked_in_recv", blocked.snapshot());
    }

    // The interrupted recv was restarted: it returns exactly the bytes sent afterwards.
    peer.write_all(b"hello").unwrap();
    target.wait_for("received b'hello'", Duration::from_secs(20));
    // While the peer keeps sending, the main thread runs Python between chunks and takes a job.
    let mut feeder = peer.try_clone().unwrap();
    exec_while_nudged(&ctx, &target, &marker, move || {
        let _ = feeder.write_all(b".");
    });
    peer.write_all(b"bye").unwrap();
    target.wait_for("bye'", Duration::from_secs(20));
}
