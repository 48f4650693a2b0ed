//! The Debug Adapter Protocol, client side: framing, typed requests and an async client.
//!
//! * [`codec`] reads and writes `Content-Length` framed JSON messages.
//! * [`requests`] gives each request we send a type with its arguments and response body.
//! * [`events`] decodes the event bodies we act on.
//! * [`DapClient`] sends requests, matches responses by `request_seq`, and streams events.
//!
//! The client can send a request without awaiting its response ([`DapClient::send`]), which
//! debugpy requires: it answers `launch`/`attach` only after `configurationDone`, and a client
//! that waits for that answer first deadlocks.
//!
//! This crate knows nothing about sessions, Python or output formats.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: a panic here would take down the session daemon and every session in it.

mod client;
pub mod codec;
pub mod events;
pub mod requests;

pub use client::{DapClient, Event, PendingResponse};
pub use requests::Request;

/// Errors talking DAP.
#[derive(Debug, thiserror::Error)]
pub enum DapError {
    /// The connection failed or closed.
    #[error("debug adapter connection: {0}")]
    Io(#[from] std::io::Error),
    /// A frame could not be read.
    #[error("malformed DAP frame: {0}")]
    Frame(String),
    /// A message could not be decoded.
    #[error("malformed DAP message: {0}")]
    Json(#[from] serde_json::Error),
    /// The adapter answered `success: false`.
    #[error("debugger refused `{command}`: {message}")]
    Failed {
        /// The request.
        command: String,
        /// The adapter's message.
        message: String,
    },
    /// The connection closed before the response arrived.
    #[error("the debugger closed the connection before answering `{0}`")]
    Closed(String),
}
