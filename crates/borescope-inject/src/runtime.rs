//! Finding CPython in a live process: which mapped file is the interpreter, what version it
//! is, where `_PyRuntime` lives, and the interpreter and thread states hanging off it.
//!
//! [`identify`] needs only `/proc/PID/maps` and the binary (no memory access), so `ps` can
//! show versions cheaply. [`PythonRuntime::open`] then reads the offsets table out of the
//! process itself and checks it against the file.

use crate::elf::{self, PyRuntimeSection};
use crate::memory::{MemoryError, ProcessMemory, RemoteMemory};
use crate::offsets::{DebugOffsets, PythonVersion, TableProblem, TABLE_SIZE_3_14};
use crate::permission;
use crate::procfs;
use crate::InjectError;

/// Where a version number came from (shown to the user, who may wonder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The `_Py_DebugOffsets` header in the binary (3.13+).
    DebugOffsets,
    /// The exported `Py_Version` constant (3.11+).
    PyVersionSymbol,
    /// The interpreter's file name only (major.minor).
    FileName,
}

/// What a process's mapped files say about its Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The interpreter binary or `libpython`, as the process sees its path.
    pub binary: String,
    /// The version, when it could be told.
    pub version: Option<PythonVersion>,
    /// How the version was told.
    pub source: VersionSource,
    /// A free-threaded build (known from the offsets header only).
    pub free_threaded: Option<bool>,
    /// Run-time address of `_PyRuntime`, when the binary has a `.PyRuntime` section.
    pub runtime_address: Option<u64>,
}

/// Identifies the Python in `pid` from its maps and binaries.
pub fn identify(pid: u32) -> Result<Identity, InjectError> {
    let maps = procfs::maps(pid).map_err(|e| proc_error(pid, "read the memory map of", e))?;
    let mut candidates: Vec<&str> = Vec::new();
    for path in maps.iter().filter_map(|m| m.path.as_deref()) {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.contains("python") && !candidates.contains(&path) {
            candidates.push(path);
        }
    }
    let openable = |path: &str| {
        maps.iter()
            .filter(|m| m.path.as_deref() == Some(path))
            .min_by_key(|m| m.offset)
            .and_then(|m| procfs::mapped_file(pid, m))
    };
    if candidates.is_empty() {
        return Err(InjectError::NotPython {
            pid,
            why: "no mapped file is named like a Python interpreter or libpython".into(),
        });
    }
    let mut fallback: Option<Identity> = None;
    for path in &candidates {
        let Some(on_disk) = openable(path) else {
            tracing::debug!(path, "cannot open a candidate interpreter file from here");
            continue;
        };
        let section = match elf::py_runtime_section(&on_disk) {
            Ok(section) => section,
            Err(error) => {
                tracing::debug!(path, %error, "cannot read a candidate interpreter file");
                continue;
            }
        };
        if let Some(section) = section {
            let runtime_address = load_address(&maps, path, &section);
            let (version, source, free_threaded) = match section.header {
                Some(header) => (Some(header.version), VersionSource::DebugOffsets, Some(header.free_threaded)),
                None => version_without_table(&on_disk, path),
            };
            return Ok(Identity { binary: path.to_string(), version, source, free_threaded, runtime_address });
        }
        if fallback.is_none() {
            let (version, source, _) = version_without_table(&on_disk, path);
            if version.is_some() {
                fallback = Some(Identity {
                    binary: path.to_string(),
                    version,
                    source,
                    free_threaded: None,
                    runtime_address: None,
                });
            }
        }
    }
    fallback.ok_or_else(|| InjectError::NotPython {
        pid,
        why: format!("none of {} has a `.PyRuntime` section or a Python version", candidates.join(", ")),
    })
}

fn version_without_table(on_disk: &std::path::Path, path: &str) -> (Option<PythonVersion>, VersionSource, Option<bool>) {
    if let Some(version) = elf::py_version_symbol(on_disk) {
        return (Some(version), VersionSource::PyVersionSymbol, None);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let version = elf::version_from_name(name).map(|(major, minor)| PythonVersion::minor_only(major, minor));
    (version, VersionSource::FileName, None)
}

/// Run-time address of the section: the file's lowest mapping minus its first segment.
fn load_address(maps: &[procfs::Mapping], path: &str, section: &PyRuntimeSection) -> Option<u64> {
    let base = maps
        .iter()
        .filter(|m| m.path.as_deref() == Some(path))
        .min_by_key(|m| (m.offset, m.start))?;
    let base = base.start.checked_sub(base.offset)?;
    Some(base.wrapping_add(section.address).wrapping_sub(section.first_load))
}

/// `NotFound` is a vanished process, `PermissionDenied` gets a diagnosis.
pub(crate) fn proc_error(pid: u32, operation: &str, error: std::io::Error) -> InjectError {
    match error.kind() {
        std::io::ErrorKind::NotFound => InjectError::NoSuchProcess { pid },
        std::io::ErrorKind::PermissionDenied => InjectError::Permission {
            pid,
            operation: operation.into(),
            diagnosis: permission::diagnose(pid),
        },
        _ => InjectError::Io { context: format!("reading /proc/{pid}"), source: error },
    }
}

/// A memory error, classified.
pub(crate) fn memory_error(pid: u32, operation: &str, error: MemoryError) -> InjectError {
    if error.is_permission() {
        InjectError::Permission { pid, operation: operation.into(), diagnosis: permission::diagnose(pid) }
    } else if error.is_gone() || std::fs::metadata(format!("/proc/{pid}")).is_err() {
        InjectError::Exited { pid }
    } else {
        InjectError::BadLayout { pid, what: format!("unreadable memory: {error}") }
    }
}

/// A live CPython 3.14 runtime: where it is and the offsets read out of it.
#[derive(Debug, Clone)]
pub struct PythonRuntime {
    /// The process.
    pub pid: u32,
    /// What identified it.
    pub identity: Identity,
    /// Address of `_PyRuntime`.
    pub address: u64,
    /// The offsets table, read from the process.
    pub offsets: DebugOffsets,
}

/// One `PyThreadState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadState {
    /// Its address.
    pub address: u64,
    /// The kernel thread id (`/proc/PID/task/TID`).
    pub native_id: u64,
}

