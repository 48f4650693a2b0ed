//! The session daemon: one per user and borescope build, holding every interactive session
//! between short CLI (and MCP) calls.
//!
//! * [`server`]: the Unix socket (in the 0700 runtime directory), peer-uid check, one request
//!   per connection, idle exit, clean shutdown on SIGTERM/SIGINT.
//! * [`registry`]: the named sessions, plus on-disk records so a daemon that died is noticed by
//!   the next one and its sessions are reported truthfully ("ended when the daemon stopped").
//! * [`handlers`]: maps each request onto the debugger capability.
//! * [`attach`]: `attach` and the detach half of `stop`, joining the attach capability
//!   (debugpy started inside a running process) to the debugger's sessions.
//! * [`connect`]: `attach HOST:PORT`, a session on a debug server the user started.
//! * [`follow`]: `--follow`, attaching a pod session again to a replaced pod's successor.
//! * [`pod`]: `attach pod/NAME`, a session on a process in a Kubernetes pod (the Kubernetes
//!   capability starts debugpy there; the daemon holds the port-forward).
//!
//! It is started on demand by clients (`borescope daemon` in the background) and exits after a
//! while without sessions.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: a panic would end every session of the user at once.

mod attach;
mod connect;
mod follow;
mod pod;
mod handlers;
mod registry;
mod server;

pub use server::{run, DaemonError};
