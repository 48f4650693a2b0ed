//! `borescope ps`: the Python processes on this machine, read from `/proc`.
//!
//! A process counts as Python when a file it maps is an interpreter or `libpython` (so
//! embedded interpreters such as uWSGI count, and `python` in an argument does not). Its
//! version comes from that file ([`borescope_inject::runtime::identify`]); whether it can be
//! attached is checked the way attach checks it (version, the remote-debugging switch,
//! read access to its memory); CPU use is measured over a short interval between two samples.

use crate::roles::{self, ProcessFacts};
use borescope_inject::procfs::{self, Namespace};
use borescope_inject::runtime::{self, VersionSource};
use borescope_inject::{InjectError, PythonRuntime, RemoteMemory};
use borescope_model::{Notice, ProcessList, ProcessRole, PythonProcess, PS_SCHEMA};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct PsOptions {
    /// Only processes whose command line contains this.
    pub name: Option<String>,
    /// Only processes listening on this TCP port.
    pub port: Option<u16>,
    /// Time between the two CPU samples.
    pub interval: Duration,
}

struct Candidate {
    pid: u32,
    facts: ProcessFacts,
    entry: PythonProcess,
    ticks: Option<u64>,
}

/// Lists Python processes, parents before their children.
pub fn list(options: &PsOptions) -> ProcessList {
    let me = std::process::id();
    let mut candidates: Vec<Candidate> = procfs::pids().into_iter().filter(|p| *p != me).filter_map(inspect).collect();
    candidates.retain(|c| {
        let name_ok = options.name.as_deref().is_none_or(|n| c.entry.command.join(" ").contains(n));
        let port_ok = options.port.is_none_or(|p| c.entry.ports.contains(&p));
        name_ok && port_ok
    });
    sample_cpu(&mut candidates, options.interval);
    let facts: Vec<ProcessFacts> = candidates.iter().map(|c| c.facts.clone()).collect();
    let roles = roles::classify(&facts);
    let workers = |parent: u32| -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.ppid == parent && roles.get(&f.pid).is_some_and(|r| r.role == ProcessRole::Worker))
            .map(|f| f.pid.to_string())
            .collect()
    };
    for candidate in &mut candidates {
        let Some(role) = roles.get(&candidate.pid) else { continue };
        candidate.entry.role = Some(role.role);
        candidate.entry.server = Some(role.server.to_string());
        // attach refuses these (no request runs in them): say where to go instead.
        let what = match role.role {
            ProcessRole::Worker => continue,
            ProcessRole::Reloader => "reloader",
            ProcessRole::Supervisor => "supervisor",
            ProcessRole::Helper => "helper",
        };
        let instead = match workers(candidate.pid).as_slice() {
            [] => String::new(),
            pids => format!("; attach to its worker {}", pids.join(" or ")),
        };
        if candidate.entry.attachable {
            candidate.entry.attachable = false;
            candidate.entry.why_not = Some(format!("the {} {what}, no request runs in it{instead}", role.server));
        }
    }
    let mut notices = Vec::new();
    let unreadable = candidates.iter().filter(|c| c.entry.python.is_none() && !c.entry.attachable).count();
    if unreadable > 0 {
        notices.push(Notice::with_hint(
            format!("{} could not be inspected", borescope_model::wording::counted(unreadable as u64, "process", "processes")),
            "their `why` says what access is missing; run borescope as root (or as their user) to attach",
        ));
    }
    ProcessList {
        schema: PS_SCHEMA.into(),
        processes: tree_order(candidates.into_iter().map(|c| c.entry).collect()),
        notices,
    }
}

