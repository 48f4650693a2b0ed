//! Running Python processes for attach tests to find: Python 3.14 (or 3.13) from the sid rootfs
//! as a plain process of this machine (`scripts/sid-python`) or in a container stand-in
//! (`scripts/in-sid`, own mount/PID/network namespaces), the host's older Python, any other
//! interpreter, or a Python started under another program (a tracer); and
//! programs with a debug server listening (debugpy's `--listen`, Node's `--inspect`).
//!
//! A [`TargetProcess`] collects the program's output (so a test can wait for a "ready" line
//! instead of sleeping) and kills the program and its wrapper when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running target program.
pub struct TargetProcess {
    wrapper: Child,
    /// The Python process's pid (in our PID namespace).
    pub pid: u32,
    /// When `pid` started (`/proc/PID/stat` field 22): a pid that ended may be reused by
    /// another test's process, which must not be killed with it.
    started: Option<u64>,
    lines: Arc<Mutex<Vec<String>>>,
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts").join(name)
}

impl TargetProcess {
    /// Python 3.14 (sid rootfs) in this machine's namespaces: `sid-python ARGS`.
    pub fn plain(cwd: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> TargetProcess {
        crate::interpreters::in_sid(); // checks the rootfs is there
        let mut command = Command::new(script("sid-python"));
        command.args(args);
        TargetProcess::start(command, cwd, env, false)
    }

    /// A command inside the sid rootfs (`in-sid FLAGS ARGS`), e.g. flags `["--pid", "--net"]`;
    /// `--pivot` and `--copy-in SRC:DEST` give it a root and files the host cannot see.
    pub fn container(cwd: &std::path::Path, flags: &[&str], args: &[&str], env: &[(&str, &str)]) -> TargetProcess {
        let mut command = Command::new(crate::interpreters::in_sid());
        command.args(flags).args(args);
        TargetProcess::start(command, cwd, env, true)
    }

    /// The host's Python (3.11).
    pub fn host(cwd: &std::path::Path, args: &[&str]) -> TargetProcess {
        let mut command = Command::new(crate::interpreters::host_python());
        command.args(args);
        TargetProcess::start(command, cwd, &[], false)
    }

    /// Any program in this machine's namespaces (e.g. the test venv's Python, `node`).
    pub fn program(cwd: &std::path::Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> TargetProcess {
        let mut command = Command::new(program);
        command.args(args);
        TargetProcess::start(command, cwd, &[], false)
    }

    /// Like [`TargetProcess::program`], with extra environment variables.
    pub fn program_env(
        cwd: &std::path::Path,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> TargetProcess {
        let mut command = Command::new(program);
        command.args(args);
        TargetProcess::start(command, cwd, env, false)
    }

    /// A program that starts the Python as a descendant (a tracer such as `strace -f`, a
    /// shell): [`TargetProcess::pid`] is the first process under it whose command is `python3*`.
    pub fn under(cwd: &std::path::Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str], env: &[(&str, &str)]) -> TargetProcess {
        let mut command = Command::new(program);
        command.args(args);
        TargetProcess::start(command, cwd, env, true)
    }

    fn start(mut command: Command, cwd: &std::path::Path, env: &[(&str, &str)], wrapped: bool) -> TargetProcess {
        command
            .current_dir(cwd)
            .env("PYTHONUNBUFFERED", "1")
            .env_remove("PYTHONPATH")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut wrapper = command.spawn().expect("start the target");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            wrapper.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            wrapper.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        let pid = if wrapped { find_python_under(wrapper.id()) } else { wrapper.id() };
        TargetProcess { wrapper, pid, started: crate::start_time(pid), lines }
    }

    /// Waits until the program printed a line containing `needle`; panics with its output
    /// after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> &TargetProcess {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return self;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the target never printed {needle:?}; its output:\n{}", self.output());
    }

    /// Everything the program printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmSize`, ...); panics when the process or
    /// the field is gone.
    pub fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_else(|e| panic!("read /proc/{}/status: {e}; its output:\n{}", self.pid, self.output()));
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status:\n{status}", self.pid))
    }

