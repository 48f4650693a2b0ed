//! Jobs of the embedded agent inside a pod's process: the in-pod program, run by the target's
//! own interpreter (`/proc/PID/exe`, so it has the target's version), writes the agent and the
//! job into a private directory in the container, asks the target to run it, and reads back the
//! status file — the same job, status file and bootstrap as local attach. Python 3.14+ is asked
//! through PEP 768 (`sys.remote_exec`); 3.9–3.13 through a pending call the in-pod program
//! schedules with ptrace (`pod_ptrace.py`, ctypes), whose statement is
//! [`borescope_pyagent::jobs::pending_call_source`], as locally. Its refusals are diagnosed:
//! Python < 3.9, remote debugging disabled, already traced, no exported symbols, an
//! architecture or an interpreter (no ctypes) it cannot drive, ptrace refused (capabilities,
//! Yama, seccomp), a thread that never picks the job up.

use crate::podexec::{self, Exchange};
use crate::{payload, Cluster, KubeError, PodRef};
use borescope_model::{AttachMethod, ExecReport};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Linux's CAP_SYS_PTRACE bit in `CapEff`.
const CAP_SYS_PTRACE: u32 = 19;

/// Stands for run.py's path in the pending-call statement; the in-pod program replaces it.
const RUN_PY_MARKER: &str = "__BORESCOPE_RUN_PY__";

/// How to run one job.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// How long the target's thread may take to pick the job up.
    pub pickup_timeout: Duration,
    /// How long the job may run once picked up.
    pub run_timeout: Duration,
    /// On a pick-up timeout, withdraw the request (attach, exec); false leaves it queued (detach).
    pub withdraw: bool,
    /// Keep the job's directory afterwards (a session's, removed by detach).
    pub keep_dir: bool,
    /// Bring back the program's sources (`.py` files under its working directory).
    pub sources: bool,
}

/// What a job reported.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// The job's directory in the container.
    pub dir: String,
    /// The agent's status object.
    pub status: Value,
    /// True when borescope's debugpy was shipped in.
    pub shipped_debugpy: bool,
    /// The program's sources, a gzip'd tar, when asked for.
    pub sources: Option<Vec<u8>>,
    /// How the job was started (PEP 768, or a pending call scheduled with ptrace).
    pub method: Option<AttachMethod>,
}

fn label(kind: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{kind}-{:x}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Where a copy of debugpy comes from when the target has none: a directory holding the
/// `debugpy` package (a future, so it is made only when needed).
pub type DebugpySource = futures::future::BoxFuture<'static, Result<PathBuf, String>>;

/// Runs `job` in process `pid` of `pod` with the interpreter `executable` has; `debugpy` is
/// awaited for a directory holding a `debugpy` package when the target has none.
pub async fn run_job(
    cluster: &Cluster,
    pod: &PodRef,
    pid: u32,
    executable: Option<&str>,
    mut job: Value,
    options: &JobOptions,
    debugpy: Option<DebugpySource>,
) -> Result<JobResult, KubeError> {
    let nonce = label("job");
    if let Some(object) = job.as_object_mut() {
        object.insert("nonce".into(), Value::String(nonce.clone()));
    }
    let kind = job["kind"].as_str().unwrap_or("job").to_string();
    let agent = payload::agent_tar()?;
    let request = json!({
        "op": "job",
        "pid": pid,
        "job": job,
        "bootstrap": borescope_pyagent::jobs::bootstrap("__BORESCOPE_DIR_JSON__", &nonce),
        "pending_call": borescope_pyagent::jobs::pending_call_source(RUN_PY_MARKER),
        "payload_bytes": agent.len(),
        "pickup_timeout_ms": options.pickup_timeout.as_millis() as u64,
        "run_timeout_ms": options.run_timeout.as_millis() as u64,
        "withdraw": options.withdraw,
        "keep_dir": options.keep_dir,
        "label": label(&kind),
        "debugpy_on_request": debugpy.is_some(),
        "sources": options.sources,
    });
    let shipping_error = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let on_need = debugpy.map(|source| {
        let shipping_error = shipping_error.clone();
        let making: futures::future::BoxFuture<'static, Vec<u8>> = Box::pin(async move {
            match source.await.map_err(KubeError::Pod).and_then(|dir| payload::debugpy_tar(&dir)) {
                Ok(bytes) => bytes.as_ref().clone(),
                Err(error) => {
                    if let Ok(mut slot) = shipping_error.lock() {
                        *slot = Some(error.to_string());
                    }
                    Vec::new()
                }
            }
        });
        making
    });
    // The target's own interpreter; its path as `ps` read it when another user's
    // `/proc/PID/exe` cannot be followed.
    let mut interpreters = vec![format!("/proc/{pid}/exe")];
    interpreters.extend(executable.map(str::to_string));
    let timeout = options.pickup_timeout * 2 + options.run_timeout + Duration::from_secs(20);
    let answer = podexec::run(cluster, pod, &interpreters, Exchange { request, payload: agent, on_need, timeout }).await?;
    if answer["ok"] != true {
        return Err(job_refused(pod, pid, &answer));
    }
    let status = answer["status"].clone();
    if status["state"] == "failed" {
        let mut error = status["error"].as_str().unwrap_or("unknown error").to_string();
        for line in status["traceback"].as_str().unwrap_or_default().lines() {
            error.push_str("\n  ");
            error.push_str(line);
        }
        return Err(KubeError::Pod(format!("borescope's code in pid {pid} of pod {pod} failed: {error}")));
    }
    if status["state"] == "no_debugpy" {
        let executable = status["executable"].as_str().unwrap_or("python3");
        let why = shipping_error
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .unwrap_or_else(|| "shipping debugpy was turned off (--no-ship-debugpy)".into());
        return Err(KubeError::Pod(format!(
            "pid {pid} in pod {pod} (`{executable}`) cannot import debugpy, and borescope could not provide a copy: {why}\nhint: add debugpy to the image, or let borescope ship its copy in"
        )));
    }
    let sources = answer["sources"].as_str().and_then(|text| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    });
    if let Some(error) = answer["page_error"].as_str() {
        tracing::warn!(%pod, pid, %error, "the pending call's page was not unmapped");
    }
    Ok(JobResult {
        dir: answer["dir"].as_str().unwrap_or_default().to_string(),
        status,
        shipped_debugpy: answer["shipped_debugpy"] == true,
        sources,
        method: serde_json::from_value(answer["method"].clone()).ok().flatten(),
    })
}

