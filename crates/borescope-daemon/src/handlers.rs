//! One function per request: look up the session, call the debugger, wrap the answer.

use crate::registry::Registry;
use borescope_debugger::process::StdinMode;
use borescope_debugger::session::{BreakOp, LaunchSpec, RunAction, Session, StartMode};
use borescope_debugger::DebuggerError;
use borescope_ipc::{BreakRequest, ErrorKind, Request, Response, RunActionArg, StartRequest, StdinSource};
use borescope_model::{Answer, Notice, SessionInfo, SessionState};
use std::os::fd::OwnedFd;

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Shared daemon state handed to every request.
pub struct Context {
    /// The sessions.
    pub registry: std::sync::Arc<Mutex<Registry>>,
    /// Cache directory (agent, debugpy).
    pub cache_dir: std::path::PathBuf,
    /// This daemon's paths (to find other builds' daemons next to it).
    pub runtime: borescope_ipc::runtime::RuntimePaths,
}

/// Answers one request. `fd` is a descriptor that came with it (the caller's standard input).
pub async fn handle(ctx: &Context, request: Request, fd: Option<OwnedFd>) -> Response {
    match request {
        Request::Ping | Request::Sessions => sessions(ctx).await,
        Request::Start { session, spec } => start(ctx, &session, *spec, fd).await,
        Request::Restart { session, stdin, timeout_ms, budget } => {
            restart(ctx, &session, stdin, fd, Duration::from_millis(timeout_ms), budget).await
        }
        Request::Input { session, text, eof } => {
            with_session(ctx, &session, |s| async move { s.input(&text, eof).await }).await
        }
        Request::Attach { session, spec } => crate::attach::attach(ctx, &session, *spec).await,
        Request::AttachPod { session, spec } => crate::pod::attach(ctx, &session, *spec).await,
        Request::Connect { session, spec } => crate::connect::connect(ctx, &session, *spec).await,
        Request::Source { session, context } => {
            with_session(ctx, &session, |s| async move { s.source(context).await }).await
        }
        Request::Stop { session } => stop(ctx, &session).await,
        Request::Shutdown => Response::error(ErrorKind::Failed, "shutdown is handled by the server"),
        Request::Break { session, cwd, op } => {
            with_session(ctx, &session, |s| async move {
                let op = match op {
                    BreakRequest::Set { spec } => BreakOp::Set(spec),
                    BreakRequest::Delete { location } => BreakOp::Delete(location),
                    BreakRequest::DeleteFunction { function } => BreakOp::DeleteFunction(function),
                    BreakRequest::Clear => BreakOp::Clear,
                    BreakRequest::List => BreakOp::List,
                };
                s.breakpoints(op, &cwd).await
            })
            .await
        }
        Request::Run { session, action, timeout_ms, budget } => {
            with_session(ctx, &session, |s| async move {
                let action = match action {
                    RunActionArg::Continue => RunAction::Continue,
                    RunActionArg::Next => RunAction::Next,
                    RunActionArg::Step => RunAction::Step,
                    RunActionArg::Out => RunAction::Out,
                    RunActionArg::Pause => RunAction::Pause,
                };
                s.run(action, Duration::from_millis(timeout_ms), &budget).await.map(Answer::Report)
            })
            .await
        }
        Request::Stack { session } => with_session(ctx, &session, |s| async move { s.stack().await }).await,
        Request::Threads { session } => with_session(ctx, &session, |s| async move { s.threads().await }).await,
        Request::Frame { session, index, budget } => {
            with_session(ctx, &session, |s| async move { s.select_frame(index, &budget).await }).await
        }
        Request::Vars { session, path, closures, budget } => {
            with_session(ctx, &session, |s| async move { s.vars(path.as_deref(), &budget, closures).await }).await
        }
        Request::Eval { session, expression, budget } => {
            with_session(ctx, &session, |s| async move { s.eval(&expression, &budget).await }).await
        }
        Request::Output { session, since, limit } => {
            with_session(ctx, &session, |s| async move { Ok(s.output(since, limit)) }).await
        }
        Request::Status { session, budget } => {
            with_session(ctx, &session, |s| async move { Ok(s.status(&budget).await) }).await
        }
    }
}

/// Checks a session name (it names a file in the runtime directory).
pub fn valid_name(name: &str) -> Result<(), Response> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Response::error(
            ErrorKind::Input,
            format!("session name `{name}` is not allowed; use letters, digits, `-`, `_` or `.` (at most 64)"),
        ))
    }
}

