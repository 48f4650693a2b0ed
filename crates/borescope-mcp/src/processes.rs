//! The tools for programs that are already running: list them, attach a session, run code
//! inside. `list_python_processes` and `exec_in_process` run here (no session involved);
//! `attach` is a daemon request like `start_session`.

use crate::params::*;
use crate::response::error;
use crate::server::{BorescopeMcp, ToolResult};
use borescope_attach::exec::{exec_code, ExecOptions};
use borescope_attach::ps::{list, PsOptions};
use borescope_attach::ThreadChoice;
use borescope_ipc::{AttachRequest, Request};
use borescope_model::{BreakpointSpec, ExceptionMode, Location};
use borescope_render::{render_exec, render_ps};
use std::time::Duration;

/// Characters of exec output kept per stream (the response budget cuts further).
const MAX_EXEC_OUTPUT: usize = 256 * 1024;

impl BorescopeMcp {
    pub(crate) async fn list_python_processes_tool(&self, params: PsParams) -> ToolResult {
        let options = PsOptions { name: params.name, port: params.port, interval: Duration::from_millis(200) };
        let processes = tokio::task::spawn_blocking(move || list(&options)).await;
        match processes {
            Ok(processes) => {
                let text = render_ps(&processes);
                Ok(self.result(text, serde_json::to_value(&processes).unwrap_or_default()))
            }
            Err(e) => Ok(error(format!("listing processes failed: {e}"))),
        }
    }

    pub(crate) async fn attach_tool(&self, params: AttachParams) -> ToolResult {
        let cwd = match crate::tools::base_dir(params.cwd.as_deref()) {
            Ok(cwd) => cwd,
            Err(message) => return Ok(error(message)),
        };
        let mut breakpoints = Vec::new();
        for text in &params.breakpoints {
            match Location::parse(text) {
                Ok(location) => breakpoints.push(BreakpointSpec { location, condition: None, hit: None, log: None }),
                Err(e) => return Ok(error(e.to_string())),
            }
        }
        let timeout = match crate::tools::seconds(params.timeout_secs, 10.0) {
            Ok(timeout) => timeout,
            Err(message) => return Ok(error(message)),
        };
        self.session_call(Request::Attach {
            session: crate::tools::session_name(params.session),
            spec: Box::new(AttachRequest {
                pid: params.pid,
                thread: params.thread,
                breakpoints,
                client_cwd: cwd,
                exceptions: ExceptionMode::Uncaught,
                timeout_ms: timeout.as_millis() as u64,
                ship_debugpy: true,
                budget: self.budget(),
            }),
        })
        .await
    }

    pub(crate) async fn exec_tool(&self, params: ExecParams) -> ToolResult {
        let run_timeout = match crate::tools::seconds(params.timeout_secs, 30.0) {
            Ok(timeout) => timeout,
            Err(message) => return Ok(error(message)),
        };
        let options = ExecOptions {
            thread: params.thread.map(ThreadChoice::Native).unwrap_or(ThreadChoice::Main),
            pickup_timeout: Duration::from_secs(10),
            run_timeout,
            max_output: MAX_EXEC_OUTPUT,
        };
        let (pid, code) = (params.pid, params.code);
        let report = tokio::task::spawn_blocking(move || exec_code(pid, &code, "<borescope exec>", &options)).await;
        match report {
            Ok(Ok(report)) => {
                let (out, err) = render_exec(&report);
                let mut text = out;
                if !err.is_empty() {
                    text.push_str("--- stderr ---\n");
                    text.push_str(&err);
                }
                if text.is_empty() {
                    text.push_str("(no output)\n");
                }
                let mut result = self.result(text, serde_json::to_value(&report).unwrap_or_default());
                if report.error.is_some() {
                    result.is_error = Some(true);
                }
                Ok(result)
            }
            Ok(Err(e)) => Ok(error(e.to_string())),
            Err(e) => Ok(error(format!("exec failed: {e}"))),
        }
    }
}
