//! Which process of a reloading or forking server runs the application.
//!
//! Development servers restart the application in a child process when files change, and
//! production servers fork workers; the parent never runs a request handler, so a breakpoint
//! there never hits. The signals used, strongest first: the environment markers the reloaders
//! set in their child (`WERKZEUG_RUN_MAIN=true` for Werkzeug/Flask, `RUN_MAIN=true` for Django),
//! multiprocessing's spawn command line (uvicorn `--reload` and `--workers` start workers that
//! way), the server's own command line (`uvicorn --reload`, `gunicorn`), and the process tree.

use crate::AttachError;
use borescope_inject::procfs;
use borescope_model::ProcessRole;
pub use borescope_model::roles::{classify, ProcessFacts, Role};

/// Reads the role facts of `pid` from /proc.
pub fn read_facts(pid: u32) -> Option<ProcessFacts> {
    let stat = procfs::stat(pid).ok()?;
    Some(facts_with_environment(pid, stat.ppid, procfs::cmdline(pid).ok()?))
}

/// The facts of a process whose parent and command line are already known; only its
/// environment is read.
pub fn facts_with_environment(pid: u32, ppid: u32, command: Vec<String>) -> ProcessFacts {
    let env = procfs::environ(pid).unwrap_or_default();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    ProcessFacts {
        pid,
        ppid,
        command,
        werkzeug_run_main: var("WERKZEUG_RUN_MAIN"),
        django_run_main: var("RUN_MAIN"),
    }
}

/// Refuses to attach to a reloader, supervisor or helper, naming the worker to use instead.
pub fn refuse_non_worker(pid: u32) -> Result<(), AttachError> {
    let Some(me) = read_facts(pid) else { return Ok(()) };
    let mut family = vec![me.clone()];
    if let Some(parent) = read_facts(me.ppid) {
        family.push(parent);
    }
    let children: Vec<ProcessFacts> = procfs::pids()
        .into_iter()
        .filter(|p| procfs::stat(*p).is_ok_and(|s| s.ppid == pid))
        .filter_map(read_facts)
        .collect();
    family.extend(children.iter().cloned());
    let roles = classify(&family);
    let Some(found) = roles.get(&pid) else { return Ok(()) };
    let workers: Vec<String> = children
        .iter()
        .filter(|c| roles.get(&c.pid).is_some_and(|r| r.role == ProcessRole::Worker))
        .map(|c| c.pid.to_string())
        .collect();
    let what = match found.role {
        ProcessRole::Worker => return Ok(()),
        ProcessRole::Reloader => format!("the {} reloader: it restarts the application in a child process when files change, and no request runs in it", found.server),
        ProcessRole::Supervisor => format!("the {} supervisor: it starts and watches worker processes, and no request runs in it", found.server),
        ProcessRole::Helper => format!("a {} helper process, not the application", found.server),
    };
    let hint = match workers.as_slice() {
        [] => "`borescope ps` shows the process that runs the application".to_string(),
        [one] => format!("attach to its worker instead: `borescope attach {one}`"),
        many => format!("attach to one of its workers instead ({}): `borescope attach {}`", many.join(", "), many[0]),
    };
    Err(AttachError::WrongProcess(format!("pid {pid} is {what}\nhint: {hint}")))
}

