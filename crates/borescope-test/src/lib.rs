//! Test support for borescope's integration tests (a dev-dependency only).
//!
//! * [`TestContext`]: a canonical temporary directory, a private runtime directory (so its own
//!   session daemon) and cache directory, a command for the borescope binary with every
//!   `BORESCOPE_*` variable cleared, and a `Drop` that stops the test's daemon.
//! * [`interpreters`]: the Pythons tests run against (host 3.11, the test venv with debugpy, a
//!   venv without it, Python 3.14 inside the Debian sid root filesystem) and Node.
//! * [`targets`]: running Python processes for attach tests (plain, in a container stand-in,
//!   the host's older Python), killed on drop.
//! * [`kube_cluster`]: a real single-node Kubernetes shared by a test run ([`kube_cluster::shared`];
//!   `BORESCOPE_TEST_KUBECONFIG` points the tests at a cluster started by hand instead).
//! * [`moto`]: moto in server mode on loopback, the AWS stand-in of the Lambda tests.
//! * [`postgres`]: a real PostgreSQL shared by a test run, a fresh database per test
//!   ([`postgres::database`]).
//! * [`Run`]: a finished command rendered as `exit_code` / stdout / stderr with filters for
//!   temporary paths, pids, times and versions, for insta snapshots.
//!
//! Everything here starts real processes; nothing is mocked.

#![allow(missing_docs)]
#![allow(clippy::print_stderr)]

pub mod http;
pub mod interpreters;
pub mod kube_cluster;
pub mod mosquitto;
pub mod moto;
pub mod postgres;
pub mod targets;

use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One test's isolated world.
pub struct TestContext {
    _dir: tempfile::TempDir,
    /// Canonical root of the test's files.
    pub root: PathBuf,
    /// The test's runtime directory (daemon socket).
    pub runtime: PathBuf,
    /// The test's cache directory.
    pub cache: PathBuf,
    bin: PathBuf,
}

impl TestContext {
    /// A fresh context for the binary at `bin` (use `env!("CARGO_BIN_EXE_borescope")`).
    pub fn new(bin: &str) -> TestContext {
        let dir = tempfile::Builder::new()
            .prefix("bstest-")
            .tempdir_in("/tmp")
            .expect("create temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let runtime = root.join("rt");
        let cache = root.join("cache");
        std::fs::create_dir_all(root.join("work")).expect("work dir");
        TestContext {
            _dir: dir,
            root,
            runtime,
            cache,
            bin: PathBuf::from(bin),
        }
    }

    /// The directory programs run in (`<root>/work`).
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// Writes a file under `work/` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.work().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    /// Copies `crates/borescope/tests/fixtures/<lang>/<relative>` to `work/<relative>`.
    pub fn fixture(&self, lang: &str, relative: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../borescope/tests/fixtures")
            .join(lang)
            .join(relative);
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", source.display()));
        self.write(relative, &text)
    }

    /// The borescope binary under test.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A command running borescope in `work/`, with a clean borescope environment.
    pub fn command(&self) -> Command {
        self.isolated(&self.bin)
    }

    /// A command running `program` in `work/` with the test's borescope environment (its own
    /// runtime and cache directories), e.g. an MCP client that starts `borescope mcp`.
    pub fn isolated(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for name in borescope_static::EnvVars::ALL {
            command.env_remove(name);
        }
        command
            .current_dir(self.work())
            .env(borescope_static::EnvVars::BORESCOPE_RUNTIME_DIR, &self.runtime)
            .env(borescope_static::EnvVars::BORESCOPE_CACHE_DIR, &self.cache)
            .env("NO_COLOR", "1")
            .env("PIP_FIND_LINKS", interpreters::debugpy_wheel_dir())
            .env("PIP_NO_INDEX", "1")
            .env_remove("PYTHONPATH");
        command
    }

    /// Runs borescope with `args` and returns the finished run.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_bin(&self.bin, args)
    }

    /// Runs another borescope executable (e.g. a copy: another build) with `args`, with the
    /// test's environment.
    pub fn run_bin<I, S>(&self, bin: &Path, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.isolated(bin);
        command.args(args);
        Run::from_output(command.output().expect("run borescope"), self)
    }