/// `None` when the process is not Python (or is gone).
fn inspect(pid: u32) -> Option<Candidate> {
    let stat = procfs::stat(pid).ok()?;
    if stat.state == 'Z' {
        return None;
    }
    let status = procfs::status(&pid.to_string()).ok()?;
    let command = procfs::cmdline(pid).ok()?;
    if command.is_empty() {
        return None; // kernel thread
    }
    let (python, source, why_not) = match runtime::identify(pid) {
        Ok(identity) => {
            let version = identity.version.map(|v| v.to_string());
            let source = match identity.source {
                VersionSource::DebugOffsets => "debug_offsets",
                VersionSource::PyVersionSymbol => "py_version",
                VersionSource::FileName => "file_name",
            };
            (version, Some(source.to_string()), attach_method(pid, &identity))
        }
        // Its files are out of our reach: list it when its name says Python, with the reason.
        Err(InjectError::Permission { diagnosis, .. }) if looks_like_python(&status.name, &command) => {
            let first = diagnosis.lines().next().unwrap_or_default();
            (None, None, Err(format!("permission: {first}")))
        }
        Err(_) => return None,
    };
    let container = procfs::shares_namespace(pid, Namespace::Mount) == Some(false)
        || procfs::root_link(pid).is_ok_and(|r| r != std::path::Path::new("/"));
    let pid_inside = status.pid_inside().filter(|inside| *inside != pid);
    let entry = PythonProcess {
        pid,
        ppid: stat.ppid,
        user: procfs::user_name(status.uids[0]),
        python,
        python_source: source,
        cpu_percent: None,
        rss_bytes: Some(stat.rss_pages * procfs::page_size()),
        command,
        attachable: why_not.is_ok(),
        method: why_not.as_ref().ok().map(|method| method.to_string()),
        why_not: why_not.err(),
        role: None,
        server: None,
        ports: procfs::listening_ports(pid).unwrap_or_default(),
        container,
        pid_inside,
    };
    let facts = roles::facts_with_environment(pid, stat.ppid, entry.command.clone());
    Some(Candidate { pid, facts, entry, ticks: Some(stat.utime + stat.stime) })
}

fn looks_like_python(name: &str, command: &[String]) -> bool {
    let first = command.first().map(|c| c.rsplit('/').next().unwrap_or(c)).unwrap_or_default();
    name.starts_with("python") || first.starts_with("python")
}

/// How attach would run code in the process (`pep768`, `ptrace`), or why it would fail;
/// checked without writing anything or stopping it.
fn attach_method(pid: u32, identity: &runtime::Identity) -> Result<&'static str, String> {
    let Some(version) = identity.version else {
        return Err("unknown Python version".into());
    };
    let first_line = |error: InjectError| error.to_string().lines().next().unwrap_or_default().to_string();
    if !version.has_remote_debugging() {
        if (version.major, version.minor) < crate::trigger::OLDEST {
            return Err(format!("Python {version}: attaching needs 3.9+"));
        }
        return borescope_inject::pending_call::plan(pid, version).map(|_| "ptrace").map_err(first_line);
    }
    let memory = RemoteMemory::new(pid);
    let result = PythonRuntime::open(pid, &memory).and_then(|rt| {
        let interp = rt.interpreter(&memory)?;
        rt.remote_debug_enabled(&memory, interp)
    });
    match result {
        Ok(true) => Ok("pep768"),
        Ok(false) => Err(format!("remote debugging disabled: {}", borescope_inject::pep768::explain_disabled(pid))),
        Err(error) => Err(first_line(error)),
    }
}

fn sample_cpu(candidates: &mut [Candidate], interval: Duration) {
    if interval.is_zero() || candidates.is_empty() {
        return;
    }
    let started = Instant::now();
    std::thread::sleep(interval);
    let elapsed = started.elapsed().as_secs_f64();
    let ticks_per_second = procfs::clock_ticks() as f64;
    for candidate in candidates {
        let after = procfs::stat(candidate.pid).ok().map(|s| s.utime + s.stime);
        if let (Some(before), Some(after)) = (candidate.ticks, after) {
            let busy = after.saturating_sub(before) as f64 / ticks_per_second;
            candidate.entry.cpu_percent = Some((busy / elapsed * 1000.0).round() / 10.0);
        }
    }
}

/// Parents first, each followed by its children (by pid), depth-first.
fn tree_order(processes: Vec<PythonProcess>) -> Vec<PythonProcess> {
    let pids: HashSet<u32> = processes.iter().map(|p| p.pid).collect();
    let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (index, process) in processes.iter().enumerate() {
        if pids.contains(&process.ppid) && process.ppid != process.pid {
            children.entry(process.ppid).or_default().push(index);
        } else {
            roots.push(index);
        }
    }
    let mut order = Vec::with_capacity(processes.len());
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(index) = stack.pop() {
        order.push(index);
        if let Some(kids) = children.get(&processes[index].pid) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    let mut slots: Vec<Option<PythonProcess>> = processes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
