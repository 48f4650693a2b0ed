//! The session's breakpoints, grouped by file the way DAP's `setBreakpoints` wants them (and
//! function breakpoints apart, as `setFunctionBreakpoints` takes them all at once), and the
//! `break` operations every backend shares.

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
    /// True when function breakpoints were added or removed.
    pub functions: bool,
    /// What changed, in words.
    pub message: Option<String>,
}

/// Every breakpoint of a session, with borescope's stable ids.
#[derive(Debug, Clone, Default)]
pub struct BreakpointTable {
    entries: Vec<BreakpointInfo>,
    next_id: u32,
    /// borescope id → stops at that breakpoint so far (for backends whose debugger does not
    /// count them for us).
    hits: std::collections::HashMap<u32, u32>,
}

impl BreakpointTable {
    /// Adds a breakpoint, or replaces the one at the same location (on the same function);
    /// returns its id.
    pub fn set(&mut self, spec: BreakpointSpec) -> u32 {
        let same = |e: &&mut BreakpointInfo| match &spec.function {
            Some(name) => e.spec.function.as_ref() == Some(name),
            None => e.spec.function.is_none() && e.spec.location == spec.location,
        };
        if let Some(entry) = self.entries.iter_mut().find(same) {
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
                change.removed = self.remove_where(|e| {
                    e.spec.line_location().is_some_and(|l| l.file == resolved && l.line == location.line)
                });
                if change.removed.is_empty() {
                    return Err(DebuggerError::BadCommand(format!(
                        "no breakpoint at `{location}`; `borescope break --list` shows them"
                    )));
                }
                change.message = Some(format!("deleted the breakpoint at {location}"));
            }
            BreakOp::DeleteFunction(name) => {
                change.removed = self.remove_where(|e| e.spec.function.as_deref() == Some(name.as_str()));
                if change.removed.is_empty() {
                    return Err(DebuggerError::BadCommand(format!(
                        "no breakpoint on function `{name}`; `borescope break --list` shows them"
                    )));
                }
                change.message = Some(format!("deleted the breakpoint on function `{name}`"));
            }
            BreakOp::Set(spec) => {
                let id = match (&spec.function, &spec.location) {
                    (Some(name), _) => {
                        check_function_spec(name, &spec)?;
                        change.functions = true;
                        self.set(BreakpointSpec { location: None, ..spec })
                    }
                    (None, Some(location)) => {
                        let location = paths
                            .resolve(location, cwd, language)
                            .map_err(|p| DebuggerError::BadLocation(vec![p]))?;
                        change.files.push(location.file.clone());
                        self.set(BreakpointSpec { location: Some(location), ..spec })
                    }
                    (None, None) => {
                        return Err(DebuggerError::BadCommand("a breakpoint needs FILE:LINE or a function name".into()));
                    }
                };
                change.set = Some(id);
                change.message = Some(format!("breakpoint #{id} set"));
            }
        }
        for removed in &change.removed {
            match removed.spec.line_location() {
                Some(location) if !change.files.contains(&location.file) => change.files.push(location.file.clone()),
                Some(_) => {}
                None => change.functions = true,
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
            let Some(location) = e.spec.line_location() else {
                return false;
            };
            let bound = match e.state {
                BreakpointState::Verified { line: Some(line) } => line,
                _ => location.line,
            };
            e.spec.log.is_none() && (location.line == line || bound == line) && same_file(&location.file)
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

    /// The line breakpoints of one file, in id order.
    pub fn in_file(&self, file: &str) -> Vec<&BreakpointInfo> {
        self.entries.iter().filter(|e| in_file(e, file)).collect()
    }

    /// Every file with line breakpoints.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = Vec::new();
        for location in self.entries.iter().filter_map(|e| e.spec.line_location()) {
            if !files.contains(&location.file) {
                files.push(location.file.clone());
            }
        }
        files
    }

    /// Records what the debugger did with the file's breakpoints (same order as `in_file`).
    pub fn update_states(&mut self, file: &str, states: Vec<BreakpointState>) {
        let mut states = states.into_iter();
        for entry in self.entries.iter_mut().filter(|e| in_file(e, file)) {
            if let Some(state) = states.next() {
                entry.state = state;
            }
        }
    }

    /// The function breakpoints, in id order.
    pub fn functions(&self) -> Vec<&BreakpointInfo> {
        self.entries.iter().filter(|e| e.spec.function.is_some()).collect()
    }

    /// Records what the debugger did with the function breakpoints (same order as `functions`).
    pub fn update_function_states(&mut self, states: Vec<BreakpointState>) {
        let mut states = states.into_iter();
        for entry in self.entries.iter_mut().filter(|e| e.spec.function.is_some()) {
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

fn in_file(entry: &BreakpointInfo, file: &str) -> bool {
    entry.spec.line_location().is_some_and(|l| l.file == file)
}

/// Refuses what a function breakpoint cannot be: an empty or spaced name, or a logpoint (DAP
/// and V8 log only at lines).
pub(crate) fn check_function_spec(name: &str, spec: &BreakpointSpec) -> Result<(), DebuggerError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$'));
    if !valid {
        return Err(DebuggerError::BadCommand(format!(
            "`{name}` is not a function name; give a name like `handle`, `Shop.total` or `pkg.module.func`"
        )));
    }
    if spec.log.is_some() {
        return Err(DebuggerError::BadCommand(
            "a function breakpoint cannot log; put the logpoint on a line: `borescope break FILE:LINE --log MESSAGE`".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use borescope_model::Location;

    #[test]
    fn function_breakpoints_live_beside_line_breakpoints() {
        let mut table = BreakpointTable::default();
        let line = table.set(BreakpointSpec::at(Location { file: "/a.py".into(), line: 3 }));
        let function = table.set(BreakpointSpec::on_function("Shop.total"));
        assert_eq!(table.set(BreakpointSpec { condition: Some("n > 1".into()), ..BreakpointSpec::on_function("Shop.total") }), function);
        assert_eq!(table.files(), ["/a.py"]);
        assert_eq!(table.in_file("/a.py").len(), 1);
        assert_eq!(table.functions().len(), 1);
        let change = table.apply(BreakOp::DeleteFunction("Shop.total".into()), Path::new("/"), Language::Python, &PathMap::same()).unwrap();
        assert!(change.functions && change.files.is_empty());
        assert!(table.apply(BreakOp::DeleteFunction("Shop.total".into()), Path::new("/"), Language::Python, &PathMap::same()).is_err());
        assert_eq!(table.all().iter().map(|e| e.id).collect::<Vec<_>>(), [line]);
    }

    #[test]
    fn function_names_are_checked() {
        for bad in ["", "a b", ".x", "x.", "a..b", "f()"] {
            assert!(check_function_spec(bad, &BreakpointSpec::on_function(bad)).is_err(), "{bad}");
        }
        let logging = BreakpointSpec { log: Some("x".into()), ..BreakpointSpec::on_function("f") };
        assert!(check_function_spec("f", &logging).is_err());
        assert!(check_function_spec("pkg.mod.Class.method", &BreakpointSpec::on_function("x")).is_ok());
    }
}