    /// Runs borescope with `args`, `input` on its standard input (a pipe closed after it).
    pub fn run_with_stdin<I, S>(&self, args: I, input: &[u8]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        use std::io::Write;
        let mut command = self.command();
        command.args(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("run borescope");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input).expect("write stdin");
        }
        Run::from_output(child.wait_with_output().expect("wait for borescope"), self)
    }

    /// Runs borescope with `args` and a terminal (a pseudo-terminal) as its standard input, as
    /// when a person types the command.
    pub fn run_in_terminal<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let mut command = self.command();
        command.args(args).stdin(std::process::Stdio::from(pty.slave));
        let output = command.output().expect("run borescope");
        drop(pty.master);
        Run::from_output(output, self)
    }

    /// Runs a command (e.g. from [`TestContext::isolated`]) and returns the finished run.
    pub fn run_command(&self, mut command: Command) -> Run {
        Run::from_output(command.output().expect("run command"), self)
    }

    /// Filters that make output stable across machines and runs.
    pub fn filters(&self) -> Vec<(String, String)> {
        let mut filters = vec![
            (regex::escape(&self.bin.display().to_string()), "[BORESCOPE]".to_string()),
            (regex::escape(&self.work().display().to_string()), "[WORK]".to_string()),
            (regex::escape(&self.root.display().to_string()), "[TMP]".to_string()),
            (regex::escape(&interpreters::shared_cache().display().to_string()), "[CACHE]".to_string()),
        ];
        for (pattern, replacement) in [
            (r"pid \d+", "pid [PID]"),
            (r"attach \d+", "attach [PID]"),
            (r"exec \d+", "exec [PID]"),
            (r"worker \d+", "worker [PID]"),
            (r"tid \d+", "tid [TID]"),
            (r"--thread \d+", "--thread [TID]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (r#""port": \d+"#, r#""port": [PORT]"#),
            (r"/tmp/borescope-[a-z]+-[0-9a-f-]+", "[INJECTED]"),
            (r#""pid": \d+"#, r#""pid": [PID]"#),
            (r#""build": "[0-9a-f]{16}""#, r#""build": "[BUILD]""#),
            (r"\d+\.\d\ds\b", "[TIME]s"),
            (r#""elapsed_ms": \d+"#, r#""elapsed_ms": [MS]"#),
            (r"Python 3\.\d+\.\d+", "Python [PY]"),
            (r"thread \d{5,}", "thread [TID]"),
            (r#""id": \d{5,}"#, r#""id": [TID]"#),
            (r"/root/\.pyenv/versions/[^/\s]+/bin/python3?(\.\d+)?", "[PYTHON]"),
            (r"/[^\s`']*/venv/bin/python", "[VENV_PYTHON]"),
            (r"(#\d+-#\d+) \.\.\. \d+ runtime frames \([^)]*\)", "$1 ... [RUNTIME FRAMES]"),
            (r"cut at \d+ of \d+ bytes \(--max-output \d+", "cut at [N] of [N] bytes (--max-output [N]"),
        ] {
            filters.push((pattern.to_string(), replacement.to_string()));
        }
        filters
    }

    /// Applies [`TestContext::filters`] to `text`.
    pub fn filter(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (pattern, replacement) in self.filters() {
            let re = Regex::new(&pattern).expect("filter regex");
            text = re.replace_all(&text, replacement.as_str()).into_owned();
        }
        text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
    }
}

impl TestContext {
    /// Pids of the session daemons running in this test's runtime directory (one per borescope
    /// build that was used: each build has its own `build-<id>/` directory there).
    ///
    /// A `daemon.pid` outlives a daemon that was killed, and its number may since belong to
    /// another test's process: a pid counts only while that process holds the directory's
    /// `daemon.lock` open (every daemon does, for its whole life).
    pub fn daemon_pids(&self) -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir(&self.runtime) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("build-"))
            .filter_map(|e| {
                let pid = std::fs::read_to_string(e.path().join("daemon.pid")).ok()?.trim().parse::<i32>().ok()?;
                holds_open(pid, &e.path().join("daemon.lock")).then_some(pid)
            })
            .collect()
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        // Stop this test's session daemons (they would exit when idle, but not soon enough).
        let pids: Vec<nix::unistd::Pid> = self.daemon_pids().into_iter().map(nix::unistd::Pid::from_raw).collect();
        for pid in &pids {
            let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGTERM);
        }
        for _ in 0..200 {
            if pids.iter().all(|pid| nix::sys::signal::kill(*pid, None).is_err()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// A finished borescope run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Raw stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
    filtered: String,
}

impl Run {
    fn from_output(output: Output, ctx: &TestContext) -> Run {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let code = output.status.code().unwrap_or(-1);
        let filtered = format!(
            "exit_code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            ctx.filter(&stdout),
            ctx.filter(&stderr)
        );
        Run {
            code,
            stdout,
            stderr,
            filtered,
        }
    }

    /// The filtered snapshot text.
    pub fn snapshot(&self) -> &str {
        &self.filtered
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }

    /// Panics with the full output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        if self.code != code {
            panic!(
                "expected exit code {code}, got {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.code, self.stdout, self.stderr
            );
        }
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        if !self.stdout.contains(needle) {
            panic!("stdout lacks {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.stdout, self.stderr);
        }
        self
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        if !self.stderr.contains(needle) {
            panic!("stderr lacks {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.stdout, self.stderr);
        }
        self
    }
}

/// True when process `pid` has `file` open.
fn holds_open(pid: i32, file: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == file))
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22); `None`
/// when it is gone.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// True when no process has this pid (the debuggee was cleaned up).
pub fn pid_is_gone(pid: i64) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_err()
}

/// Sends SIGTERM to a process.
pub fn sigterm(pid: i64) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
}

/// Sends SIGKILL to a process.
pub fn kill9(pid: i64) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
}

/// Runs one of the project's `scripts/` helpers (`script` and `what` name it in a failure, with
/// `hint` after the status) and returns its stdout; panics with its stderr when it fails.
pub fn script_output(command: &mut Command, script: &str, what: &str, hint: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("run `scripts/{script} {what}`: {e}"));
    assert!(
        out.status.success(),
        "`scripts/{script} {what}` failed ({}){hint}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
