//! The session's breakpoints, grouped by file the way DAP's `setBreakpoints` wants them.

use borescope_model::{BreakpointInfo, BreakpointSpec, BreakpointState};

/// Every breakpoint of a session, with borescope's stable ids.
#[derive(Debug, Default)]
pub struct BreakpointTable {
    entries: Vec<BreakpointInfo>,
    next_id: u32,
}

impl BreakpointTable {
    /// Adds a breakpoint, or replaces the one at the same location; returns its id.
    pub fn set(&mut self, spec: BreakpointSpec) -> u32 {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.spec.location == spec.location) {
            entry.spec = spec;
            entry.state = BreakpointState::Pending;
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

    /// Removes breakpoints matching `keep == false`; returns the files that changed.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&BreakpointInfo) -> bool) -> Vec<String> {
        let mut files = Vec::new();
        self.entries.retain(|e| {
            if remove(e) {
                if !files.contains(&e.spec.location.file) {
                    files.push(e.spec.location.file.clone());
                }
                false
            } else {
                true
            }
        });
        files
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
