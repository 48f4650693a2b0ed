//! The tools for programs that are already running: list them, attach a session (by pid, or
//! by the address of a debug server already listening), run code inside. `list_python_processes` and `exec_in_process` run here (no session involved);
//! `attach` is a daemon request like `start_session`.

use crate::params::*;
use crate::response::error;
use crate::server::{BorescopeMcp, ToolResult};
use borescope_attach::exec::{exec_code, ExecOptions};
use borescope_attach::ps::{list, PsOptions};
use borescope_attach::ThreadChoice;
use borescope_ipc::{AttachRequest, ConnectRequest, Request};
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
                Ok(location) => breakpoints.push(BreakpointSpec::at(location)),
                Err(e) => return Ok(error(e.to_string())),
            }
        }
        let session = crate::tools::session_name(params.session);
        let pid = match (params.pid, params.address) {
            (Some(pid), None) => pid,
            (None, Some(address)) => {
                if params.thread.is_some() {
                    return Ok(error("`thread` applies to attaching by `pid`"));
                }
                let mut path_maps = Vec::new();
                for (local, remote) in params.path_map {
                    match cwd.join(&local).canonicalize() {
                        Ok(local) => path_maps.push((local.display().to_string(), remote)),
                        Err(_) => return Ok(error(format!("path_map: no local directory `{local}`"))),
                    }
                }
                let spec = ConnectRequest {
                    address,
                    path_maps,
                    breakpoints,
                    client_cwd: cwd,
                    exceptions: ExceptionMode::Uncaught,
                    budget: self.budget(),
                };
                return self.session_call(Request::Connect { session, spec: Box::new(spec) }).await;
            }
            _ => return Ok(error("give either `pid` (a local Python 3.14+ process) or `address` (\"HOST:PORT\" where debugpy or Node listens)")),
        };
        if !params.path_map.is_empty() {
            return Ok(error("`path_map` applies to attaching by `address`"));
        }
        let timeout = match crate::tools::seconds(params.timeout_secs, 10.0) {
            Ok(timeout) => timeout,
            Err(message) => return Ok(error(message)),
        };
        self.session_call(Request::Attach {
            session,
            spec: Box::new(AttachRequest {
                pid,
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
