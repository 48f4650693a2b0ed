//! Named sessions, and their records on disk.
//!
//! A record (`sessions/<name>.json`, written atomically) exists while a session is live. A
//! daemon that starts and finds records left behind knows the previous daemon died: it ends
//! any program of theirs still running (checked by pid and start time, so a reused pid is never
//! touched) and remembers the sessions as lost, so the next command on them says what happened.

use borescope_attach::listen::DebugpyListener;
use crate::pod::PodAttachment;
use borescope_debugger::session::{LaunchSpec, Session};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What is written to disk for a live session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Session name.
    pub name: String,
    /// Debuggee pid.
    pub pid: u32,
    /// Debuggee start time (field 22 of `/proc/PID/stat`), to recognise pid reuse.
    pub start_time: Option<u64>,
    /// Whether the session attached to a process it did not start (never killed).
    pub attached: bool,
    /// Command line.
    pub command: Vec<String>,
}

/// What attach set up inside a process, undone when its session stops.
pub enum Attachment {
    /// debugpy in a process of this machine.
    Local(Box<DebugpyListener>),
    /// debugpy in a pod's process, and the port-forward to it.
    Pod(Box<PodAttachment>),
}

/// All sessions of this daemon.
#[derive(Default)]
pub struct Registry {
    sessions: HashMap<String, Arc<Session>>,
    /// What attach started inside processes, by session (undone when the session stops).
    listeners: HashMap<String, Attachment>,
    /// How each launched session was started, for `restart`.
    launches: HashMap<String, LaunchSpec>,
    starting: HashSet<String>,
    lost: HashMap<String, String>,
    dir: PathBuf,
}

impl Registry {
    /// A registry keeping records in `dir`; reads (and clears) records a dead daemon left.
    pub fn new(dir: PathBuf) -> Registry {
        let mut registry = Registry {
            dir,
            ..Registry::default()
        };
        registry.recover();
        registry
    }

    /// The session called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Session>> {
        self.sessions.get(name).cloned()
    }

    /// Why `name` is gone, if a previous daemon lost it.
    pub fn lost(&self, name: &str) -> Option<&str> {
        self.lost.get(name).map(String::as_str)
    }

    /// Reserves a name for a session being started. `Err` says why it is not free.
    pub fn reserve(&mut self, name: &str) -> Result<(), String> {
        if self.starting.contains(name) {
            return Err(format!("session `{name}` is being started by another command"));
        }
        if let Some(existing) = self.sessions.get(name)
            && existing.is_alive() {
                let info = existing.info();
                let pid = info.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                return Err(format!(
                    "session `{name}` is already debugging `{}`{pid}; end it with `borescope stop --session {name}` or choose another --session",
                    info.command.join(" "),
                ));
            }
        self.starting.insert(name.to_string());
        Ok(())
    }

    /// Releases a reservation (start failed).
    pub fn release(&mut self, name: &str) {
        self.starting.remove(name);
    }

    /// Registers a started session and writes its record.
    pub fn insert(&mut self, name: &str, session: Session, attached: bool) {
        self.starting.remove(name);
        self.lost.remove(name);
        let info = session.info();
        let record = SessionRecord {
            name: name.to_string(),
            pid: info.pid.unwrap_or_default(),
            start_time: info.pid.and_then(start_time),
            attached,
            command: info.command,
        };
        if let Err(error) = write_record(&self.dir, &record) {
            tracing::warn!(%error, "cannot write session record");
        }
        self.sessions.insert(name.to_string(), Arc::new(session));
    }

    /// Registers a session borescope started, with how it was started (for `restart`).
    pub fn insert_launched(&mut self, name: &str, session: Session, spec: LaunchSpec) {
        self.insert(name, session, false);
        self.launches.insert(name.to_string(), spec);
    }

    /// How the session `name` was started, if borescope started it.
    pub fn launch_spec(&self, name: &str) -> Option<LaunchSpec> {
        self.launches.get(name).cloned()
    }

    /// Takes a session out for `restart`: removed, and its name reserved for the new run.
    pub fn take_for_restart(&mut self, name: &str) -> Option<Arc<Session>> {
        let session = self.remove(name)?;
        self.starting.insert(name.to_string());
        Some(session)
    }

    /// Registers a session attached to a running process, with what attach set up in it.
    pub fn insert_attached(&mut self, name: &str, session: Session, listener: Attachment) {
        self.insert(name, session, true);
        self.listeners.insert(name.to_string(), listener);
    }

    /// What attach set up for `name`, handed over for undoing.
    pub fn take_listener(&mut self, name: &str) -> Option<Attachment> {
        self.listeners.remove(name)
    }

    /// Removes a session and its record.
    pub fn remove(&mut self, name: &str) -> Option<Arc<Session>> {
        let _ = std::fs::remove_file(record_path(&self.dir, name));
        self.lost.remove(name);
        self.launches.remove(name);
        self.sessions.remove(name)
    }

    /// All sessions, by name.
    pub fn all(&self) -> Vec<Arc<Session>> {
        let mut names: Vec<&String> = self.sessions.keys().collect();
        names.sort();
        names.into_iter().filter_map(|n| self.sessions.get(n).cloned()).collect()
    }

    /// Names of sessions a previous daemon lost.
    pub fn lost_names(&self) -> Vec<(String, String)> {
        let mut lost: Vec<(String, String)> = self.lost.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        lost.sort();
        lost
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    fn recover(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                let _ = std::fs::remove_file(&path); // a half-written temporary
                continue;
            }
            let record: Option<SessionRecord> = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let _ = std::fs::remove_file(&path);
            let Some(record) = record else { continue };
            let alive = record.start_time.is_some() && start_time(record.pid) == record.start_time;
            let what = if record.attached && record.pid == 0 {
                format!(
                    "session `{}` (`{}`) was connected when the previous session daemon stopped unexpectedly; attach again",
                    record.name,
                    record.command.join(" ")
                )
            } else if record.attached {
                format!(
                    "session `{}` was attached to pid {} when the previous session daemon stopped unexpectedly; attach again",
                    record.name, record.pid
                )
            } else {
                if alive {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(record.pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                format!(
                    "session `{}` ended when the previous session daemon stopped unexpectedly (its program `{}`, pid {}, was ended); start it again",
                    record.name,
                    record.command.join(" "),
                    record.pid
                )
            };
            tracing::warn!("{what}");
            self.lost.insert(record.name, what);
        }
    }
}

fn record_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Writes a record atomically (temporary file, then rename).
fn write_record(dir: &Path, record: &SessionRecord) -> std::io::Result<()> {
    let final_path = record_path(dir, &record.name);
    let temp = dir.join(format!(".{}.tmp", record.name));
    std::fs::write(&temp, serde_json::to_vec(record)?)?;
    std::fs::rename(&temp, &final_path)
}

/// The process's start time (with the pid, it identifies the process).
pub fn start_time(pid: u32) -> Option<u64> {
    borescope_inject::procfs::stat(pid).ok().map(|s| s.start_time)
}
