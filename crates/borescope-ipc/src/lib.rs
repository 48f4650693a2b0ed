//! How clients (the CLI, the MCP server) talk to the session daemon.
//!
//! * [`protocol`]: the [`Request`]s and [`Response`]s, serde types in a versioned envelope.
//! * Framing: one JSON object per line, one request per connection, over a Unix socket.
//! * [`runtime`]: the per-user runtime directory (created 0700, ownership checked) and the paths
//!   of each build's own daemon in it.
//! * [`client`]: connect (starting this build's daemon when none runs) and make one call.
//! * [`builds`]: other builds' daemons that hold sessions (reported by `sessions`, never touched).
//!
//! The daemon is reachable only by its user: the socket lives in a 0700 directory, and the
//! daemon also checks each peer's uid.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: a panic in the client or the daemon's framing would lose a session.

pub mod builds;
pub mod client;
pub mod fdpass;
pub mod protocol;
pub mod runtime;

pub use client::{call, call_once, call_with_fd, ensure_daemon};
pub use protocol::{AttachRequest, BreakRequest, PodAttachRequest, ConnectRequest, Envelope, ErrorKind, Request, Response, RunActionArg, StartRequest, StdinSource};

/// Errors reaching the daemon.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// The runtime directory is unusable.
    #[error("runtime directory `{path}`: {message}")]
    RuntimeDir {
        /// The directory.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Connecting or talking failed.
    #[error("session daemon at `{path}`: {source}")]
    Io {
        /// The socket.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The daemon did not start.
    #[error("the session daemon did not start (see its log: `{log}`): {message}")]
    NotStarted {
        /// Log file.
        log: std::path::PathBuf,
        /// Why.
        message: String,
    },
    /// The answer could not be decoded.
    #[error("unreadable answer from the session daemon: {0}")]
    Decode(#[from] serde_json::Error),
    /// The daemon hung up without answering.
    #[error("the session daemon closed the connection without answering (it may have crashed; see `{0}`)")]
    NoAnswer(std::path::PathBuf),
}
