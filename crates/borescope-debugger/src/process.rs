//! Starting a debuggee: its own process group (so the whole tree can be ended), output captured
//! into an [`OutputBuffer`], and a parent-death signal so it never outlives borescope.

use crate::output::OutputBuffer;
use crate::DebuggerError;
use borescope_model::{ExitInfo, OutputStream};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::process::Stdio;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How the program's standard input is connected.
#[derive(Debug, Clone)]
pub enum StdinMode {
    /// `/dev/null`: a program waiting for input sees end-of-file instead of hanging.
    Null,
    /// borescope's own standard input (for piped input).
    Inherit,
    /// A descriptor handed over by the caller (its own standard input).
    Fd(Arc<OwnedFd>),
    /// A pipe borescope writes to ([`ProgramProcess::take_stdin`]).
    Pipe,
}

impl StdinMode {
    fn stdio(&self) -> Result<Stdio, DebuggerError> {
        Ok(match self {
            StdinMode::Null => Stdio::null(),
            StdinMode::Inherit => Stdio::inherit(),
            StdinMode::Fd(fd) => Stdio::from(fd.try_clone().map_err(DebuggerError::io("passing standard input on"))?),
            StdinMode::Pipe => Stdio::piped(),
        })
    }
}

/// A running debuggee.
#[derive(Debug)]
pub struct ProgramProcess {
    child: Child,
    pid: u32,
    /// Its output.
    pub output: OutputBuffer,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ExitInfo>,
    /// Taken at spawn: tokio's `Child::wait` would close it.
    stdin: Option<tokio::process::ChildStdin>,
}

impl ProgramProcess {
    /// Starts `argv` in `cwd` with extra environment variables (added to ours).
    pub fn spawn(
        argv: &[String],
        cwd: &Path,
        env: &[(String, String)],
        stdin: &StdinMode,
    ) -> Result<ProgramProcess, DebuggerError> {
        ProgramProcess::spawn_with(argv, cwd, None, env, stdin)
    }

    /// Starts `argv` with exactly `base` as its environment (plus `env`), or ours if `None`.
    /// The session daemon uses this to give a program its caller's environment, not its own.
    pub fn spawn_with(
        argv: &[String],
        cwd: &Path,
        base: Option<&[(String, String)]>,
        env: &[(String, String)],
        stdin: &StdinMode,
    ) -> Result<ProgramProcess, DebuggerError> {
        ProgramProcess::spawn_into(argv, cwd, base, env, stdin, OutputBuffer::new())
    }

    /// Like [`ProgramProcess::spawn_with`], collecting output into `output`.
    pub fn spawn_into(
        argv: &[String],
        cwd: &Path,
        base: Option<&[(String, String)]>,
        env: &[(String, String)],
        stdin: &StdinMode,
        output: OutputBuffer,
    ) -> Result<ProgramProcess, DebuggerError> {
        let Some((program, args)) = argv.split_first() else {
            return Err(DebuggerError::BadCommand("empty command".into()));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(stdin.stdio()?)
            .kill_on_drop(true);
        if let Some(base) = base {
            command.env_clear();
            for (key, value) in base {
                command.env(key, value);
            }
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command.as_std_mut().process_group(0);
        crate::parent_death::arrange(command.as_std_mut());
        let mut child = command.spawn().map_err(|source| DebuggerError::Spawn {
            program: program.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        let stdin = child.stdin.take();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(output.clone().collect(stdout, OutputStream::Stdout)));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(output.clone().collect(stderr, OutputStream::Stderr)));
        }
        tracing::debug!(pid, ?argv, "started program");
        Ok(ProgramProcess {
            child,
            pid,
            output,
            readers,
            exit: None,
            stdin,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The writing end of the program's standard input ([`StdinMode::Pipe`] only, once).
    pub fn take_stdin(&mut self) -> Option<tokio::process::ChildStdin> {
        self.stdin.take()
    }

    /// Waits for the program to exit (cancel-safe).
    pub async fn wait(&mut self) -> ExitInfo {
        if let Some(exit) = self.exit {
            return exit;
        }
        let exit = match self.child.wait().await {
            Ok(status) => ExitInfo {
                code: status.code(),
                signal: status.signal(),
            },
            Err(_) => ExitInfo {
                code: None,
                signal: None,
            },
        };
        self.exit = Some(exit);
        exit
    }

    /// The exit status, if the program has exited (does not block).
    pub fn try_exit(&mut self) -> Option<ExitInfo> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(ExitInfo {
                    code: status.code(),
                    signal: status.signal(),
                });
            }
        self.exit
    }

    /// Kills the whole process group (the program and anything it started in its group).
    pub fn kill_group(&self) {
        if self.pid != 0 {
            let _ = killpg(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
    }

    /// Ends the program: kills its group, reaps it, and waits briefly for its output to drain.
    pub async fn terminate(&mut self) -> ExitInfo {
        self.kill_group();
        let exit = self.wait().await;
        self.drain_output().await;
        exit
    }

    /// Waits (at most one second) for the output readers to reach end-of-file.
    pub async fn drain_output(&mut self) {
        let readers = std::mem::take(&mut self.readers);
        let all = async {
            for reader in readers {
                let _ = reader.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), all).await;
    }
}

impl Drop for ProgramProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill_group();
        }
    }
}
