//! `borescope mcp`: the agent debugger's tools over the Model Context Protocol.
//!
//! One tool per CLI verb ([`server`]), each a thin call into the same machinery the CLI uses:
//! `probe` runs in this process through `borescope-debugger`, `list_python_processes` and
//! `exec_in_process` through `borescope-attach`; every session tool (`attach` included) is one
//! request to the per-user session daemon over `borescope-ipc`, so a person at a terminal and an agent
//! share sessions by name. The live-snapshot tools (`create_snapshot`,
//! `list_snapshots`, `wait_for_snapshot`, `delete_snapshot`, `list_instances`,
//! `set_exception_snapshots`) talk to a
//! `borescope server` through `borescope-snapshots`. Results carry the rendered text report *and* structured content
//! matching the CLI's `--json`, both bounded ([`response`]).
//!
//! Transports: stdio ([`serve_stdio`]) and Streamable HTTP on loopback with a bearer token
//! ([`serve_http`]).

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: a panic would drop every agent's connection.

/// Parses a tool's arguments (`crate::params::parse`) or returns the tool error from the
/// enclosing tool. Shared by the session tools and the live-snapshot tools.
macro_rules! arguments {
    ($tool:literal, $arguments:expr) => {
        match crate::params::parse($tool, $arguments) {
            Ok(params) => params,
            Err(result) => return Ok(result),
        }
    };
}

mod http;
mod params;
mod processes;
mod response;
mod server;
mod snapshot_params;
mod snapshots;
mod tools;

pub use http::serve_http;
pub use server::{BorescopeMcp, McpConfig};

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The transport failed.
    #[error("MCP transport: {0}")]
    Transport(String),
    /// Binding the HTTP address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(config: McpConfig) -> Result<(), McpError> {
    use rmcp::ServiceExt;
    let service = BorescopeMcp::new(config)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Transport(e.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|e| McpError::Transport(e.to_string()))?;
    Ok(())
}
