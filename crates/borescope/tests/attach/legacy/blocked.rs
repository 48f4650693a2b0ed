//! A main thread blocked in the kernel (`time.sleep`, `socket.recv`) never runs the pending call
//! borescope queued: the attach says so with the kernel's side of the wait, `--thread` is refused
//! with the reason (only the main thread runs pending calls before 3.14), the queued call cleans
//! up after itself once the thread runs Python again, and the interrupted system call carries on
//! as if nothing happened.

use super::{job_dirs_with, per_python, tracer, wait_in_syscall, wait_until, wchan, Py};
use crate::{ctx, fixture};
use insta::assert_snapshot;
use std::io::Write;
use std::time::Duration;

per_python!(a_sleeping_main_thread_is_diagnosed_and_thread_is_refused, sleeping);
per_python!(a_main_thread_in_recv_keeps_its_data_and_runs_the_withdrawn_job_when_woken, receiving);

/// x86-64 system call numbers.
const CLOCK_NANOSLEEP: u32 = 230;
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

/// A unique word for a job's code, to find its directory.
fn marker(ctx: &borescope_test::TestContext) -> String {
    format!("marker-{}", ctx.root.file_name().unwrap().to_string_lossy())
}

fn sleeping(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "dozer.py");
    let target = py.start(&ctx, &["dozer.py"]);
    target.wait_for("ready pid=", Duration::from_secs(20));
    wait_in_syscall(&target, target.pid, CLOCK_NANOSLEEP);
    let pid = target.pid.to_string();
    let waits_in = wchan(target.pid, target.pid);

    let blocked = ctx.run(["attach", &pid, "--timeout", "1"]);
    blocked.expect_code(1).stderr_has("main thread did not run Python code").stderr_has(&format!("`{waits_in}`"));
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
        .stderr_has(&format!("--thread needs Python 3.14 (PEP 768); on Python {} borescope's code runs as a pending call", py.minor()))
        .stderr_has("only in the main thread");
    ctx.run(["attach", &pid, "--thread", &tid]).expect_code(2).stderr_has("--thread needs Python 3.14 (PEP 768)");
    if py == Py::V311 {
        assert_snapshot!("legacy_blocked_main_thread", blocked.snapshot());
        assert_snapshot!("legacy_thread_refused", refused.snapshot());
    }

    // The withdrawn job stays queued; when a signal wakes the main thread it runs Python, finds
    // the request cancelled and removes its directory; then the thread sleeps on.
    let marker = marker(&ctx);
    ctx.run(["exec", &pid, "--timeout", "1", "-c", &format!("print('{marker}')")])
        .expect_code(1)
        .stderr_has("main thread did not run Python code");
    let dirs = job_dirs_with(&marker);
    assert_eq!(dirs.len(), 1, "one withdrawn job directory: {dirs:?}");
    assert!(dirs[0].join("cancelled").exists(), "withdrawn: {:?}", dirs[0]);
    assert!(std::process::Command::new("kill").args(["-USR1", &pid]).status().unwrap().success());
    target.wait_for("woken", Duration::from_secs(20));
    wait_until("the withdrawn job removed its directory", || !dirs[0].exists());
    assert!(!target.output().contains(&marker), "a withdrawn job must not run: {}", target.output());
    wait_in_syscall(&target, target.pid, CLOCK_NANOSLEEP);
    assert!(target.is_running());
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
    let pid = target.pid.to_string();
    let waits_in = wchan(target.pid, target.pid);

    let marker = marker(&ctx);
    let blocked = ctx.run(["exec", &pid, "--timeout", "1", "-c", &format!("print('{marker}')")]);
    blocked.expect_code(1).stderr_has("main thread did not run Python code").stderr_has(&format!("`{waits_in}`"));
    assert_eq!(tracer(target.pid), 0);
    let dirs = job_dirs_with(&marker);
    assert_eq!(dirs.len(), 1, "one withdrawn job directory: {dirs:?}");

    // The interrupted recv was restarted: it returns exactly the bytes sent afterwards.
    peer.write_all(b"hello").unwrap();
    target.wait_for("received b'hello'", Duration::from_secs(20));
    wait_until("the withdrawn job removed its directory", || !dirs[0].exists());
    assert!(!target.output().contains(&marker), "a withdrawn job must not run: {}", target.output());

    // While the peer keeps sending, the main thread runs Python between chunks and takes a job.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        let mut peer = peer.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..3000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || peer.write_all(b".").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let run = ctx.run(["exec", &pid, "-c", "import threading; print('ran in', threading.current_thread().name)"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    feeder.join().unwrap();
    run.expect_code(0).stdout_has("ran in MainThread");
    peer.write_all(b"bye").unwrap();
    target.wait_for("bye'", Duration::from_secs(20));
    assert!(target.is_running());
}
