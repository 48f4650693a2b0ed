//! The tools, one per CLI verb. Descriptions are written for an agent deciding what to call;
//! each tool parses its own arguments (see [`crate::params`]) and is a thin call into the
//! debugger (probe) or the session daemon (everything else).

use crate::params::*;
use crate::response::error;
use crate::server::{BorescopeMcp, ToolResult};
use borescope_debugger::process::StdinMode;
use borescope_debugger::ProbeRequest;
use borescope_ipc::{BreakRequest, Request, RunActionArg, StartRequest, StdinSource};
use borescope_model::{BreakpointSpec, ExceptionMode, Location};
use borescope_render::render_probe;
use rmcp::model::JsonObject;
use rmcp::{tool, tool_router};
use std::path::PathBuf;
use std::time::Duration;

/// Unwraps a `Result<T, String>` or returns it as a tool error.
macro_rules! or_tool_error {
    ($value:expr) => {
        match $value {
            Ok(value) => value,
            Err(message) => return Ok(error(message)),
        }
    };
}

#[tool_router(vis = "pub(crate)")]
impl BorescopeMcp {
    #[tool(
        description = "Run a program until a source line executes; return why it stopped, the source around the line, the stack (user frames first) and the locals, then end the program. The best first tool: one call, no session to manage. Exactly one outcome is reported: hit, uncaught exception (with where it was raised), exited without reaching the line (with exit code, the last output lines and why: file never loaded, line never ran, condition never true), or timeout (with where every thread was). Use `condition` to stop only on the interesting iteration, `hits` to sample several, `evals` to compute values in the frame. Works for Python (any entry: script, -m module, pytest, console script) and Node.",
        input_schema = schema::<ProbeParams>()
    )]
    async fn probe(&self, arguments: JsonObject) -> ToolResult {
        let params: ProbeParams = arguments!("probe", arguments);
        if params.locations.is_empty() {
            return Ok(error("give at least one location, e.g. {\"locations\": [\"app.py:12\"]}"));
        }
        let locations = or_tool_error!(locations(&params.locations));
        let timeout = or_tool_error!(seconds(params.timeout_secs, 30.0));
        let cwd = or_tool_error!(base_dir(params.cwd.as_deref()));
        let request = ProbeRequest {
            location_base: Some(cwd.clone()),
            locations,
            command: params.command,
            language: None,
            condition: params.condition,
            hit: params.hit,
            hits: params.hits,
            evals: params.evals,
            timeout,
            python: params.python.map(PathBuf::from),
            cwd: Some(cwd.clone()),
            env: params.env.into_iter().collect(),
            budget: self.budget(),
            stdin: StdinMode::Null,
        };
        let cache = borescope_static::cache_dir();
        match borescope_debugger::probe(request, &cache).await {
            Ok(report) => {
                let text = render_probe(&report, &self.render_context(Some(cwd)));
                let json = serde_json::to_value(&report).unwrap_or_default();
                Ok(self.result(text, json))
            }
            Err(e) => Ok(error(e.to_string())),
        }
    }

    #[tool(
        description = "Start a program under the debugger in a named session that the other tools drive (the session outlives this call). With `breakpoints` (FILE:LINE, optionally with one `condition`) the call runs the program to the first stop and returns its report. Without them the program is held before its first line (state ready): set breakpoints with set_breakpoint, then `continue` runs it (step_over stops at its first line); `run: true` starts it at once instead. Uncaught exceptions stop the program by default. The program's standard input is a pipe written with send_input. Python needs debugpy in the program's interpreter (or provision_debugpy: true).",
        input_schema = schema::<StartParams>()
    )]
    async fn start_session(&self, arguments: JsonObject) -> ToolResult {
        let params: StartParams = arguments!("start_session", arguments);
        if params.command.is_empty() {
            return Ok(error("give the command to run, e.g. {\"command\": [\"python3\", \"app.py\"]}"));
        }
        let cwd = or_tool_error!(base_dir(params.cwd.as_deref()));
        if (params.condition.is_some() || params.hit.is_some() || params.log.is_some()) && params.breakpoints.is_empty() {
            return Ok(error("`condition`, `hit` and `log` apply to `breakpoints`; give at least one FILE:LINE"));
        }
        if params.run && params.stop_on_entry {
            return Ok(error("give either `run` (start at once) or `stop_on_entry` (stop at the first line), not both"));
        }
        if params.hit == Some(0) {
            return Ok(error("hit counts from 1"));
        }
        let breakpoints = or_tool_error!(locations(&params.breakpoints))
            .into_iter()
            .map(|location| BreakpointSpec {
                condition: params.condition.clone(),
                hit: params.hit,
                log: params.log.clone(),
                ..BreakpointSpec::at(location)
            })
            .collect();
        let exceptions = match params.exceptions.as_deref() {
            None | Some("uncaught") => ExceptionMode::Uncaught,
            Some("raised") => ExceptionMode::Raised,
            Some("none") => ExceptionMode::None,
            Some(other) => return Ok(error(format!("exceptions `{other}` is not one of uncaught, raised, none"))),
        };
        let timeout = or_tool_error!(seconds(params.timeout_secs, 30.0));
        self.session_call(Request::Start {
            session: session_name(params.session),
            spec: Box::new(StartRequest {
                command: params.command,
                cwd: cwd.clone(),
                client_cwd: cwd,
                env: std::env::vars().collect(),
                overrides: params.env.into_iter().collect(),
                python: None,
                language: None,
                breakpoints,
                stop_on_entry: params.stop_on_entry,
                run: params.run,
                stdin: StdinSource::Pipe,
                exceptions,
                provision_debugpy: params.provision_debugpy,
                timeout_ms: timeout.as_millis() as u64,
                budget: self.budget(),
            }),
        })
        .await
    }

    #[tool(
        description = "Set (or replace) a breakpoint at FILE:LINE, or on a function by name (`function`: \"handle\", \"Shop.total\"), in a session, optionally with a condition, a hit count, or (lines only) a log message (a logpoint logs and never pauses). Works while the program runs. Returns every breakpoint and whether it is verified or pending (script not loaded yet).",
        input_schema = schema::<BreakpointParams>()
    )]
    async fn set_breakpoint(&self, arguments: JsonObject) -> ToolResult {
        let params: BreakpointParams = arguments!("set_breakpoint", arguments);
        if params.hit == Some(0) {
            return Ok(error("hit counts from 1"));
        }
        let base = match (params.location, params.function) {
            (Some(text), None) => BreakpointSpec::at(or_tool_error!(Location::parse(&text).map_err(|e| e.to_string()))),
            (None, Some(name)) => BreakpointSpec::on_function(name),
            _ => return Ok(error("give either `location` (\"FILE:LINE\") or `function` (\"NAME\")")),
        };
        let cwd = or_tool_error!(base_dir(params.cwd.as_deref()));
        let spec = BreakpointSpec { condition: params.condition, hit: params.hit, log: params.log, ..base };
        self.session_call(Request::Break { session: session_name(params.session), cwd, op: BreakRequest::Set { spec } })
            .await
    }

    #[tool(
        description = "List a session's breakpoints with their state (verified, pending, rejected).",
        input_schema = schema::<SessionParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_breakpoints(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("list_breakpoints", arguments);
        let cwd = or_tool_error!(base_dir(None));
        self.session_call(Request::Break { session: session_name(params.session), cwd, op: BreakRequest::List }).await
    }

    #[tool(
        description = "Delete the breakpoint at FILE:LINE (`location`) or on a function (`function`), or every breakpoint with all: true.",
        input_schema = schema::<RemoveBreakpointParams>()
    )]
    async fn remove_breakpoint(&self, arguments: JsonObject) -> ToolResult {
        let params: RemoveBreakpointParams = arguments!("remove_breakpoint", arguments);
        let cwd = or_tool_error!(base_dir(params.cwd.as_deref()));
        let op = match (params.location, params.function, params.all) {
            (None, None, true) => BreakRequest::Clear,
            (Some(text), None, false) => BreakRequest::Delete {
                location: or_tool_error!(Location::parse(&text).map_err(|e| e.to_string())),
            },
            (None, Some(function), false) => BreakRequest::DeleteFunction { function },
            _ => return Ok(error("give one of `location` (\"FILE:LINE\"), `function` (\"NAME\") or `all: true`")),
        };
        self.session_call(Request::Break { session: session_name(params.session), cwd, op }).await
    }

    #[tool(
        description = "Delete every breakpoint of a session (line and function breakpoints) in one call; the program keeps its state.",
        input_schema = schema::<SessionParams>()
    )]
    async fn clear_breakpoints(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("clear_breakpoints", arguments);
        let cwd = or_tool_error!(base_dir(None));
        self.session_call(Request::Break { session: session_name(params.session), cwd, op: BreakRequest::Clear }).await
    }

    #[tool(
        name = "continue",
        description = "Resume the program and wait for the next stop (breakpoint, exception) or its exit; returns the stop report (location, source, stack, locals) in the same call. If the program already stopped since the last call, that stop is returned first instead of resuming past it.",
        input_schema = schema::<RunParams>()
    )]
    async fn resume(&self, arguments: JsonObject) -> ToolResult {
        let params: RunParams = arguments!("continue", arguments);
        self.run(params, RunActionArg::Continue).await
    }

    #[tool(
        description = "Step over one line in the stopped thread; returns where it stopped (report with locals).",
        input_schema = schema::<RunParams>()
    )]
    async fn step_over(&self, arguments: JsonObject) -> ToolResult {
        let params: RunParams = arguments!("step_over", arguments);
        self.run(params, RunActionArg::Next).await
    }

    #[tool(
        description = "Step into the call on the current line; returns where it stopped.",
        input_schema = schema::<RunParams>()
    )]
    async fn step_into(&self, arguments: JsonObject) -> ToolResult {
        let params: RunParams = arguments!("step_into", arguments);
        self.run(params, RunActionArg::Step).await
    }

    #[tool(
        description = "Run until the current function returns; returns where it stopped.",
        input_schema = schema::<RunParams>()
    )]
    async fn step_out(&self, arguments: JsonObject) -> ToolResult {
        let params: RunParams = arguments!("step_out", arguments);
        self.run(params, RunActionArg::Out).await
    }

    #[tool(
        description = "Pause a running program (e.g. one stuck in a loop) and return where it is.",
        input_schema = schema::<RunParams>()
    )]
    async fn pause(&self, arguments: JsonObject) -> ToolResult {
        let params: RunParams = arguments!("pause", arguments);
        self.run(params, RunActionArg::Pause).await
    }

    #[tool(
        description = "The stopped thread's stack, innermost first; library and runtime frames are collapsed. Frame numbers work with select_frame.",
        input_schema = schema::<SessionParams>(),
        annotations(read_only_hint = true)
    )]
    async fn stack(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("stack", arguments);
        self.session_call(Request::Stack { session: session_name(params.session) }).await
    }

    #[tool(
        description = "Source lines around a line: around `location` (\"FILE:LINE\", no session needed), or without it around the selected frame of the paused session (select_frame picks another). Numbered, the line marked with `>`; `context` lines on each side (default 10).",
        input_schema = schema::<SourceParams>(),
        annotations(read_only_hint = true)
    )]
    async fn source(&self, arguments: JsonObject) -> ToolResult {
        let params: SourceParams = arguments!("source", arguments);
        let context = params.context.unwrap_or(10);
        let Some(text) = params.location else {
            return self.session_call(Request::Source { session: session_name(params.session), context }).await;
        };
        let location = or_tool_error!(Location::parse(&text).map_err(|e| e.to_string()));
        let cwd = or_tool_error!(base_dir(params.cwd.as_deref()));
        match borescope_debugger::source::file_listing(&location, &cwd, context) {
            Ok(answer) => {
                let text = borescope_render::render_answer(&answer, &self.render_context(Some(cwd)));
                Ok(self.result(text, answer.to_json()))
            }
            Err(e) => Ok(error(e.to_string())),
        }
    }

    #[tool(
        description = "The program's threads and where each is.",
        input_schema = schema::<SessionParams>(),
        annotations(read_only_hint = true)
    )]
    async fn threads(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("threads", arguments);
        self.session_call(Request::Threads { session: session_name(params.session) }).await
    }

    #[tool(
        description = "Select stack frame N (0 = innermost) for variables and evaluate; returns its locals.",
        input_schema = schema::<FrameParams>()
    )]
    async fn select_frame(&self, arguments: JsonObject) -> ToolResult {
        let params: FrameParams = arguments!("select_frame", arguments);
        self.session_call(Request::Frame { session: session_name(params.session), index: params.index, budget: self.budget() })
            .await
    }

    #[tool(
        description = "Locals of the selected frame, or the children of a value given a path such as \"order.items[0]\" or \"config['db']\".",
        input_schema = schema::<VariablesParams>(),
        annotations(read_only_hint = true)
    )]
    async fn variables(&self, arguments: JsonObject) -> ToolResult {
        let params: VariablesParams = arguments!("variables", arguments);
        self.session_call(Request::Vars {
            session: session_name(params.session),
            path: params.path,
            closures: params.closures,
            budget: self.budget(),
        })
        .await
    }

    #[tool(
        description = "Evaluate an expression in the selected frame of the stopped program and return its value (errors are returned as the result, not raised).",
        input_schema = schema::<EvaluateParams>()
    )]
    async fn evaluate(&self, arguments: JsonObject) -> ToolResult {
        let params: EvaluateParams = arguments!("evaluate", arguments);
        self.session_call(Request::Eval {
            session: session_name(params.session),
            expression: params.expression,
            budget: self.budget(),
        })
        .await
    }

    #[tool(
        description = "The program's stdout/stderr since a cursor; pass the returned next_cursor next time to get only new lines.",
        input_schema = schema::<OutputParams>(),
        annotations(read_only_hint = true)
    )]
    async fn output(&self, arguments: JsonObject) -> ToolResult {
        let params: OutputParams = arguments!("output", arguments);
        self.session_call(Request::Output {
            session: session_name(params.session),
            since: params.since.unwrap_or(0),
            limit: params.limit.unwrap_or(200),
        })
        .await
    }

    #[tool(
        description = "A session's state: running, paused (and where), or exited (and its exit code).",
        input_schema = schema::<SessionParams>(),
        annotations(read_only_hint = true)
    )]
    async fn status(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("status", arguments);
        self.session_call(Request::Status { session: session_name(params.session), budget: self.budget() }).await
    }

    #[tool(
        description = "End a session and free its name. A program the session started gets SIGTERM (its handler runs, even if it was paused) and SIGKILL 2 s later if it still runs; the answer says which. An attached process is detached from and keeps running.",
        input_schema = schema::<SessionParams>()
    )]
    async fn stop_session(&self, arguments: JsonObject) -> ToolResult {
        let params: SessionParams = arguments!("stop_session", arguments);
        self.session_call(Request::Stop { session: session_name(params.session) }).await
    }

    #[tool(
        description = "Start a session's program again, as start_session did (same command and mode), keeping every breakpoint set since; the old run is ended first. Returns the new run's first report.",
        input_schema = schema::<RestartParams>()
    )]
    async fn restart_session(&self, arguments: JsonObject) -> ToolResult {
        let params: RestartParams = arguments!("restart_session", arguments);
        let timeout = or_tool_error!(seconds(params.timeout_secs, 30.0));
        self.session_call(Request::Restart {
            session: session_name(params.session),
            stdin: StdinSource::Pipe,
            timeout_ms: timeout.as_millis() as u64,
            budget: self.budget(),
        })
        .await
    }

    #[tool(
        description = "Write text to the standard input of a session's program (one started by start_session), e.g. the answer to an input() prompt: {\"text\": \"42\\n\"}. eof: true closes its input afterwards.",
        input_schema = schema::<InputParams>()
    )]
    async fn send_input(&self, arguments: JsonObject) -> ToolResult {
        let params: InputParams = arguments!("send_input", arguments);
        if params.text.is_empty() && !params.eof {
            return Ok(error("give `text` to write, or `eof: true` to close standard input"));
        }
        self.session_call(Request::Input { session: session_name(params.session), text: params.text, eof: params.eof }).await
    }

    #[tool(
        description = "List running Python processes on this machine (and in its containers): pid, Python version, CPU, memory, listening ports, whether borescope can attach and why not, and which process of a reloading server (uvicorn --reload, Flask debug, Django runserver, gunicorn) actually serves requests (role worker). Use it to find the pid for `attach` or `exec_in_process`.",
        input_schema = schema::<PsParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_python_processes(&self, arguments: JsonObject) -> ToolResult {
        let params: PsParams = arguments!("list_python_processes", arguments);
        self.list_python_processes_tool(params).await
    }

    #[tool(
        description = "List Kubernetes pods (all of a namespace, the pods behind a Service, or a label selector) with phase, readiness, restarts and age, and the Python processes inside each container: pid, Python version, CPU, memory, ports, role (reloader/worker) and whether `attach` with `kubernetes` can work and why not. Uses this server's kubeconfig; no kubectl needed.",
        input_schema = schema::<PodsParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_pods(&self, arguments: JsonObject) -> ToolResult {
        let params: PodsParams = arguments!("list_pods", arguments);
        self.list_pods_tool(params).await
    }

    #[tool(
        description = "Attach a debug session to a running program without restarting it. With `pid`: a Python 3.9+ process, nothing installed in it (containers included; 3.14 through PEP 768, 3.9–3.13 through a ptrace-scheduled pending call that only the main thread runs); refuses a reloader or master process and names the worker to use; a blocked main thread is reported with where it is and (3.14) which `thread` could take over. With `address` (\"HOST:PORT\"): debugpy (`python -m debugpy --listen`) or Node's inspector (`node --inspect`) already listening there, also in Docker or on another machine (`path_map` pairs local and remote directories). With `kubernetes` (\"svc/NAME\" or \"pod/NAME[:PID]\", plus `namespace`, `container`): a Python 3.9+ process in a pod, through the Kubernetes API (no kubectl, nothing installed in the image; 3.14 through sys.remote_exec, 3.9–3.13 through a ptrace-scheduled pending call, which needs ctypes in the image; breakpoints use the container's paths). The program keeps running; set breakpoints (here or with set_breakpoint), then `continue` waits for one to be hit (e.g. by a request you send). All session tools work on it; stop_session detaches and leaves it running.",
        input_schema = schema::<AttachParams>()
    )]
    async fn attach(&self, arguments: JsonObject) -> ToolResult {
        let params: AttachParams = arguments!("attach", arguments);
        self.attach_tool(params).await
    }

    #[tool(
        description = "Run Python code inside a running Python 3.9+ process and return what it printed (only its own output) and any traceback. Good for reading live state without a breakpoint: the main script's globals are readable by name (`print(CONFIG)`), other modules by importing them (`import app; print(app.cache.stats())`). Assignments stay in the snippet's own namespace; to change a global on purpose: `import __main__; __main__.DEBUG = True`. The code runs in the program's main thread between bytecodes; keep it short.",
        input_schema = schema::<ExecParams>()
    )]
    async fn exec_in_process(&self, arguments: JsonObject) -> ToolResult {
        let params: ExecParams = arguments!("exec_in_process", arguments);
        self.exec_tool(params).await
    }

    #[tool(
        description = "List every debug session (shared with the borescope CLI) with its state.",
        input_schema = schema::<NoParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_sessions(&self, arguments: JsonObject) -> ToolResult {
        let _: NoParams = arguments!("list_sessions", arguments);
        self.session_call(Request::Sessions).await
    }
}

