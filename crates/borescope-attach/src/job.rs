//! Running one job of the embedded agent inside the target, and reading back what it reports.
//!
//! The job directory gets a copy of the agent package, `job.json`, and `run.py`, a small
//! bootstrap that deletes itself, imports `borescope_agent.remote` from the directory (without
//! leaving it on `sys.path`) and runs the job. The job writes `status.json` (atomically) when
//! done. [`crate::trigger`] starts `run.py` (PEP 768 on 3.14+, a pending call on 3.9–3.13).
//! If the chosen thread does not pick `run.py` up in time, the request is withdrawn (a
//! `cancelled` marker left for a late pickup) and the thread's state is diagnosed (a detach is
//! left queued instead); if it picked it up but the job runs too long, borescope leaves an
//! `abandoned` marker so the job cleans up after itself.

use crate::blocked;
use crate::files::InjectionDir;
use crate::target::Target;
use crate::trigger::{Trigger, Withdrawal};
use crate::{AttachError, ThreadChoice};
use borescope_inject::RemoteMemory;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long to wait, and in which thread.
#[derive(Debug, Clone, Copy)]
pub struct JobOptions {
    /// The thread that runs the job.
    pub thread: ThreadChoice,
    /// How long the thread may take to pick the job up.
    pub pickup_timeout: Duration,
    /// How long the job may run once picked up.
    pub run_timeout: Duration,
    /// On a pick-up timeout, withdraw the request (attach, exec). When false (detach), it stays
    /// queued for whenever the thread runs Python again, and cleans up after itself.
    pub withdraw: bool,
}

/// A process ready to take jobs: how to start them in it, checked.
#[derive(Debug, Clone)]
pub struct Injector {
    /// The process.
    pub target: Target,
    /// How jobs are started in it.
    pub trigger: Trigger,
    memory: RemoteMemory,
}

impl Injector {
    /// Opens `pid`: a CPython 3.14 whose remote debugging is enabled, or a CPython 3.9–3.13
    /// that exports the functions the pending-call trigger needs.
    pub fn open(pid: u32) -> Result<Injector, AttachError> {
        let target = Target::open(pid)?;
        let memory = RemoteMemory::new(pid);
        let trigger = Trigger::open(pid, &memory)?;
        Ok(Injector { target, trigger, memory })
    }

    /// A fresh private directory in the target's view, named with a unique label.
    pub fn new_dir(&self, kind: &str) -> Result<InjectionDir, AttachError> {
        InjectionDir::create(&self.target, &format!("{kind}-{}", unique_label()))
    }

    /// Runs `job` (its `kind` and arguments) with the files in `dir`; returns the job's status
    /// object once it reports, or why it did not.
    pub fn run(&self, dir: &InjectionDir, mut job: Value, options: &JobOptions) -> Result<Value, AttachError> {
        let nonce = unique_label();
        if let Some(object) = job.as_object_mut() {
            object.insert("nonce".into(), Value::String(nonce.clone()));
        }
        for (path, text) in borescope_pyagent::FILES.iter().filter(|(p, _)| p.starts_with("borescope_agent/")) {
            dir.write(&format!("agent/{path}"), text.as_bytes())?;
        }
        dir.write("job.json", job.to_string().as_bytes())?;
        dir.write("run.py", borescope_pyagent::jobs::bootstrap(&borescope_pyagent::jobs::string_literal(&dir.inside), &nonce).as_bytes())?;
        let armed = self.trigger.arm(self.target.pid, &self.memory, dir, options.thread)?;
        let result = self.wait(dir, &nonce, &armed, options);
        // A blocked request may still run (the page must stay); an ended process has nothing left.
        if !matches!(result, Err(AttachError::Blocked(_) | AttachError::Inject(borescope_inject::InjectError::Exited { .. }))) {
            self.trigger.finish(armed);
        }
        result
    }

    /// Waits for the job started by `armed` to report.
    fn wait(&self, dir: &InjectionDir, nonce: &str, armed: &crate::trigger::Armed, options: &JobOptions) -> Result<Value, AttachError> {
        let started = Instant::now();
        let mut picked_up: Option<Instant> = None;
        let mut cancelled = false;
        loop {
            if let Some(status) = dir.read_json("status.json").filter(|s| s["nonce"] == nonce) {
                tracing::debug!(pid = self.target.pid, elapsed = ?started.elapsed(), "job reported");
                if status["state"] == "failed" {
                    return Err(failure(self.target.pid, &status));
                }
                return Ok(status);
            }
            if !self.target.alive() {
                return Err(self.target.exited());
            }
            if picked_up.is_none() && !self.trigger.is_pending(armed, &self.memory, dir) {
                picked_up = Some(Instant::now());
            }
            if cancelled && !dir.outside.exists() {
                // Picked up just as borescope withdrew it: the bootstrap saw the marker.
                return Err(AttachError::Blocked(blocked::diagnose(self, self.trigger.thread(armed), options.pickup_timeout, false)));
            }
            match picked_up {
                None if started.elapsed() >= options.pickup_timeout => {
                    let thread = self.trigger.thread(armed);
                    if !options.withdraw {
                        dir.mark("abandoned");
                        return Err(AttachError::Blocked(blocked::diagnose(self, thread, options.pickup_timeout, false)));
                    }
                    match self.trigger.withdraw(armed, &self.memory, dir) {
                        Withdrawal::Withdrawn { queued } => {
                            let report = blocked::diagnose(self, thread, options.pickup_timeout, queued);
                            dir.remove();
                            return Err(AttachError::Blocked(report));
                        }
                        Withdrawal::PickedUp => {
                            cancelled = true;
                            picked_up = Some(Instant::now());
                        }
                    }
                }
                Some(at) if at.elapsed() >= options.run_timeout => {
                    dir.mark("abandoned");
                    let tid = self.trigger.thread(armed).and_then(|t| self.target.host_tid(t.native_id)).unwrap_or(self.target.pid);
                    let thread = borescope_inject::procfs::thread_name(self.target.pid, tid).unwrap_or_else(|| "main".into());
                    return Err(AttachError::StillRunning {
                        pid: self.target.pid,
                        seconds: started.elapsed().as_secs_f64(),
                        thread,
                    });
                }
                _ => {}
            }
            let pause = if started.elapsed() < Duration::from_millis(200) { 1 } else { 5 };
            std::thread::sleep(Duration::from_millis(pause));
        }
    }

    /// The process memory (for diagnoses).
    pub(crate) fn memory(&self) -> &RemoteMemory {
        &self.memory
    }
}

fn failure(pid: u32, status: &Value) -> AttachError {
    let mut error = status["error"].as_str().unwrap_or("unknown error").to_string();
    if let Some(trace) = status["traceback"].as_str() {
        for line in trace.lines() {
            error.push_str("\n  ");
            error.push_str(line);
        }
    }
    AttachError::JobFailed { pid, error }
}

/// A label unique to this call: our pid, the time, and a counter.
pub(crate) fn unique_label() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{:x}-{}", std::process::id(), nanos & 0xffff_ffff_ffff, COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique() {
        assert_ne!(unique_label(), unique_label());
    }
}