/// The error for a job the in-pod program could not run, by its `kind`.
fn job_refused(pod: &PodRef, pid: u32, answer: &Value) -> KubeError {
    let error = answer["error"].as_str().unwrap_or_default();
    let python = answer["python"].as_str().unwrap_or("?");
    match answer["kind"].as_str().unwrap_or_default() {
        "gone" => KubeError::Input(format!("there is no process {pid} in pod {pod} (any more)\nhint: `borescope pods` lists its processes")),
        "version" => KubeError::Pod(format!("pid {pid} in pod {pod} runs Python {python}, and borescope attaches to Python 3.9 and newer")),
        "disabled" => KubeError::Pod(format!(
            "remote debugging is disabled in pid {pid} of pod {pod}: {}\nhint: it was started with `-X disable-remote-debug` or PYTHON_DISABLE_REMOTE_DEBUG; remove that from the container's command or environment",
            answer["why"].as_str().unwrap_or(error)
        )),
        "traced" => KubeError::Pod(format!(
            "pid {pid} in pod {pod} is already traced by pid {} (`{}`), and a process has only one tracer; on Python {python} borescope needs to trace it for a moment\nhint: detach that debugger or tracer first",
            answer["tracer_pid"],
            answer["tracer_comm"].as_str().unwrap_or("?")
        )),
        "no_symbols" => KubeError::Pod(format!(
            "cannot attach to pid {pid} in pod {pod} (Python {python}): {error}\nhint: before 3.14 borescope needs an interpreter that exports Py_AddPendingCall and PyRun_SimpleString (a libpython, or an executable linked with exported symbols); run the program on such a build, or on Python 3.14+"
        )),
        "unsupported_arch" => KubeError::Pod(format!(
            "cannot attach to pid {pid} in pod {pod} (Python {python}): {error}\nhint: on any architecture Python 3.14+ works through PEP 768"
        )),
        "no_ctypes" => KubeError::Pod(format!(
            "cannot attach to pid {pid} in pod {pod}: {error}\nhint: add ctypes to the image (the standard library's `_ctypes` extension module and libffi, e.g. Debian's libpython{}-stdlib), or run Python 3.14+ (PEP 768 needs no ctypes)",
            python.split('.').take(2).collect::<Vec<_>>().join(".")
        )),
        "queue_full" => KubeError::Pod(format!("cannot attach to pid {pid} in pod {pod}: {error}\nhint: try again once the program has run the calls it has queued")),
        "permission" => KubeError::Pod(permission(pod, pid, error, answer)),
        "blocked" => KubeError::Pod(blocked(pod, pid, answer)),
        "still_running" => KubeError::Pod(format!(
            "the code borescope injected into pid {pid} of pod {pod} is still running after {:.0}s; it will finish on its own and its result will be discarded",
            answer["seconds"].as_f64().unwrap_or_default()
        )),
        "inject_failed" if answer["method"] == "ptrace" => {
            KubeError::Pod(format!("borescope could not schedule its code in pid {pid} of pod {pod}; the process was restored and left running: {error}"))
        }
        _ => KubeError::Pod(format!("borescope's program in pod {pod} failed: {error}")),
    }
}