impl PythonRuntime {
    /// Identifies the process, refuses anything but CPython 3.14, reads and validates the
    /// offsets table from its memory.
    pub fn open(pid: u32, memory: &RemoteMemory) -> Result<PythonRuntime, InjectError> {
        let identity = identify(pid)?;
        let version = identity.version;
        let Some(address) = identity.runtime_address.filter(|_| version.is_some_and(|v| v.has_remote_debugging())) else {
            let version = version.unwrap_or(PythonVersion::minor_only(3, 0));
            return Err(unsupported(pid, version));
        };
        let bytes = memory
            .read_vec(address, TABLE_SIZE_3_14)
            .map_err(|e| memory_error(pid, "read the memory of", e))?;
        let offsets = match DebugOffsets::parse(&bytes) {
            Ok(offsets) => offsets,
            Err(TableProblem::Unsupported(header)) => return Err(unsupported(pid, header.version)),
            Err(TableProblem::NoCookie) => {
                return Err(InjectError::BadLayout {
                    pid,
                    what: format!("no debug offsets table at {address:#x} in `{}`", identity.binary),
                });
            }
            Err(TableProblem::Implausible(what)) => {
                return Err(InjectError::BadLayout { pid, what: format!("the debug offsets table looks wrong: {what}") });
            }
        };
        Ok(PythonRuntime { pid, identity, address, offsets })
    }

    /// The main interpreter's `PyInterpreterState`.
    pub fn interpreter(&self, memory: &dyn ProcessMemory) -> Result<u64, InjectError> {
        let interp = memory
            .read_u64(self.address + self.offsets.stack.interpreters_head)
            .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        if interp == 0 {
            return Err(InjectError::BadLayout {
                pid: self.pid,
                what: "no running interpreter (the program is starting up or shutting down)".into(),
            });
        }
        Ok(interp)
    }

    /// `config.remote_debug` of the interpreter: 1 unless disabled.
    pub fn remote_debug_enabled(&self, memory: &dyn ProcessMemory, interp: u64) -> Result<bool, InjectError> {
        let value = memory
            .read_u32(interp + self.offsets.remote_debugging_enabled)
            .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        Ok(value == 1)
    }

    /// The main thread's state.
    pub fn main_thread(&self, memory: &dyn ProcessMemory, interp: u64) -> Result<ThreadState, InjectError> {
        let address = memory
            .read_u64(interp + self.offsets.threads_main)
            .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        if address == 0 {
            return Err(InjectError::BadLayout { pid: self.pid, what: "the interpreter has no main thread".into() });
        }
        self.thread_at(memory, address)
    }

    /// Every thread state of the interpreter, newest first (at most 4096).
    pub fn threads(&self, memory: &dyn ProcessMemory, interp: u64) -> Result<Vec<ThreadState>, InjectError> {
        let mut threads = Vec::new();
        let mut address = memory
            .read_u64(interp + self.offsets.stack.threads_head)
            .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        while address != 0 && threads.len() < 4096 {
            threads.push(self.thread_at(memory, address)?);
            address = memory
                .read_u64(address + self.offsets.stack.thread_next)
                .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        }
        Ok(threads)
    }

    fn thread_at(&self, memory: &dyn ProcessMemory, address: u64) -> Result<ThreadState, InjectError> {
        let native_id = memory
            .read_u64(address + self.offsets.stack.thread_native_id)
            .map_err(|e| memory_error(self.pid, "read the memory of", e))?;
        Ok(ThreadState { address, native_id })
    }
}

fn unsupported(pid: u32, version: PythonVersion) -> InjectError {
    let hint = if version.has_remote_debugging() {
        " (this borescope knows the layout of 3.14)\nhint: a newer borescope may know this version".to_string()
    } else {
        " through PEP 768 (3.14+); older versions go through `pending_call`".to_string()
    };
    InjectError::Unsupported { pid, version, hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_test_binary_is_not_python() {
        let error = identify(std::process::id()).expect_err("not python");
        assert!(matches!(error, InjectError::NotPython { .. }), "{error}");
    }

    #[test]
    fn a_missing_pid_is_no_such_process() {
        let error = identify(u32::MAX - 7).expect_err("no such pid");
        assert!(matches!(error, InjectError::NoSuchProcess { .. }), "{error}");
    }
}