async fn with_session<F, Fut>(ctx: &Context, name: &str, f: F) -> Response
where
    F: FnOnce(Arc<Session>) -> Fut,
    Fut: std::future::Future<Output = Result<Answer, DebuggerError>>,
{
    if let Err(response) = valid_name(name) {
        return response;
    }
    let session = ctx.registry.lock().await.get(name);
    let Some(session) = session else {
        return missing(ctx, name).await;
    };
    match f(session).await {
        Ok(answer) => Response::ok(answer),
        Err(error) => failure(error),
    }
}

async fn missing(ctx: &Context, name: &str) -> Response {
    if let Some(why) = ctx.registry.lock().await.lost(name) {
        return Response::error(ErrorKind::Failed, why.to_string());
    }
    let others = borescope_ipc::builds::other_builds_with_sessions(&ctx.runtime).await;
    if let Some(other) = others.iter().find(|o| o.sessions.iter().any(|s| s == name)) {
        let executable = other.executable.as_deref().unwrap_or("the other borescope executable");
        return Response::error(
            ErrorKind::Input,
            format!(
                "no session `{name}` in this borescope build; another build's daemon has it\nhint: run that build's executable: `{executable} status --session {name}`"
            ),
        );
    }
    Response::error(
        ErrorKind::Input,
        format!(
            "no session `{name}`\nhint: start one with `borescope start --session {name} -- COMMAND` (MCP: the start_session tool); `borescope sessions` lists them"
        ),
    )
}

/// Maps a debugger error to a response.
pub fn failure(error: DebuggerError) -> Response {
    let kind = if error.is_input_error() { ErrorKind::Input } else { ErrorKind::Failed };
    Response::error(kind, error.to_string())
}

async fn sessions(ctx: &Context) -> Response {
    let other_builds = borescope_ipc::builds::other_builds_with_sessions(&ctx.runtime).await;
    let (live, lost) = {
        let registry = ctx.registry.lock().await;
        (registry.all(), registry.lost_names())
    };
    let mut infos: Vec<SessionInfo> = Vec::new();
    for session in live {
        infos.push(session.describe().await);
    }
    for (name, _) in lost {
        infos.push(SessionInfo {
            name,
            language: borescope_model::Language::Python,
            state: SessionState::Exited,
            pid: None,
            command: vec!["(lost when the previous daemon stopped)".into()],
            attached: false,
            location: None,
            reason: None,
            exit: None,
            ended_because: None,
            breakpoints: 0,
        });
    }
    Response::ok(Answer::Sessions { sessions: infos, other_builds })
}

/// The program's standard input, from what the request says and the descriptor it carried.
fn stdin_mode(source: StdinSource, fd: Option<OwnedFd>) -> Result<StdinMode, Response> {
    match (source, fd) {
        (StdinSource::Caller, Some(fd)) => Ok(StdinMode::Fd(Arc::new(fd))),
        (StdinSource::Caller, None) => Err(Response::error(
            ErrorKind::Input,
            "the request said it hands over standard input but carried no descriptor",
        )),
        (StdinSource::Pipe, _) => Ok(StdinMode::Pipe),
    }
}

async fn start(ctx: &Context, name: &str, spec: StartRequest, fd: Option<OwnedFd>) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    let stdin = match stdin_mode(spec.stdin, fd) {
        Ok(stdin) => stdin,
        Err(response) => return response,
    };
    if let Err(message) = ctx.registry.lock().await.reserve(name) {
        return Response::error(ErrorKind::Input, message);
    }
    let launch = LaunchSpec {
        mode: StartMode::from_flags(spec.run, spec.stop_on_entry, !spec.breakpoints.is_empty()),
        command: spec.command,
        cwd: spec.cwd,
        location_base: spec.client_cwd,
        base_env: spec.env,
        env: spec.overrides,
        python: spec.python,
        language: spec.language,
        breakpoints: spec.breakpoints,
        stdin,
        exceptions: spec.exceptions,
        provision_debugpy: spec.provision_debugpy,
        timeout: Duration::from_millis(spec.timeout_ms),
        budget: spec.budget,
    };
    launch_into(ctx, name, launch).await
}

