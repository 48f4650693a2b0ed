//! `borescope exec`: run code inside a running process and bring back what it printed and
//! any traceback. Only the injected thread's writes to `sys.stdout`/`sys.stderr` are
//! captured; the program's other threads keep writing where they always did.

use crate::job::{Injector, JobOptions};
use crate::{AttachError, ThreadChoice};
use borescope_model::ExecReport;
use serde_json::json;
use std::time::{Duration, Instant};

/// How to run the code.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// The thread that runs it.
    pub thread: ThreadChoice,
    /// How long that thread may take to pick it up.
    pub pickup_timeout: Duration,
    /// How long the code may run.
    pub run_timeout: Duration,
    /// Characters of output kept (per stream).
    pub max_output: usize,
}

/// Runs `code` (reported as `filename` in tracebacks) in `pid`.
pub fn exec_code(pid: u32, code: &str, filename: &str, options: &ExecOptions) -> Result<ExecReport, AttachError> {
    let started = Instant::now();
    let injector = Injector::open(pid)?;
    let dir = injector.new_dir("exec")?;
    let job = json!({"kind": "exec", "code": code, "filename": filename, "max_output": options.max_output});
    let job_options = JobOptions {
        thread: options.thread,
        pickup_timeout: options.pickup_timeout,
        run_timeout: options.run_timeout,
        withdraw: true,
    };
    let status = injector.run(&dir, job, &job_options);
    if !matches!(status, Err(AttachError::StillRunning { .. })) {
        dir.remove();
    }
    Ok(ExecReport::from_status(pid, &status?, started.elapsed().as_millis() as u64))
}
