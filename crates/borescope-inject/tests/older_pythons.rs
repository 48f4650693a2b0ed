//! Python 3.9–3.13 against real interpreters of this machine: the host's Python 3.11 (a shared
//! libpython), Debian sid's 3.13 (a static interpreter exporting its API, in the sid
//! rootfs), and pyenv's 3.9, 3.10 and 3.12 for the stacks. The pending-call trigger: each target records what borescope's statement did and
//! whether its own blocking calls were disturbed. Stacks: a blocked main thread's frames, read
//! from memory.

use borescope_inject::pending_call;
use borescope_inject::offsets::PythonVersion;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

fn host_python() -> PathBuf {
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().expect("python3 on PATH");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

struct Target {
    child: Child,
    out: BufReader<ChildStdout>,
}

/// Debian sid's rootfs (`scripts/test-setup.sh` builds it), where Python 3.13 lives.
fn sid_rootfs() -> PathBuf {
    let cache = std::env::var_os("BORESCOPE_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/borescope"));
    let root = cache.join("sid-rootfs");
    assert!(root.join("usr/bin/python3.13").exists(), "no Python 3.13 in {}; run `scripts/test-setup.sh` first", root.display());
    root
}

impl Target {
    fn start(python: &Path, code: &str) -> Target {
        let mut command = if python.starts_with("/usr/bin") && python.ends_with("python3.13") {
            let mut chroot = Command::new("chroot");
            chroot.arg(sid_rootfs()).arg(python);
            chroot
        } else {
            Command::new(python)
        };
        let mut child = command
            .args(["-u", "-c", code])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut target = Target { child, out };
        assert_eq!(target.line(), "ready");
        target
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        line.trim_end().to_string()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn version(pid: u32) -> PythonVersion {
    borescope_inject::runtime::identify(pid).expect("identify").version.expect("a version")
}

fn mapped(pid: u32, address: u64) -> bool {
    borescope_inject::procfs::maps(pid).expect("maps").iter().any(|m| (m.start..m.end).contains(&address))
}

fn wait_for(path: &Path) -> String {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Some(text) = std::fs::read_to_string(path).ok().filter(|text| !text.is_empty()) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{} never appeared", path.display());
}

/// A statement that records where it ran, then the page is freed.
fn statement_runs_in_the_main_thread_and_leaves_nothing(python: &Path, root: &Path) {
    let dir = tempfile::tempdir_in(root.join("tmp")).expect("dir");
    let out = dir.path().join("out");
    let inside = Path::new("/").join(out.strip_prefix(root).expect("under the root"));
    let mut target = Target::start(python, "import time\nprint('ready')\nwhile True:\n    time.sleep(0.005)\n");
    let pid = target.pid();
    let plan = pending_call::plan(pid, version(pid)).expect("plan");
    let statement = format!(
        "import threading, sys\nopen({:?}, 'w').write(threading.current_thread().name + ' ' + str(sys.version_info[:2]))\n",
        inside.to_string_lossy()
    );
    let page = pending_call::schedule(&plan, &statement).expect("scheduled");
    assert!(mapped(pid, page.address));
    let ran = wait_for(&out);
    assert!(ran.starts_with("MainThread ("), "{ran}");
    pending_call::free(&plan, page).expect("freed");
    assert!(!mapped(pid, page.address), "the page is unmapped");
    // And it keeps running, and can take another one.
    std::fs::remove_file(&out).expect("rm");
    let page = pending_call::schedule(&plan, &statement).expect("again");
    wait_for(&out);
    pending_call::free(&plan, page).expect("freed again");
    assert!(target.child.try_wait().expect("wait").is_none(), "still running");
    let _ = &mut target;
}

/// A main thread stopped inside `clock_nanosleep` and one inside `recv` carry on undisturbed:
/// the sleep lasts its full time, the recv gets its data.
fn blocking_calls_resume_as_if_nothing_happened(python: &Path) {
    let code = "import socket, sys, time\n\
                server = socket.create_server(('127.0.0.1', 0))\n\
                print('ready')\n\
                print(server.getsockname()[1])\n\
                a, _ = server.accept()\n\
                t = time.monotonic(); time.sleep(1.0); print('slept %.3f' % (time.monotonic() - t))\n\
                print('got', a.recv(5).decode())\n\
                sys.stdin.readline()\n";
    let mut target = Target::start(python, code);
    let pid = target.pid();
    let port: u16 = target.line().parse().expect("port");
    let mut peer = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let plan = pending_call::plan(pid, version(pid)).expect("plan");
    std::thread::sleep(Duration::from_millis(200));
    let page = pending_call::schedule(&plan, "pass").expect("scheduled during the sleep");
    let slept = target.line();
    let seconds: f64 = slept.strip_prefix("slept ").expect(&slept).parse().expect("seconds");
    assert!(seconds >= 1.0, "the sleep was cut short: {slept}");
    std::thread::sleep(Duration::from_millis(200));
    pending_call::free(&plan, page).expect("freed during the recv");
    let page = pending_call::schedule(&plan, "pass").expect("scheduled during the recv");
    std::thread::sleep(Duration::from_millis(100));
    peer.write_all(b"hello").expect("send");
    assert_eq!(target.line(), "got hello");
    pending_call::free(&plan, page).expect("freed");
}

#[test]
fn host_python_runs_a_scheduled_statement() {
    statement_runs_in_the_main_thread_and_leaves_nothing(&host_python(), Path::new("/"));
}

#[test]
fn sid_python_3_13_runs_a_scheduled_statement() {
    statement_runs_in_the_main_thread_and_leaves_nothing(Path::new("/usr/bin/python3.13"), &sid_rootfs());
}

#[test]
fn sid_python_3_13_blocking_calls_resume() {
    blocking_calls_resume_as_if_nothing_happened(Path::new("/usr/bin/python3.13"));
}

#[test]
fn host_python_blocking_calls_resume() {
    blocking_calls_resume_as_if_nothing_happened(&host_python());
}

#[test]
fn a_traced_process_is_refused_with_its_tracer() {
    let target = Target::start(&host_python(), "import time\nprint('ready')\nwhile True:\n    time.sleep(0.05)\n");
    let pid = target.pid();
    let plan = pending_call::plan(pid, version(pid)).expect("plan");
    let seized = borescope_inject::ptrace::Seized::stop(pid, 0, Duration::from_secs(1)).expect("seize");
    let error = pending_call::schedule(&plan, "pass").expect_err("traced");
    let text = error.to_string();
    assert!(text.contains("already being traced by pid") && text.contains("hint: detach"), "{text}");
    seized.release().expect("release");
    pending_call::plan(pid, version(pid)).expect("free again");
}

#[test]
fn a_stopped_process_is_refused_and_stays_stopped() {
    let target = Target::start(&host_python(), "import time\nprint('ready')\nwhile True:\n    time.sleep(0.05)\n");
    let pid = target.pid();
    let plan = pending_call::plan(pid, version(pid)).expect("plan");
    let state = || borescope_inject::procfs::stat(pid).expect("stat").state;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let started = Instant::now();
    while state() != 'T' && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let text = pending_call::schedule(&plan, "pass").expect_err("stopped").to_string();
    assert!(text.contains("is stopped") && text.contains(&format!("kill -CONT {pid}")), "{text}");
    assert_eq!(state(), 'T', "still stopped");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
}

/// A main thread asleep three calls deep, its frames read from memory with their lines.
fn blocked_main_thread_stack_is_read(python: &Path) {
    let code = "import time\n\
                def inner():\n    print('ready'); time.sleep(3600)\n\
                def outer():\n    inner()\n\
                outer()\n";
    let target = Target::start(python, code);
    let pid = target.pid();
    std::thread::sleep(Duration::from_millis(100));
    let memory = borescope_inject::RemoteMemory::new(pid);
    let inside = borescope_inject::procfs::status(&pid.to_string()).expect("status").pid_inside().expect("pid inside");
    let frames = borescope_inject::stack::older_thread_stack(pid, u64::from(inside), &memory, 8).expect("stack");
    let shown: Vec<String> = frames.iter().map(|f| format!("{} {}:{}", f.function, f.file, f.line.unwrap_or(0))).collect();
    assert_eq!(shown, ["inner <string>:3", "outer <string>:5", "<module> <string>:6"], "{frames:?}");
}

#[test]
fn host_python_blocked_main_thread_stack() {
    blocked_main_thread_stack_is_read(&host_python());
}

/// 3.9 and 3.10 keep heap frame objects and older line tables; 3.12 has its own written layout.
#[test]
fn pyenv_pythons_blocked_main_thread_stacks() {
    for minor in ["3.9", "3.10", "3.12"] {
        blocked_main_thread_stack_is_read(&borescope_test::interpreters::pyenv_python(minor));
    }
}

#[test]
fn sid_python_3_13_blocked_main_thread_stack() {
    blocked_main_thread_stack_is_read(Path::new("/usr/bin/python3.13"));
}