    /// True while the program runs.
    pub fn is_running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .is_ok_and(|stat| !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        // The whole tree: a reloader's worker or a pre-fork server's children would otherwise
        // outlive the test (reparented to init) and keep running.
        // The wrapper is our unreaped child, so its pid is still its own; the Python under a
        // wrapper is not, and is left alone once its pid belongs to another process.
        let own = self.started.is_some() && crate::start_time(self.pid) == self.started;
        let mut tree = descendants(self.wrapper.id());
        for pid in if own { descendants(self.pid) } else { Vec::new() } {
            if !tree.contains(&pid) {
                tree.push(pid);
            }
        }
        for pid in tree.iter().rev() {
            if *pid != self.wrapper.id() {
                crate::kill9(i64::from(*pid));
            }
        }
        if own {
            crate::kill9(i64::from(self.pid));
        }
        let _ = self.wrapper.kill();
        let _ = self.wrapper.wait();
    }
}

/// The Python process started under `root` (through `unshare`, `sh` and `chroot`, which
/// exec into it or fork it).
fn find_python_under(root: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        for pid in descendants(root) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            let name = String::from_utf8_lossy(first);
            let name = name.rsplit('/').next().unwrap_or_default();
            if name.starts_with("python3") {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no Python process appeared under pid {root}");
}

fn descendants(root: u32) -> Vec<u32> {
    let mut found = vec![root];
    let mut index = 0;
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter_map(|pid| {
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    while index < found.len() {
        let parent = found[index];
        found.extend(all.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        index += 1;
    }
    found
}

/// A program under debugpy's own launcher, `python -m debugpy --listen 127.0.0.1:PORT
/// [--wait-for-client] SCRIPT` (the test venv's Python): debugpy's adapter listens on `port`.
/// The adapter daemonizes and ends when the program does, which dropping this ensures.
pub struct DebugpyServer {
    /// The program.
    pub target: TargetProcess,
    /// Where the adapter listens.
    pub port: u16,
}

impl DebugpyServer {
    /// Starts `script` (in `cwd`) with debugpy listening and waits until the port is open (read
    /// from `/proc/net/tcp`, so nothing connects to it before the test does).
    pub fn start(cwd: &std::path::Path, script: &std::path::Path, wait_for_client: bool) -> DebugpyServer {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let script = script.display().to_string();
        let mut args = vec!["-m", "debugpy", "--listen", listen.as_str()];
        if wait_for_client {
            args.push("--wait-for-client");
        }
        args.push(&script);
        let target = TargetProcess::program(cwd, crate::interpreters::venv_python(), &args);
        wait_until_listening(port, Duration::from_secs(30), &target);
        DebugpyServer { target, port }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Waits until something listens on 127.0.0.1:`port`; panics with the target's output after
/// `timeout`.
pub fn wait_until_listening(port: u16, timeout: Duration, target: &TargetProcess) {
    let deadline = Instant::now() + timeout;
    let wanted = format!("0100007F:{port:04X}");
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let listening = table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A")
        });
        if listening {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listened on 127.0.0.1:{port}; the target's output:\n{}", target.output());
}

/// The port of Node's inspector from the program's "Debugger listening on ws://HOST:PORT/..."
/// line (start it with `--inspect=127.0.0.1:0`).
pub fn inspector_port(target: &TargetProcess) -> u16 {
    target.wait_for("Debugger listening on ws://", Duration::from_secs(20));
    let output = target.output();
    output
        .lines()
        .find_map(|line| line.strip_prefix("Debugger listening on ws://"))
        .and_then(|rest| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once(':'))
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("no inspector port in:\n{output}"))
}

/// A TCP port free right now on 127.0.0.1 (for servers under test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
