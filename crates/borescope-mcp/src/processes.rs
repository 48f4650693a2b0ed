//! The tools for programs that are already running: list them (and Kubernetes pods), attach a
//! session (by pid, by the address of a debug server already listening, or to a process in a
//! pod), run code inside. `list_python_processes` and `exec_in_process` run here (no session involved);
//! `attach` is a daemon request like `start_session`.

use crate::params::*;
use crate::response::error;
use crate::server::{BorescopeMcp, ToolResult};
use borescope_attach::exec::{exec_code, ExecOptions};
use borescope_attach::ps::{list, PsOptions};
use borescope_attach::ThreadChoice;
use borescope_ipc::{AttachRequest, ConnectRequest, PodAttachRequest, Request};
use borescope_kube::pods::{self, PodSelection};
use borescope_kube::{choose, Cluster, TargetSpec};
use borescope_model::{BreakpointSpec, ExceptionMode, Location};
use borescope_render::{render_exec, render_pods, render_ps};
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
        let session = crate::tools::session_name(params.session.clone());
        if let Some(target) = params.kubernetes.clone() {
            if params.pid.is_some() || params.address.is_some() || params.thread.is_some() || !params.path_map.is_empty() {
                return Ok(error("`kubernetes` goes alone: not with `pid`, `address`, `thread` or `path_map`"));
            }
            return self.attach_pod(session, &target, params, breakpoints).await;
        }
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
            _ => return Ok(error("give one of `pid` (a local Python 3.9+ process), `address` (\"HOST:PORT\" where debugpy or Node listens) or `kubernetes` (\"svc/NAME\", \"pod/NAME[:PID]\")")),
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

    /// `attach` with `kubernetes`: the one process it means (several: the choices, as an
    /// error naming the `pod/NAME:PID` that picks each), then a daemon session on it.
    async fn attach_pod(&self, session: String, target: &str, params: AttachParams, breakpoints: Vec<BreakpointSpec>) -> ToolResult {
        let timeout = match crate::tools::seconds(params.timeout_secs, 10.0) {
            Ok(timeout) => timeout,
            Err(message) => return Ok(error(message)),
        };
        let spec = match TargetSpec::parse(target) {
            Ok(spec) => spec,
            Err(e) => return Ok(error(e.to_string())),
        };
        let found = async {
            let cluster = Cluster::connect(None, params.context.as_deref()).await?;
            let namespace = cluster.namespace_or_default(params.namespace.as_deref());
            let mut resolution = choose::resolve(&cluster, &spec, &namespace, params.container.as_deref(), Duration::from_millis(100)).await?;
            if resolution.candidates.len() != 1 {
                return Err(choose::choice_error(&resolution.candidates, &namespace));
            }
            Ok((cluster, resolution.candidates.remove(0)))
        };
        let (cluster, candidate) = match found.await {
            Ok(found) => found,
            Err(e) => return Ok(error(e.to_string())),
        };
        self.session_call(Request::AttachPod {
            session,
            spec: Box::new(PodAttachRequest {
                kubeconfig: std::env::var("KUBECONFIG").ok(),
                context: cluster.context.clone().filter(|c| !c.is_empty()),
                process: candidate.reference(),
                breakpoints,
                exceptions: ExceptionMode::Uncaught,
                timeout_ms: timeout.as_millis() as u64,
                ship_debugpy: true,
                budget: self.budget(),
                follow: params.follow.then(|| spec.follow_target()),
            }),
        })
        .await
    }

    pub(crate) async fn list_pods_tool(&self, params: PodsParams) -> ToolResult {
        let selection = match (params.service, params.selector) {
            (Some(_), Some(_)) => return Ok(error("give `service` or `selector`, not both")),
            (Some(service), None) => PodSelection::Service(service),
            (None, Some(labels)) => PodSelection::Labels(labels),
            (None, None) => PodSelection::All,
        };
        let listed = async {
            let cluster = Cluster::connect(None, params.context.as_deref()).await?;
            let namespace = (!params.all_namespaces).then(|| cluster.namespace_or_default(params.namespace.as_deref()));
            pods::list(&cluster, namespace.as_deref(), &selection, Duration::from_millis(200)).await
        };
        match listed.await {
            Ok(list) => Ok(self.result(render_pods(&list), serde_json::to_value(&list).unwrap_or_default())),
            Err(e) => Ok(error(e.to_string())),
        }
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