impl BorescopeMcp {
    async fn run(&self, params: RunParams, action: RunActionArg) -> ToolResult {
        let timeout = or_tool_error!(seconds(params.timeout_secs, 30.0));
        self.session_call(Request::Run {
            session: session_name(params.session),
            action,
            timeout_ms: timeout.as_millis() as u64,
            budget: self.budget(),
        })
        .await
    }
}

pub(crate) fn session_name(session: Option<String>) -> String {
    session.filter(|s| !s.is_empty()).unwrap_or_else(borescope_static::default_session)
}

fn locations(texts: &[String]) -> Result<Vec<Location>, String> {
    texts
        .iter()
        .map(|text| Location::parse(text).map_err(|e| format!("{e}; pass locations like [\"app.py:12\"]")))
        .collect()
}

pub(crate) fn seconds(value: Option<f64>, default: f64) -> Result<Duration, String> {
    let value = value.unwrap_or(default);
    if !value.is_finite() || value <= 0.0 || value > 86_400.0 {
        return Err(format!("timeout_secs {value} must be between 0 and 86400"));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The directory relative paths resolve against: `cwd` (absolute, or relative to the server's)
/// or the server's own.
pub(crate) fn base_dir(cwd: Option<&str>) -> Result<PathBuf, String> {
    let here = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    match cwd {
        None => Ok(here),
        Some(dir) => {
            let dir = here.join(dir);
            if dir.is_dir() {
                Ok(dir)
            } else {
                Err(format!("cwd `{}` is not a directory", dir.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_a_description() {
        let tools = BorescopeMcp::tool_router().list_all();
        assert!(tools.len() >= 24, "{} tools", tools.len());
        for tool in tools {
            assert_eq!(tool.input_schema.get("type").and_then(|t| t.as_str()), Some("object"), "{}", tool.name);
            assert!(tool.description.as_deref().is_some_and(|d| d.len() > 30), "{}", tool.name);
        }
    }

    #[test]
    fn bad_arguments_become_one_line_tool_errors() {
        let mut arguments = JsonObject::new();
        arguments.insert("expresion".into(), serde_json::json!("x"));
        let Err(result) = parse::<EvaluateParams>("evaluate", arguments) else {
            panic!("a misspelt field must be refused");
        };
        assert_eq!(result.is_error, Some(true));
        let text = serde_json::to_string(&result.content).unwrap_or_default();
        assert!(text.contains("unknown field `expresion`"), "{text}");
    }
}
