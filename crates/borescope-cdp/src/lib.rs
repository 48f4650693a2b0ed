//! The Chrome DevTools Protocol, client side, for the parts of V8's inspector borescope uses.
//!
//! * [`commands`]: one type per command (`Debugger.*`, `Runtime.*`) with its parameters and
//!   result; [`types`]: the protocol objects they carry (`CallFrame`, `RemoteObject`, ...).
//! * [`events`]: the events we act on (`Debugger.paused`, `Debugger.scriptParsed`, ...).
//! * [`CdpClient`]: a WebSocket connection; commands are matched to results by `id`, events are
//!   streamed. No npm packages and no browser are involved: this talks to `node --inspect`.
//!
//! This crate knows nothing about sessions or output formats.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: a panic here would take down the session daemon and every session in it.

mod client;
pub mod commands;
pub mod events;
pub mod types;

pub use client::{CdpClient, Event};
pub use commands::Command;

/// Errors talking CDP.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// The WebSocket failed.
    #[error("inspector connection: {0}")]
    WebSocket(String),
    /// A message could not be decoded.
    #[error("malformed CDP message: {0}")]
    Json(#[from] serde_json::Error),
    /// The inspector answered with an error.
    #[error("inspector refused `{method}`: {message}")]
    Failed {
        /// The command.
        method: String,
        /// The inspector's message.
        message: String,
    },
    /// The connection closed before the answer arrived.
    #[error("the inspector closed the connection before answering `{0}`")]
    Closed(String),
}
