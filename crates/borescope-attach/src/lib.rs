//! The zero-prep attach capability: debug or run code in a Python process that is already
//! running, with nothing prepared in it, including one in a container.
//!
//! * [`ps`]: Python processes from `/proc`, with their version (read from the interpreter),
//!   CPU and memory, ports, whether they can be attached and why not, and their role in a
//!   reloading or forking server ([`roles`]), so the process that serves requests is the one
//!   picked.
//! * [`target`]: one process as attach sees it: its namespaces, its filesystem root, whether
//!   it is still the same process.
//! * [`files`]: a private directory inside the target's own filesystem view for borescope's
//!   files (`/proc/PID/root/tmp/...`), owned by the target's user.
//! * [`job`]: running one job of the embedded agent (`borescope_agent.remote`) in the target
//!   and reading back its status file; a thread that never picks the job up is diagnosed
//!   ([`blocked`]) and the request withdrawn.
//! * [`trigger`]: how a job starts: PEP 768 on CPython 3.14+, a pending call scheduled through
//!   ptrace (`borescope-inject`) on 3.9–3.13.
//! * [`bytecode`]: debugpy compiled once per interpreter on this machine, shipped with the copy.
//! * [`listen`]: starting debugpy inside the target (shipping a copy in when it has none),
//!   connecting to it (from inside its network namespace when it has its own, [`netns`]), and
//!   undoing it all on detach.
//! * [`exec`]: running code in the target and bringing back its output and traceback.
//!
//! The DAP session that drives debugpy afterwards belongs to the debugger capability; this
//! crate hands it a connected socket.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: everything here reacts to another process, /proc and files it can change.

pub mod blocked;
pub mod bytecode;
mod error;
pub mod exec;
pub mod files;
pub mod job;
pub mod listen;
pub mod netns;
pub mod ps;
pub mod roles;
pub mod target;
pub mod trigger;

pub use borescope_inject::pep768::ThreadChoice;
pub use error::AttachError;
pub use target::Target;
