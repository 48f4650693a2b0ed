//! The server handler: its settings, the instructions agents read first, and the one path by
//! which every session tool reaches the session daemon.

use crate::response::{error, success};
use borescope_ipc::runtime::RuntimePaths;
use borescope_ipc::{ErrorKind, Request, Response};
use borescope_model::Budget;
use borescope_render::{render_answer, PathStyle, RenderContext};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool_handler, ErrorData, ServerHandler};
use std::path::PathBuf;

const INSTRUCTIONS: &str = "borescope debugs Python and Node.js programs.\n\
1. Start with `probe`: one call runs the program until a FILE:LINE executes and returns why it \
stopped, the source, the stack and the locals (or: uncaught exception, exited without reaching \
the line and why, timeout and where it was). Bisect with probes at different lines instead of \
stepping; use `condition` instead of repeated runs; `hits` samples several iterations.\n\
2. For step-by-step work, `start_session` with `breakpoints` (returns the first stop), then \
`continue`/`step_over`/`step_into`/`step_out` (each returns the next stop report), `variables` \
(with a path to drill in), `evaluate`, `select_frame`; finish with `stop_session`.\n\
3. For a program that is already running (Python 3.9+), `list_python_processes` finds it, \
`attach` starts a session on it without a restart (stop_session detaches), and \
`exec_in_process` runs a snippet inside it and returns what it printed. A program started with \
a debug server (debugpy `--listen`, node `--inspect`), also in Docker or elsewhere: `attach` \
with its `address`.\n\
4. For a service running in production (many processes, must not stop), live snapshots: \
`list_instances` shows the services whose processes run the borescope agent, `create_snapshot` \
asks every instance to record locals and the stack when a FILE:LINE runs (nothing pauses), \
`wait_for_snapshot` returns what was captured, `delete_snapshot` removes the probe; \
`set_exception_snapshots` makes a service's instances record every traceback frame's locals \
where it fails, and `list_snapshots` with `exceptions: true` shows those.\n\
Every result is bounded; its notes say what was cut and how to see more. Sessions are shared \
with the borescope CLI by name.";

/// Server settings.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// Largest tool response, in bytes (text and structured content together).
    pub max_response: usize,
    /// Capture budget (values, variables, depth, redaction).
    pub budget: Budget,
    /// The `borescope server` the live-snapshot tools talk to, with its admin token.
    pub snapshots: borescope_snapshots::Client,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            max_response: 16 * 1024,
            budget: Budget::default(),
            snapshots: borescope_snapshots::Client::new(borescope_snapshots::ServerUrl::default(), None),
        }
    }
}

/// The MCP server handler.
#[derive(Clone)]
pub struct BorescopeMcp {
    pub(crate) config: McpConfig,
    tool_router: ToolRouter<BorescopeMcp>,
}

/// What every tool returns: errors the agent should see are `Ok` results with `is_error` set;
/// `Err` is left to rmcp for protocol failures.
pub(crate) type ToolResult = Result<CallToolResult, ErrorData>;

impl BorescopeMcp {
    /// A server with these settings.
    pub fn new(config: McpConfig) -> BorescopeMcp {
        BorescopeMcp {
            config,
            tool_router: Self::tool_router() + Self::snapshot_tool_router(),
        }
    }

    /// The capture budget: the text report gets half of the response budget.
    pub(crate) fn budget(&self) -> Budget {
        Budget {
            max_bytes: self.config.max_response / 2,
            ..self.config.budget
        }
    }

    /// Renders with paths relative to `base` (a tool's `cwd`, else the server's directory).
    pub(crate) fn render_context(&self, base: Option<PathBuf>) -> RenderContext {
        let base = base.or_else(|| std::env::current_dir().ok());
        RenderContext::new(self.budget(), base.map(PathStyle::relative_to).unwrap_or_default())
    }

    /// A successful result within the response budget.
    pub(crate) fn result(&self, text: String, structured: serde_json::Value) -> CallToolResult {
        success(text, structured, self.config.max_response, self.budget().max_value)
    }

    /// Sends one request to the session daemon (starting it if needed) and turns the answer
    /// into a tool result.
    pub(crate) async fn session_call(&self, request: Request) -> ToolResult {
        let paths = RuntimePaths::default_location();
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return Ok(error(format!("cannot find the borescope executable: {e}"))),
        };
        match borescope_ipc::call(&paths, &exe, &request).await {
            Ok(Response::Ok { answer }) => {
                let text = render_answer(&answer, &self.render_context(None));
                Ok(self.result(text, answer.to_json()))
            }
            Ok(Response::Error { kind, message }) => {
                let prefix = match kind {
                    ErrorKind::Input => "bad request: ",
                    ErrorKind::Failed | ErrorKind::Version => "",
                };
                Ok(error(format!("{prefix}{message}")))
            }
            Err(e) => Ok(error(format!("cannot reach the session daemon: {e}"))),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for BorescopeMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("borescope", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
