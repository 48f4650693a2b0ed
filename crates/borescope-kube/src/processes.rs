//! The Python processes of one container, read by the in-pod program from the container's
//! `/proc`, with the facts local `ps` shows: version, CPU (two samples), memory, ports, the
//! role in a reloading or forking server (decided as for local processes), and whether attach
//! can work or why not.

use crate::podexec::{self, Exchange};
use crate::{Cluster, KubeError, PodRef};
use borescope_model::roles::{self, ProcessFacts};
use borescope_model::{ProcessRole, PythonProcess};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// One process as the in-pod program reports it.
#[derive(Debug, Clone, Deserialize)]
struct Reported {
    pid: u32,
    #[serde(default)]
    ppid: u32,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    command: Vec<String>,
    #[serde(default)]
    exe: Option<String>,
    #[serde(default)]
    rss_bytes: Option<u64>,
    #[serde(default)]
    cpu_percent: Option<f64>,
    #[serde(default)]
    python: Option<String>,
    #[serde(default)]
    werkzeug_run_main: Option<String>,
    #[serde(default)]
    django_run_main: Option<String>,
    #[serde(default)]
    remote_debug_disabled: Option<String>,
    #[serde(default)]
    ports: Vec<u16>,
}

/// A container's Python processes.
#[derive(Debug, Clone)]
pub struct ContainerProcesses {
    /// The container.
    pub pod: PodRef,
    /// Python processes, parents first.
    pub processes: Vec<PythonProcess>,
    /// Each process's interpreter path in the container (pid → exe).
    pub executables: Vec<(u32, String)>,
    /// What the program saw of its own privileges (capabilities, seccomp, Yama).
    pub privileges: Value,
}

impl ContainerProcesses {
    /// The interpreter of `pid` in the container.
    pub fn executable(&self, pid: u32) -> Option<&str> {
        self.executables.iter().find(|(p, _)| *p == pid).map(|(_, e)| e.as_str())
    }
}

/// Interpreters tried to run the listing program: the container's own command when it is a
/// Python, then the usual names.
pub fn listing_interpreters(container_command: Option<&str>) -> Vec<String> {
    let mut tried = Vec::new();
    if let Some(command) = container_command.filter(|c| c.rsplit('/').next().is_some_and(|n| n.starts_with("python"))) {
        tried.push(command.to_string());
    }
    for name in ["python3", "python", "/usr/local/bin/python3", "/usr/bin/python3"] {
        if !tried.iter().any(|t| t == name) {
            tried.push(name.to_string());
        }
    }
    tried
}

/// Lists the Python processes of `pod`'s container, sampling CPU over `interval`.
pub async fn list(cluster: &Cluster, pod: &PodRef, container_command: Option<&str>, interval: Duration) -> Result<ContainerProcesses, KubeError> {
    let answer = podexec::run(
        cluster,
        pod,
        &listing_interpreters(container_command),
        Exchange {
            request: json!({"op": "ps", "interval_ms": interval.as_millis() as u64}),
            payload: Vec::new(),
            on_need: None,
            timeout: Duration::from_secs(20) + interval,
        },
    )
    .await?;
    if answer["ok"] != true {
        return Err(KubeError::Pod(format!(
            "cannot list the processes of pod {pod}: {}",
            answer["error"].as_str().unwrap_or("the program failed")
        )));
    }
    let reported: Vec<Reported> = serde_json::from_value(answer["processes"].clone())
        .map_err(|e| KubeError::Pod(format!("cannot read the process list of pod {pod}: {e}")))?;
    Ok(ContainerProcesses {
        pod: pod.clone(),
        executables: reported.iter().filter_map(|r| Some((r.pid, r.exe.clone()?))).collect(),
        processes: describe(&reported),
        privileges: answer["self"].clone(),
    })
}

