//! The session's breakpoints, grouped by file the way DAP's `setBreakpoints` wants them, and
//! the `break` operations every backend shares.

use super::paths::PathMap;
use super::BreakOp;
use crate::DebuggerError;
use borescope_model::wording::counted;
use borescope_model::{BreakpointInfo, BreakpointSpec, BreakpointState, Language};
use std::path::Path;

/// What a `break` operation changed.
#[derive(Debug, Default)]
pub struct BreakChange {
    /// Files whose breakpoints changed.
    pub files: Vec<String>,
    /// Breakpoints removed (id and spec).
    pub removed: Vec<BreakpointInfo>,
    /// The breakpoint added or replaced.
    pub set: Option<u32>,
    /// What changed, in words.
    pub message: Option<String>,
}

/// Every breakpoint of a session, with borescope's stable ids.
#[derive(Debug, Default)]
pub struct BreakpointTable {
    entries: Vec<BreakpointInfo>,
    next_id: u32,
    /// borescope id → stops at that breakpoint so far (for backends whose debugger does not
    /// count them for us).
    hits: std::collections::HashMap<u32, u32>,
}

impl BreakpointTable {
    /// Adds a breakpoint, or replaces the one at the same location; returns its id.
    pub fn set(&mut self, spec: BreakpointSpec) -> u32 {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.spec.location == spec.location) {
            entry.spec = spec;
            entry.state = BreakpointState::Pending;
            self.hits.remove(&entry.id);
            return entry.id;
        }
        self.next_id += 1;
        self.entries.push(BreakpointInfo {
            id: self.next_id,
            spec,
            state: BreakpointState::Pending,
        });
        self.next_id
    }

    /// Removes the breakpoints `remove` selects and returns them.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&BreakpointInfo) -> bool) -> Vec<BreakpointInfo> {
        let mut removed = Vec::new();
        let hits = &mut self.hits;
        self.entries.retain(|e| {
            if remove(e) {
                hits.remove(&e.id);
                removed.push(e.clone());
                false
            } else {
                true
            }
        });
        removed
    }

    /// Applies a `break` operation (paths relative to `cwd`, files looked up in `paths`'s view).
    pub fn apply(&mut self, op: BreakOp, cwd: &Path, language: Language, paths: &PathMap) -> Result<BreakChange, DebuggerError> {
        let mut change = BreakChange::default();
        match op {
            BreakOp::List => {}
            BreakOp::Clear => {
                change.removed = self.remove_where(|_| true);
                change.message = Some(format!("deleted {}", counted(change.removed.len() as u64, "breakpoint", "breakpoints")));
            }
            BreakOp::Delete(location) => {
                let resolved = paths
                    .resolve(&location, cwd, language)
                    .map(|l| l.file)
                    .unwrap_or_else(|_| cwd.join(&location.file).display().to_string());
                change.removed = self.remove_where(|e| e.spec.location.file == resolved && e.spec.location.line == location.line);
                if change.removed.is_empty() {
                    return Err(DebuggerError::BadCommand(format!(
                        "no breakpoint at `{location}`; `borescope break --list` shows them"
                    )));
                }
                change.message = Some(format!("deleted the breakpoint at {location}"));
            }
            BreakOp::Set(spec) => {
                let location = paths
                    .resolve(&spec.location, cwd, language)
                    .map_err(|p| DebuggerError::BadLocation(vec![p]))?;
                change.files.push(location.file.clone());
                let id = self.set(BreakpointSpec { location, ..spec });
                change.set = Some(id);
                change.message = Some(format!("breakpoint #{id} set"));
            }
        }
        for removed in &change.removed {
            if !change.files.contains(&removed.spec.location.file) {
                change.files.push(removed.spec.location.file.clone());
            }
        }
        Ok(change)
    }

    /// Counts a stop at a breakpoint at `line` of the file `same_file` accepts (the line asked
    /// for, or the one the debugger bound it to) and returns its hit number: the Nth stop there,
    /// or N itself for a `--hit N` breakpoint (the debugger stops only on that one). Logpoints
    /// never stop, so they are not candidates. `None` when no breakpoint is there.
    pub fn record_hit(&mut self, same_file: impl Fn(&str) -> bool, line: u32) -> Option<u32> {
        let entry = self.entries.iter().find(|e| {
            let bound = match e.state {
                BreakpointState::Verified { line } => line,
                _ => e.spec.location.line,
            };
            e.spec.log.is_none() && (e.spec.location.line == line || bound == line) && same_file(&e.spec.location.file)
        })?;
        let count = self.hits.entry(entry.id).or_default();
        *count += 1;
        Some(entry.spec.hit.unwrap_or(*count))
    }

    /// The breakpoint with this id.
    pub fn get(&self, id: u32) -> Option<&BreakpointInfo> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Sets the state of one breakpoint.
    pub fn set_state(&mut self, id: u32, state: BreakpointState) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id == id) {
            entry.state = state;
        }
    }

    /// The breakpoints of one file, in id order.
    pub fn in_file(&self, file: &str) -> Vec<&BreakpointInfo> {
        self.entries.iter().filter(|e| e.spec.location.file == file).collect()
    }

    /// Every file with breakpoints.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = Vec::new();
        for entry in &self.entries {
            if !files.contains(&entry.spec.location.file) {
                files.push(entry.spec.location.file.clone());
            }
        }
        files
    }

    /// Records what the debugger did with the file's breakpoints (same order as `in_file`).
    pub fn update_states(&mut self, file: &str, states: Vec<BreakpointState>) {
        let mut states = states.into_iter();
        for entry in self.entries.iter_mut().filter(|e| e.spec.location.file == file) {
            if let Some(state) = states.next() {
                entry.state = state;
            }
        }
    }

    /// All breakpoints, in id order.
    pub fn all(&self) -> Vec<BreakpointInfo> {
        self.entries.clone()
    }

    /// Number of breakpoints.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