/// Why the kernel refused to let the in-pod program write into (PEP 768) or trace (ptrace) the
/// target, and the fix.
fn permission(pod: &PodRef, pid: u32, error: &str, answer: &Value) -> String {
    let facts = &answer["facts"];
    let ptrace = answer["method"] == "ptrace";
    let cap_eff = facts["cap_eff"].as_str().and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok()).unwrap_or(0);
    let has_ptrace = cap_eff & (1 << CAP_SYS_PTRACE) != 0;
    let yama = facts["yama_ptrace_scope"].as_i64();
    let seccomp = facts["seccomp"].as_i64();
    let (uid, target_uid) = (facts["uid"].as_i64(), facts["target_uid"].as_i64());
    let container = pod.container.as_deref().unwrap_or("the container");
    let add_ptrace = format!(
        "add `securityContext.capabilities.add: [\"SYS_PTRACE\"]` to container {container} (the pod restarts; Pod Security \"baseline\" forbids it)"
    );
    let refused = if ptrace { "ptrace" } else { "process_vm_writev" };
    let (reason, hint) = if yama == Some(3) {
        ("Yama ptrace_scope is 3 on the node: no process may attach to another".to_string(), "only lowering the node's kernel.yama.ptrace_scope helps".to_string())
    } else if uid != target_uid && !has_ptrace {
        (format!("borescope's program runs as uid {} and pid {pid} as uid {}, without CAP_SYS_PTRACE", uid.unwrap_or(-1), target_uid.unwrap_or(-1)), add_ptrace)
    } else if matches!(yama, Some(1) | Some(2)) && !has_ptrace {
        (format!("Yama ptrace_scope is {} on the node and the container lacks CAP_SYS_PTRACE (a process started by exec is never the target's ancestor)", yama.unwrap_or_default()), add_ptrace)
    } else if seccomp == Some(2) && ptrace {
        // containerd's RuntimeDefault allows ptrace (not process_vm_writev): a stricter profile.
        (
            format!("the container's seccomp profile refuses ptrace{}", if has_ptrace { " even with CAP_SYS_PTRACE" } else { "" }),
            format!("run the pod with a seccomp profile that allows ptrace (containerd's RuntimeDefault does) or `seccompProfile: {{type: Unconfined}}`; if the profile allows ptrace only with CAP_SYS_PTRACE, {add_ptrace}"),
        )
    } else if seccomp == Some(2) && !has_ptrace {
        (format!("the container's seccomp profile refuses {refused} without CAP_SYS_PTRACE (containerd's RuntimeDefault before 1.7 does)"), format!("{add_ptrace}; or run the pod with seccompProfile Unconfined"))
    } else if ptrace {
        ("the kernel refused to let borescope trace it".to_string(), add_ptrace)
    } else {
        ("the kernel refused access to its memory".to_string(), add_ptrace)
    };
    format!("cannot attach to pid {pid} in pod {pod}: {reason} ({error})\nhint: {hint}")
}

/// Where the target's threads are when none picked the job up.
fn blocked(pod: &PodRef, pid: u32, answer: &Value) -> String {
    let waited = answer["waited_ms"].as_f64().unwrap_or_default() / 1000.0;
    let mut text = format!("pid {pid} in pod {pod} did not run Python code for {waited:.1}s, so it never picked up borescope's request");
    for thread in answer["threads"].as_array().into_iter().flatten().take(8) {
        let wchan = thread["wchan"].as_str().filter(|w| !w.is_empty() && *w != "0");
        text.push_str(&format!(
            "\n  thread {} `{}`: {}",
            thread["tid"],
            thread["name"].as_str().unwrap_or("?"),
            match wchan {
                Some(wchan) => format!("waits in the kernel in `{wchan}`"),
                None => "busy outside Python code (a C extension or a long call)".into(),
            }
        ));
    }
    let ptrace = answer["method"] == "ptrace";
    if ptrace && answer["withdrawn"] == true {
        text.push_str("\nborescope cannot take a pending call back: it stays queued, and when the main thread runs Python again it only removes borescope's files (the 4 KB page holding it stays mapped)");
    }
    text.push_str("\nhint: Python runs injected code only between bytecodes");
    text.push_str(if ptrace { ", and before 3.14 only in the main thread" } else { "" });
    text.push_str("; attach while the program is busy (e.g. send it a request)");
    text
}

