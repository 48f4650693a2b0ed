//! Reaching into a running CPython process on Linux, with nothing installed in it.
//!
//! This is the protocol layer of attach: it knows processes, ELF files and CPython's memory
//! layout, and nothing of sessions, debuggers or output.
//!
//! * [`procfs`]: what `/proc` says about a process (status, stat, command line, environment,
//!   namespaces, threads, maps), read without `ps`.
//! * [`elf`]: finding the `.PyRuntime` section (and `Py_Version`) in the interpreter binary or
//!   `libpython` a process has mapped, opened through `/proc/PID/root` so it works across mount
//!   namespaces (containers).
//! * [`rootfs`]: resolving a path inside a process's root directory as the process would
//!   (symlinks re-rooted, `..` kept inside), for files read through `/proc/PID/root`.
//! * [`memory`]: [`ProcessMemory`], read/write of another process's memory
//!   (`process_vm_readv`/`process_vm_writev`), and an in-memory implementation for tests.
//! * [`offsets`]: CPython's self-describing `_Py_DebugOffsets` table, validated; every address
//!   borescope computes comes from offsets read out of the target, never from headers.
//! * [`runtime`]: locating `_PyRuntime` in a live process and walking its interpreter and
//!   thread states.
//! * [`pep768`]: the remote-debugger handshake of PEP 768 (Python 3.14): write a script path
//!   into a thread's `remote_debugger_support`, set the pending flag and the eval-breaker bit.
//! * [`ptrace`]: borrowing one thread with `PTRACE_SEIZE` to run a system call or a C function
//!   in it, and giving it back with every register, byte and interrupted system call as it was
//!   (x86-64 and aarch64).
//! * [`symbols`]: exported functions of the interpreter at their run-time addresses, and the
//!   program's entry point.
//! * [`pending_call`]: the trigger for CPython 3.9–3.13, which has no PEP 768: queue a
//!   statement with `Py_AddPendingCall(PyRun_SimpleString, page)` through [`ptrace`], so the
//!   main thread runs it at its next safe point.
//! * [`layout`]: where a Python stack lives per version (3.13/3.14 tables, 3.11/3.12 layouts).
//! * [`syscalls`]: the system call a blocked thread is in, and the file it waits on.
//! * [`stack`]: reading a thread's Python stack from memory (for "the main thread is blocked
//!   here" diagnoses), with [`linetable`] decoding line numbers.
//! * [`permission`]: turning `EPERM` into the precise reason (Yama `ptrace_scope`, missing
//!   `CAP_SYS_PTRACE`, another user, a non-dumpable process, seccomp).

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: everything here reads input from /proc, ELF files and another process's memory.

pub mod elf;
pub mod layout;
mod error;
pub mod linetable;
pub mod memory;
pub mod offsets;
pub mod pending_call;
pub mod pep768;
pub mod permission;
pub mod procfs;
pub mod ptrace;
pub mod rootfs;
pub mod runtime;
pub mod stack;
pub mod symbols;
pub mod syscalls;

pub use error::InjectError;
pub use memory::{ProcessMemory, RemoteMemory};
pub use offsets::{DebugOffsets, PythonVersion};
pub use runtime::PythonRuntime;