/// Launches a session and registers it under `name` (reserved by the caller).
async fn launch_into(ctx: &Context, name: &str, launch: LaunchSpec) -> Response {
    match Session::launch(name, launch.clone(), &ctx.cache_dir).await {
        Ok((session, report)) => {
            let mut registry = ctx.registry.lock().await;
            // An exited predecessor of the same name is replaced.
            if let Some(old) = registry.remove(name) {
                old.stop().await;
            }
            // The descriptor is not kept: `restart` gets its caller's standard input anew.
            let remembered = LaunchSpec { stdin: StdinMode::Null, ..launch };
            registry.insert_launched(name, session, remembered);
            Response::ok(Answer::Report(report))
        }
        Err(error) => {
            ctx.registry.lock().await.release(name);
            failure(error)
        }
    }
}

/// `restart`: ends the session's program and starts it again as `start` did, with the
/// breakpoints the session has now. Everything that can be checked is checked before the old
/// run is ended, so a restart that cannot start changes nothing.
async fn restart(
    ctx: &Context,
    name: &str,
    source: StdinSource,
    fd: Option<OwnedFd>,
    timeout: Duration,
    budget: borescope_model::Budget,
) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    let stdin = match stdin_mode(source, fd) {
        Ok(stdin) => stdin,
        Err(response) => return response,
    };
    let found = {
        let registry = ctx.registry.lock().await;
        match (registry.get(name), registry.launch_spec(name)) {
            (None, _) => None,
            (Some(_), None) => {
                return Response::error(
                    ErrorKind::Input,
                    format!(
                        "session `{name}` is attached to a process borescope did not start, so it cannot be restarted\nhint: `borescope stop --session {name}` detaches; restart the program yourself, then attach again"
                    ),
                );
            }
            (Some(old), Some(spec)) => Some((old, spec)),
        }
    };
    let Some((old, spec)) = found else {
        return missing(ctx, name).await;
    };
    let current = match old.breakpoints(BreakOp::List, &spec.location_base).await {
        Ok(Answer::Breakpoints { breakpoints, .. }) => breakpoints.into_iter().map(|b| b.spec).collect(),
        _ => spec.breakpoints.clone(),
    };
    let (again, later) = match spec.again_with(current) {
        Ok(checked) => checked,
        Err(error) => return failure(error),
    };
    if ctx.registry.lock().await.take_for_restart(name).is_none() {
        return missing(ctx, name).await;
    }
    old.stop().await;
    let launch = LaunchSpec { stdin, timeout, budget, ..again };
    let base = launch.location_base.clone();
    let mut response = launch_into(ctx, name, launch).await;
    // Breakpoints that need the new run paused (Node function breakpoints) go in now.
    let session = ctx.registry.lock().await.get(name);
    if let (Response::Ok { answer }, Some(session)) = (&mut response, session)
        && let Answer::Report(report) = answer.as_mut()
    {
        for spec in later {
            let function = spec.function.clone().unwrap_or_default();
            if let Err(error) = session.breakpoints(BreakOp::Set(spec), &base).await {
                report.notices.push(Notice::with_hint(
                    format!("the breakpoint on function `{function}` could not be set again: {error}"),
                    format!("set it with `borescope break --function {function}` once the program is paused"),
                ));
            }
        }
    }
    response
}

async fn stop(ctx: &Context, name: &str) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    let found = {
        let mut registry = ctx.registry.lock().await;
        if let Some(why) = registry.lost(name).map(str::to_string) {
            registry.remove(name); // reported once; the name is free again
            return Response::error(ErrorKind::Failed, why);
        }
        registry.remove(name).map(|session| (session, registry.take_listener(name)))
    };
    let Some((session, listener)) = found else {
        return missing(ctx, name).await;
    };
    let mut answer = session.stop().await;
    if let Some(listener) = listener {
        crate::pod::undo_any(listener, &mut answer).await;
    }
    Response::ok(answer)
}

/// Stops every session (daemon shutdown), all at once so each program's grace period runs at
/// the same time; attached processes are detached and keep running.
pub async fn stop_all(ctx: &Context) {
    let sessions = ctx.registry.lock().await.all();
    let mut stopping = tokio::task::JoinSet::new();
    for session in sessions {
        stopping.spawn(async move {
            let answer = session.stop().await;
            (session.info().name, answer)
        });
    }
    while let Some(stopped) = stopping.join_next().await {
        let Ok((name, mut answer)) = stopped else { continue };
        let listener = {
            let mut registry = ctx.registry.lock().await;
            registry.remove(&name);
            registry.take_listener(&name)
        };
        if let Some(listener) = listener {
            crate::pod::undo_any(listener, &mut answer).await;
        }
    }
}