/// Python processes with roles and attachability, parents first.
fn describe(reported: &[Reported]) -> Vec<PythonProcess> {
    // borescope's own programs (another command's listing or job) are not the application.
    let python: Vec<&Reported> = reported
        .iter()
        .filter(|r| r.python.is_some() && !r.command.iter().any(|a| a.contains("\"borescope-pod\"")))
        .collect();
    let facts: Vec<ProcessFacts> = python
        .iter()
        .map(|r| ProcessFacts {
            pid: r.pid,
            ppid: r.ppid,
            command: r.command.clone(),
            werkzeug_run_main: r.werkzeug_run_main.clone(),
            django_run_main: r.django_run_main.clone(),
        })
        .collect();
    let found = roles::classify(&facts);
    let workers_of = |parent: u32| -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.ppid == parent && found.get(&f.pid).is_some_and(|r| r.role == ProcessRole::Worker))
            .map(|f| f.pid.to_string())
            .collect()
    };
    let mut processes: Vec<PythonProcess> = python
        .iter()
        .map(|r| {
            let version = r.python.clone().unwrap_or_default();
            let mut why_not = version_problem(&version).or_else(|| r.remote_debug_disabled.as_ref().map(|why| format!("remote debugging disabled: {why}")));
            let role = found.get(&r.pid);
            if let Some(role) = role.filter(|role| role.role != ProcessRole::Worker) {
                let what = match role.role {
                    ProcessRole::Reloader => "reloader",
                    ProcessRole::Supervisor => "supervisor",
                    _ => "helper",
                };
                let instead = match workers_of(r.pid).as_slice() {
                    [] => String::new(),
                    pids => format!("; attach to its worker {}", pids.join(" or ")),
                };
                why_not.get_or_insert(format!("the {} {what}, no request runs in it{instead}", role.server));
            }
            PythonProcess {
                pid: r.pid,
                ppid: r.ppid,
                user: r.user.clone().or_else(|| r.uid.map(|u| u.to_string())).unwrap_or_default(),
                python: Some(version),
                python_source: Some("file_name".into()),
                cpu_percent: r.cpu_percent,
                rss_bytes: r.rss_bytes,
                command: r.command.clone(),
                attachable: why_not.is_none(),
                method: why_not.is_none().then(|| "pep768".into()),
                why_not,
                role: role.map(|r| r.role),
                server: role.map(|r| r.server.to_string()),
                ports: r.ports.clone(),
                // Every process here is in the container; its pids are the container's own.
                container: false,
                pid_inside: None,
            }
        })
        .collect();
    processes.sort_by_key(|p| (p.ppid != 0 && python.iter().any(|r| r.pid == p.ppid), p.pid));
    processes
}

/// Why a Python `version` (`3.14`, `3.12.3`) cannot be attached, if it cannot.
fn version_problem(version: &str) -> Option<String> {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(3), Some(minor)) if minor >= 14 => None,
        (Some(_), Some(_)) => Some(format!("Python {version}: attaching in a pod needs 3.14+ (PEP 768)")),
        _ => Some("unknown Python version".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(pid: u32, ppid: u32, command: &str, python: Option<&str>) -> Reported {
        Reported {
            pid,
            ppid,
            uid: Some(0),
            user: Some("root".into()),
            command: command.split(' ').map(String::from).collect(),
            exe: Some("/usr/bin/python3.14".into()),
            rss_bytes: Some(1 << 20),
            cpu_percent: Some(0.0),
            python: python.map(String::from),
            werkzeug_run_main: None,
            django_run_main: None,
            remote_debug_disabled: None,
            ports: vec![],
        }
    }

    #[test]
    fn the_uvicorn_reloader_is_refused_with_its_worker_named() {
        let processes = describe(&[
            reported(1, 0, "python3 -m uvicorn asgi:app --reload --port 8081", Some("3.14")),
            reported(7, 1, "/usr/bin/python3.14 -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5) --multiprocessing-fork", Some("3.14")),
            reported(9, 0, "sleep 100", None),
        ]);
        assert_eq!(processes.len(), 2);
        assert_eq!(processes[0].why_not.as_deref(), Some("the uvicorn reloader, no request runs in it; attach to its worker 7"));
        assert!(processes[1].attachable);
        assert_eq!(processes[1].role, Some(ProcessRole::Worker));
    }

    #[test]
    fn old_pythons_and_disabled_remote_debugging_are_not_attachable() {
        let mut disabled = reported(2, 0, "python3 app.py", Some("3.14"));
        disabled.remote_debug_disabled = Some("PYTHON_DISABLE_REMOTE_DEBUG is set".into());
        let processes = describe(&[reported(1, 0, "python3 app.py", Some("3.12")), disabled]);
        assert_eq!(processes[0].why_not.as_deref(), Some("Python 3.12: attaching in a pod needs 3.14+ (PEP 768)"));
        assert_eq!(processes[1].why_not.as_deref(), Some("remote debugging disabled: PYTHON_DISABLE_REMOTE_DEBUG is set"));
    }
}
