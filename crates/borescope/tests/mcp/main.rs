//! The MCP server driven by MCP clients this project did not write: the official Python SDK
//! client (over stdio and Streamable HTTP) and the MCP Inspector's CLI from npm. Sessions are
//! real debugpy and Node programs, shared with the CLI through the session daemon.

mod clients;
mod http;
mod inspector;
mod snapshots;
mod stdio;

use borescope_test::TestContext;

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// The venv interpreter (has debugpy and the MCP SDK).
pub fn python() -> String {
    borescope_test::interpreters::venv_python().display().to_string()
}
