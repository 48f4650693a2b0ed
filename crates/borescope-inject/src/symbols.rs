//! Exported functions of the interpreter a process runs, at their run-time addresses.
//!
//! CPython exports its C API from the `python3.X` executable (linked with `-export-dynamic`
//! when static) or from `libpython3.X.so`: `.dynsym` holds `Py_AddPendingCall` and
//! `PyRun_SimpleString` even in stripped distribution builds. A file's link-time address
//! becomes a run-time one through its lowest mapping: `start - file offset` is where the file's
//! first loadable segment (rounded down to its alignment) was placed.

use crate::procfs::{self, Mapping};
use object::{Object, ObjectSegment, ObjectSymbol, ReadCache};
use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

/// Where one exported function lives in the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its run-time address.
    pub address: u64,
    /// Its size in bytes (0 when the symbol does not say).
    pub size: u64,
}

impl Function {
    /// The addresses its code covers.
    pub fn range(&self) -> Range<u64> {
        self.address..self.address + self.size.max(1)
    }
}

/// The exported functions found in one mapped file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exports {
    /// The file as the process sees its path.
    pub file: String,
    /// Name to function, for the names asked for that the file defines.
    pub functions: HashMap<String, Function>,
}

/// Looks `names` up in the `.dynsym` of each mapped file whose name contains "python" and
/// returns the first file that defines the first name (the others as far as it defines them).
/// `Ok(None)`: no mapped file defines it.
pub fn find(pid: u32, names: &[&str]) -> std::io::Result<Option<Exports>> {
    let maps = procfs::maps(pid)?;
    let mut seen: Vec<&str> = Vec::new();
    for mapping in &maps {
        let Some(path) = mapping.path.as_deref() else { continue };
        let name = path.rsplit('/').next().unwrap_or(path);
        if !name.contains("python") || seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let Some(lowest) = maps.iter().filter(|m| m.path.as_deref() == Some(path)).min_by_key(|m| (m.offset, m.start)) else {
            continue;
        };
        let Some(on_disk) = procfs::mapped_file(pid, lowest) else {
            tracing::debug!(path, "cannot open a mapped interpreter file from here");
            continue;
        };
        let Some(exports) = exported(&on_disk, lowest, names)? else { continue };
        if names.first().is_some_and(|first| exports.contains_key(*first)) {
            return Ok(Some(Exports { file: path.to_string(), functions: exports }));
        }
    }
    Ok(None)
}

/// The defined dynamic symbols among `names` in the ELF file at `path`, relocated by the
/// file's lowest mapping; `Ok(None)` when the file is not a readable ELF file.
fn exported(path: &Path, lowest: &Mapping, names: &[&str]) -> std::io::Result<Option<HashMap<String, Function>>> {
    let cache = ReadCache::new(File::open(path)?);
    let Ok(elf) = object::File::parse(&cache) else { return Ok(None) };
    let Some(first) = elf.segments().next() else { return Ok(None) };
    let align = first.align().max(1);
    let first_load = first.address() - first.address() % align;
    let Some(base) = lowest.start.checked_sub(lowest.offset) else { return Ok(None) };
    let mut found = HashMap::new();
    for symbol in elf.dynamic_symbols() {
        let Ok(name) = symbol.name() else { continue };
        if symbol.is_undefined() || symbol.address() == 0 || !names.contains(&name) {
            continue;
        }
        let address = base.wrapping_add(symbol.address()).wrapping_sub(first_load);
        found.insert(name.to_string(), Function { address, size: symbol.size() });
    }
    Ok(Some(found))
}

/// The program's entry point (`AT_ENTRY` in `/proc/PID/auxv`): code that ran once, at start,
/// and never runs again.
pub fn entry_point(pid: u32) -> std::io::Result<Option<u64>> {
    const AT_ENTRY: u64 = 9;
    let bytes = std::fs::read(format!("/proc/{pid}/auxv"))?;
    Ok(bytes.chunks_exact(16).find_map(|pair| {
        let (key, value) = pair.split_at(8);
        let key = u64::from_ne_bytes(key.try_into().ok()?);
        let value = u64::from_ne_bytes(value.try_into().ok()?);
        (key == AT_ENTRY).then_some(value)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_entry_point_is_in_our_executable_code() {
        let entry = entry_point(std::process::id()).expect("auxv").expect("AT_ENTRY");
        let maps = procfs::maps(std::process::id()).expect("maps");
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        let mapping = maps.iter().find(|m| (m.start..m.end).contains(&entry)).expect("mapped");
        assert!(mapping.perms.contains('x'), "{mapping:?}");
        assert_eq!(mapping.path.as_deref(), exe.to_str());
    }

    #[test]
    fn libc_exports_are_found_at_their_run_time_addresses() {
        // Not a Python, but the same lookup: libc's `getpid` must be where the linker put it.
        let maps = procfs::maps(std::process::id()).expect("maps");
        let libc = maps
            .iter()
            .filter(|m| m.path.as_deref().is_some_and(|p| p.contains("libc.so")))
            .min_by_key(|m| (m.offset, m.start))
            .expect("libc mapped");
        let on_disk = procfs::mapped_file(std::process::id(), libc).expect("libc readable");
        let found = exported(&on_disk, libc, &["getpid", "no_such_symbol"]).expect("read").expect("elf");
        assert!(!found.contains_key("no_such_symbol"));
        let ours = nix::libc::getpid as *const () as u64;
        assert_eq!(found["getpid"].address, ours);
        assert!(found["getpid"].range().contains(&ours));
    }
}
