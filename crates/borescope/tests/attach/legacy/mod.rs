//! Attaching to Python 3.9–3.13, where PEP 768 does not exist: borescope stops the process for a
//! moment with ptrace and has it schedule the job as a pending call, which the main thread runs
//! at its next safe point. Real interpreters: the host's 3.11 (a pyenv build with a shared
//! libpython), a pyenv 3.12 (no registry reachable here carries a 3.12), and Debian sid's 3.13
//! (a non-PIE executable exporting the API itself), as a plain process started through the
//! rootfs's loader and in a container stand-in with its own PID, mount and network namespaces;
//! pyenv's 3.9 and 3.10 (versions known only from the file name) once each, and its 3.8 as the
//! refused one. None of them has debugpy installed but the sid 3.13, so borescope's shipped copy
//! is used on the others. `arm64` runs the aarch64 build against Debian sid's arm64 3.13 in an
//! emulated arm64 machine.

mod arm64;
mod blocked;
mod refusals;
mod sessions;
mod stress;
mod web;

use borescope_test::interpreters;
use borescope_test::targets::TargetProcess;
use borescope_test::TestContext;
use std::time::{Duration, Instant};

/// The interpreters attach supports through ptrace and a pending call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Py {
    /// pyenv's 3.9 (`libpython3.9.so`; heap frame objects, `co_lnotab`).
    V39,
    /// pyenv's 3.10 (`libpython3.10.so`; heap frame objects, the first `co_linetable`).
    V310,
    /// The host's pyenv 3.11 (`python3.11` linked to `libpython3.11.so`).
    V311,
    /// pyenv's 3.12 (`libpython3.12.so`).
    V312,
    /// Debian sid's 3.13 (the API in the executable), run through the rootfs's loader.
    V313,
}

impl Py {
    /// `3.9` … `3.13`.
    pub fn minor(self) -> &'static str {
        match self {
            Py::V39 => "3.9",
            Py::V310 => "3.10",
            Py::V311 => "3.11",
            Py::V312 => "3.12",
            Py::V313 => "3.13",
        }
    }

    /// `(3, 11)`: how `sys.version_info[:2]` prints.
    pub fn tuple(self) -> String {
        format!("(3, {})", &self.minor()[2..])
    }

    /// The interpreter's command.
    pub fn python(self) -> std::path::PathBuf {
        match self {
            Py::V39 | Py::V310 | Py::V312 => interpreters::pyenv_python(self.minor()),
            Py::V311 => interpreters::host_python(),
            Py::V313 => interpreters::sid_python313(),
        }
    }

    /// Runs `args` (a script in the test's work directory, its arguments) with this Python as a
    /// plain process of this machine.
    pub fn start(self, ctx: &TestContext, args: &[&str]) -> TargetProcess {
        TargetProcess::program(&ctx.work(), self.python(), args)
    }

    /// True when the program cannot import debugpy, so attach ships borescope's copy in.
    pub fn ships_debugpy(self) -> bool {
        self != Py::V313
    }
}

/// One `#[test]` per interpreter (`NAME::py311`, `::py312`, `::py313`) running `body(Py)`, a
/// function of the module that uses the macro (which imports [`Py`]).
macro_rules! per_python {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn py311() {
                super::$body(super::Py::V311)
            }
            #[test]
            fn py312() {
                super::$body(super::Py::V312)
            }
            #[test]
            fn py313() {
                super::$body(super::Py::V313)
            }
        }
    };
}
pub(crate) use per_python;

/// Waits until the thread `tid` of `pid` is inside system call `number` (x86-64 numbers, from
/// `/proc/PID/task/TID/syscall`), so a test attaches only once a blocked call has begun.
pub fn wait_in_syscall(target: &TargetProcess, tid: u32, number: u32) {
    let path = format!("/proc/{}/task/{tid}/syscall", target.pid);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.split_whitespace().next() == Some(&number.to_string()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("thread {tid} never entered syscall {number} ({path}); the target's output:\n{}", target.output());
}

/// The kernel function thread `tid` of `pid` waits in (`/proc/PID/task/TID/wchan`).
pub fn wchan(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/wchan")).unwrap_or_default().trim().to_string()
}

/// `TracerPid` of `pid`: 0 when nothing traces it.
pub fn tracer(pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("TracerPid:").and_then(|v| v.trim().parse().ok())))
        .unwrap_or_else(|| panic!("no TracerPid for pid {pid}"))
}

/// The bytes at the process's entry point (`AT_ENTRY` of `/proc/PID/auxv`), where borescope
/// writes its stub for a moment: they must be the same before and after.
pub fn entry_bytes(pid: u32) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let auxv = std::fs::read(format!("/proc/{pid}/auxv")).expect("read auxv");
    let entry = auxv
        .chunks_exact(16)
        .find_map(|pair| {
            let key = u64::from_ne_bytes(pair[..8].try_into().ok()?);
            let value = u64::from_ne_bytes(pair[8..].try_into().ok()?);
            (key == 9).then_some(value)
        })
        .expect("AT_ENTRY in auxv");
    let mut memory = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/PID/mem");
    memory.seek(SeekFrom::Start(entry)).expect("seek to the entry point");
    let mut bytes = vec![0; 16];
    memory.read_exact(&mut bytes).expect("read the entry point");
    bytes
}

/// borescope's job directories in the host's `/tmp` whose `job.json` contains `needle`.
pub fn job_dirs_with(needle: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/tmp")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("borescope-"))
                .map(|e| e.path())
                .filter(|dir| std::fs::read_to_string(dir.join("job.json")).is_ok_and(|job| job.contains(needle)))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `done()` holds; panics with `what` after 30 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}

/// Pages of `pid`'s anonymous writable memory that start with the statement borescope writes
/// for a pending call (malloc and Python's allocators never put data at a page's first byte).
pub fn pending_call_pages(pid: u32) -> usize {
    use std::os::unix::fs::FileExt;
    let statement = borescope_pyagent::jobs::pending_call_source("/x");
    let head = statement.lines().next().expect("a first line").as_bytes().to_vec();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let memory = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/PID/mem");
    let mut found = 0;
    let mut buf = vec![0u8; head.len()];
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Anonymous: no path (and not [heap], [stack], ...).
        if fields.len() != 5 || !fields[1].starts_with("rw") {
            continue;
        }
        let Some((start, end)) = fields[0].split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else { continue };
        let mut page = start;
        while page < end {
            if memory.read_exact_at(&mut buf, page).is_ok() && buf == head {
                found += 1;
            }
            page += 4096;
        }
    }
    found
}
