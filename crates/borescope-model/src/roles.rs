//! Which process of a reloading or forking server runs the application.
//!
//! Development servers restart the application in a child process when files change, and
//! production servers fork workers; the parent never runs a request handler, so a breakpoint
//! there never hits. The signals used, strongest first: the environment markers the reloaders
//! set in their child (`WERKZEUG_RUN_MAIN=true` for Werkzeug/Flask, `RUN_MAIN=true` for Django),
//! multiprocessing's spawn command line (uvicorn `--reload` and `--workers` start workers that
//! way), the server's own command line (`uvicorn --reload`, `gunicorn`), and the process tree.
//!
//! The facts are plain data, read from `/proc` here (attach) or inside a pod (Kubernetes), so
//! both decide roles the same way.

use crate::ProcessRole;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What roles are decided from, for one process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessFacts {
    /// Pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Command line.
    pub command: Vec<String>,
    /// `WERKZEUG_RUN_MAIN` from its environment, if readable.
    pub werkzeug_run_main: Option<String>,
    /// `RUN_MAIN` from its environment, if readable.
    pub django_run_main: Option<String>,
}

impl ProcessFacts {
    fn joined(&self) -> String {
        self.command.join(" ")
    }

    fn mentions(&self, word: &str) -> bool {
        self.command.iter().any(|arg| arg == word || arg.ends_with(&format!("/{word}")) || arg.starts_with(&format!("{word}.")))
    }
}

/// A process's role and the server it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The role.
    pub role: ProcessRole,
    /// `uvicorn`, `werkzeug`, `django`, `gunicorn`, `multiprocessing`, `reloader`.
    pub server: &'static str,
}

/// Roles of the processes in `family` (pids without a recognisable role are absent).
pub fn classify(family: &[ProcessFacts]) -> HashMap<u32, Role> {
    let by_pid: HashMap<u32, &ProcessFacts> = family.iter().map(|p| (p.pid, p)).collect();
    let mut roles = HashMap::new();
    let role = |role, server| Role { role, server };
    for process in family {
        let joined = process.joined();
        let parent = by_pid.get(&process.ppid);
        let found = if joined.contains("multiprocessing.resource_tracker") || joined.contains("multiprocessing.forkserver") {
            Some(role(ProcessRole::Helper, "multiprocessing"))
        } else if joined.contains("spawn_main") || joined.contains("--multiprocessing-fork") {
            let server = if parent.is_some_and(|p| p.mentions("uvicorn")) { "uvicorn" } else { "multiprocessing" };
            Some(role(ProcessRole::Worker, server))
        } else if process.werkzeug_run_main.as_deref() == Some("true") {
            Some(role(ProcessRole::Worker, "werkzeug"))
        } else if process.django_run_main.as_deref() == Some("true") {
            Some(role(ProcessRole::Worker, "django"))
        } else if process.mentions("uvicorn") && process.command.iter().any(|a| a == "--reload") {
            Some(role(ProcessRole::Reloader, "uvicorn"))
        } else if process.mentions("uvicorn") && process.command.iter().any(|a| a == "--workers" || a.starts_with("--workers=")) {
            Some(role(ProcessRole::Supervisor, "uvicorn"))
        } else if process.mentions("gunicorn") {
            if parent.is_some_and(|p| p.mentions("gunicorn")) {
                Some(role(ProcessRole::Worker, "gunicorn"))
            } else {
                Some(role(ProcessRole::Supervisor, "gunicorn"))
            }
        } else {
            None
        };
        if let Some(found) = found {
            roles.insert(process.pid, found);
        }
    }
    // Reloaders that re-run the same command in a child: the parent of a Werkzeug or Django
    // worker, or (when environments are unreadable) a parent with the identical command line.
    for process in family {
        let Some(parent) = by_pid.get(&process.ppid) else { continue };
        if roles.contains_key(&parent.pid) {
            continue;
        }
        let child_role = roles.get(&process.pid).copied();
        match child_role {
            Some(Role { role: ProcessRole::Worker, server }) if server == "werkzeug" || server == "django" => {
                roles.insert(parent.pid, role(ProcessRole::Reloader, server));
            }
            None if !process.command.is_empty() && parent.command == process.command => {
                roles.insert(parent.pid, role(ProcessRole::Reloader, "reloader"));
                roles.insert(process.pid, role(ProcessRole::Worker, "reloader"));
            }
            _ => {}
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pid: u32, ppid: u32, command: &str) -> ProcessFacts {
        ProcessFacts { pid, ppid, command: command.split(' ').map(String::from).collect(), ..ProcessFacts::default() }
    }

    #[test]
    fn uvicorn_reload_parent_and_spawned_worker() {
        let family = [
            facts(10, 1, "/usr/bin/python3 /usr/bin/uvicorn app:app --reload --port 8000"),
            facts(11, 10, "/usr/bin/python3 -c from multiprocessing.resource_tracker import main;main(5)"),
            facts(12, 10, "/usr/bin/python3 -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=6, pipe_handle=8) --multiprocessing-fork"),
        ];
        let roles = classify(&family);
        assert_eq!(roles[&10], Role { role: ProcessRole::Reloader, server: "uvicorn" });
        assert_eq!(roles[&11].role, ProcessRole::Helper);
        assert_eq!(roles[&12], Role { role: ProcessRole::Worker, server: "uvicorn" });
    }

    #[test]
    fn werkzeug_and_django_markers() {
        let mut child = facts(21, 20, "python3 -m flask run --debug");
        child.werkzeug_run_main = Some("true".into());
        let roles = classify(&[facts(20, 1, "python3 -m flask run --debug"), child]);
        assert_eq!(roles[&20], Role { role: ProcessRole::Reloader, server: "werkzeug" });
        assert_eq!(roles[&21], Role { role: ProcessRole::Worker, server: "werkzeug" });
        let mut child = facts(31, 30, "python3 manage.py runserver");
        child.django_run_main = Some("true".into());
        let roles = classify(&[facts(30, 1, "python3 manage.py runserver"), child]);
        assert_eq!(roles[&30].server, "django");
        assert_eq!(roles[&31].role, ProcessRole::Worker);
    }

    #[test]
    fn gunicorn_master_and_workers_and_same_command_children() {
        let roles = classify(&[
            facts(40, 1, "/venv/bin/python /venv/bin/gunicorn app:app -w 2"),
            facts(41, 40, "/venv/bin/python /venv/bin/gunicorn app:app -w 2"),
        ]);
        assert_eq!(roles[&40].role, ProcessRole::Supervisor);
        assert_eq!(roles[&41].role, ProcessRole::Worker);
        let roles = classify(&[facts(50, 1, "python3 serve.py"), facts(51, 50, "python3 serve.py")]);
        assert_eq!(roles[&50].role, ProcessRole::Reloader);
        assert_eq!(roles[&51].role, ProcessRole::Worker);
        assert!(classify(&[facts(60, 1, "python3 app.py")]).is_empty());
    }
}