/// Runs `code` in `pid` and brings back its output and traceback.
pub async fn exec_code(cluster: &Cluster, pod: &PodRef, pid: u32, code: &str, filename: &str, options: &JobOptions, max_output: usize) -> Result<ExecReport, KubeError> {
    let started = Instant::now();
    let job = json!({"kind": "exec", "code": code, "filename": filename, "max_output": max_output});
    let result = run_job(cluster, pod, pid, None, job, options, None).await?;
    Ok(ExecReport::from_status(pid, &result.status, started.elapsed().as_millis() as u64))
}

/// debugpy listening inside a pod's process.
#[derive(Debug, Clone)]
pub struct PodListener {
    /// The pod and container.
    pub pod: PodRef,
    /// The process, as the container sees it.
    pub pid: u32,
    /// debugpy's port inside the pod (on its 127.0.0.1).
    pub port: u16,
    /// The job's status: python, executable, debugpy, cwd, runtime_dirs, main, thread.
    pub status: Value,
    /// borescope's directory in the container (removed by detach).
    pub dir: String,
    /// True when borescope shipped debugpy in.
    pub shipped: bool,
    /// The program's sources (gzip'd tar), for breakpoint checks and listings.
    pub sources: Option<Vec<u8>>,
    /// How debugpy was started (PEP 768, or a pending call scheduled with ptrace).
    pub method: Option<AttachMethod>,
}

/// Starts debugpy in `pid` (127.0.0.1, a random port, `token` required).
pub async fn start_debugpy(
    cluster: &Cluster,
    pod: &PodRef,
    pid: u32,
    executable: Option<&str>,
    token: Option<&str>,
    pickup_timeout: Duration,
    debugpy: Option<DebugpySource>,
) -> Result<PodListener, KubeError> {
    let options = JobOptions { pickup_timeout, run_timeout: Duration::from_secs(30), withdraw: true, keep_dir: true, sources: true };
    let result = run_job(cluster, pod, pid, executable, json!({"kind": "listen", "token": token}), &options, debugpy).await?;
    if result.status["state"] != "listening" {
        return Err(KubeError::Pod(format!("debugpy did not start in pid {pid} of pod {pod}: {}", result.status)));
    }
    let port = result.status["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
    Ok(PodListener {
        pod: pod.clone(),
        pid,
        port,
        status: result.status,
        dir: result.dir,
        shipped: result.shipped_debugpy,
        sources: result.sources,
        method: result.method,
    })
}

/// Stops debugpy and removes borescope's files; `Err` says why it could not (yet).
pub async fn stop_debugpy(cluster: &Cluster, listener: &PodListener, pickup_timeout: Duration) -> Result<(), KubeError> {
    let options = JobOptions { pickup_timeout, run_timeout: Duration::from_secs(10), withdraw: false, keep_dir: false, sources: false };
    run_job(cluster, &listener.pod, listener.pid, None, json!({"kind": "detach", "remove": [listener.dir]}), &options, None).await.map(|_| ())
}

/// Unpacks a listener's sources under `into` (their paths in the container, below it).
pub fn unpack_sources(listener: &PodListener, into: &std::path::Path) -> Result<usize, KubeError> {
    match &listener.sources {
        Some(bytes) => payload::unpack_sources(bytes, into),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borescope_pyagent::jobs::{pending_call_source, string_literal};

    /// The in-pod program fills in run.py's path; the statement must be the very one
    /// borescope-pyagent writes for that path (one source of truth with local attach).
    #[test]
    fn the_in_pod_program_fills_in_the_pending_call_statement_as_pyagent_writes_it() {
        let pod_py = borescope_pyagent::FILES.iter().find(|(path, _)| *path == "borescope_agent/pod.py").map(|(_, text)| *text).unwrap();
        for run_py in ["/tmp/borescope-listen-1f-2a/run.py", "/srv/a \"quoted\" \\ dir/borescope-x/run.py", "/tmp/d\u{e9}j\u{e0} vu/run.py"] {
            let script = format!(
                "import sys\ng = {{'__name__': 'pod'}}\nexec(compile({}, 'pod', 'exec'), g)\nsys.stdout.write(g['pending_call_code']({}, {}))\n",
                string_literal(pod_py),
                string_literal(&pending_call_source(RUN_PY_MARKER)),
                string_literal(run_py),
            );
            let out = std::process::Command::new("python3").args(["-c", &script]).env("PYTHONIOENCODING", "utf-8").output().expect("python3");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout), pending_call_source(run_py), "{run_py}");
        }
    }
}
