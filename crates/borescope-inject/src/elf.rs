//! The ELF side of finding CPython: the `.PyRuntime` section that holds `_PyRuntime` (and so
//! the debug offsets table), the first loadable segment (to turn a link-time address into a
//! run-time one), and `Py_Version` for interpreters older than the offsets table.
//!
//! Files are opened through `/proc/PID/root/...` by the caller, so a binary inside a container
//! is read from the container's filesystem, not whatever lives at the same path on the host.

use crate::offsets::{self, Header, PythonVersion};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, ReadCache};
use std::fs::File;
use std::path::Path;

/// Name of the section CPython puts `_PyRuntime` in.
pub const SECTION: &str = ".PyRuntime";

/// What an interpreter binary (or `libpython`) says about `_PyRuntime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyRuntimeSection {
    /// Link-time address of the section (`sh_addr`).
    pub address: u64,
    /// Link-time address of the first loadable segment, rounded down to its alignment: the
    /// run-time address of `address` is `mapping base + address - first_load`.
    pub first_load: u64,
    /// The table's header as initialised in the file (3.13+), so the version is known without
    /// touching the process's memory.
    pub header: Option<Header>,
}

/// Looks for `.PyRuntime` in an ELF file; `Ok(None)` when the file has no such section.
pub fn py_runtime_section(path: &Path) -> std::io::Result<Option<PyRuntimeSection>> {
    let file = File::open(path)?;
    let cache = ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else {
        return Ok(None);
    };
    let Some(section) = elf.section_by_name(SECTION) else {
        return Ok(None);
    };
    let Some(first) = elf.segments().next() else {
        return Ok(None);
    };
    let align = first.align().max(1);
    let first_load = first.address() - first.address() % align;
    let header = section
        .data_range(section.address(), offsets::TABLE_SIZE_3_14 as u64)
        .ok()
        .flatten()
        .or_else(|| section.data_range(section.address(), 24).ok().flatten())
        .and_then(offsets::header);
    Ok(Some(PyRuntimeSection {
        address: section.address(),
        first_load,
        header,
    }))
}

/// The value of the exported `Py_Version` constant (CPython 3.11+), read from the file.
pub fn py_version_symbol(path: &Path) -> Option<PythonVersion> {
    let file = File::open(path).ok()?;
    let cache = ReadCache::new(file);
    let elf = object::File::parse(&cache).ok()?;
    let symbol = elf
        .dynamic_symbols()
        .chain(elf.symbols())
        .find(|s| s.name() == Ok("Py_Version"))?;
    let address = symbol.address();
    let section = elf.sections().find(|s| (s.address()..s.address() + s.size()).contains(&address))?;
    let bytes = section.data_range(address, 4).ok().flatten()?;
    let hex = u32::from_le_bytes(bytes.try_into().ok()?);
    Some(PythonVersion::from_hex(u64::from(hex)))
}

/// `python3.11`, `libpython3.14.so.1.0`, `python3.14t` → (3, 11), (3, 14), (3, 14).
pub fn version_from_name(name: &str) -> Option<(u8, u8)> {
    let rest = &name[name.find("python")? + "python".len()..];
    let mut parts = rest.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    (major == 3).then_some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_file_names() {
        assert_eq!(version_from_name("libpython3.14.so.1.0"), Some((3, 14)));
        assert_eq!(version_from_name("python3.11"), Some((3, 11)));
        assert_eq!(version_from_name("python3.14t"), Some((3, 14)));
        assert_eq!(version_from_name("python"), None);
        assert_eq!(version_from_name("cpython-2.7"), None);
    }

    #[test]
    fn a_file_without_the_section_is_not_an_error() {
        let exe = std::env::current_exe().expect("test binary");
        assert_eq!(py_runtime_section(&exe).expect("readable"), None);
        assert!(py_runtime_section(Path::new("/nonexistent/python3")).is_err());
    }
}
