//! One function per request: look up the session, call the debugger, wrap the answer.

use crate::registry::Registry;
use borescope_debugger::session::{BreakOp, LaunchSpec, RunAction, Session};
use borescope_debugger::DebuggerError;
use borescope_ipc::{BreakRequest, ErrorKind, Request, Response, RunActionArg, StartRequest};
use borescope_model::{Answer, SessionInfo, SessionState};

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Shared daemon state handed to every request.
pub struct Context {
    /// The sessions.
    pub registry: Mutex<Registry>,
    /// Cache directory (agent, debugpy).
    pub cache_dir: std::path::PathBuf,
}

/// Answers one request.
pub async fn handle(ctx: &Context, request: Request) -> Response {
    match request {
        Request::Ping | Request::Sessions => sessions(ctx).await,
        Request::Start { session, spec } => start(ctx, &session, *spec).await,
        Request::Attach { session, spec } => crate::attach::attach(ctx, &session, *spec).await,
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
        Request::Status { session } => with_session(ctx, &session, |s| async move { Ok(s.status()) }).await,
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
    let session = {
        let registry = ctx.registry.lock().await;
        match registry.get(name) {
            Some(session) => session,
            None => return missing(&registry, name),
        }
    };
    match f(session).await {
        Ok(answer) => Response::ok(answer),
        Err(error) => failure(error),
    }
}

fn missing(registry: &Registry, name: &str) -> Response {
    if let Some(why) = registry.lost(name) {
        return Response::error(ErrorKind::Failed, why.to_string());
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
    let registry = ctx.registry.lock().await;
    let mut infos: Vec<SessionInfo> = registry.all().iter().map(|s| s.info()).collect();
    for (name, _) in registry.lost_names() {
        infos.push(SessionInfo {
            name,
            language: borescope_model::Language::Python,
            state: SessionState::Exited,
            pid: None,
            command: vec!["(lost when the previous daemon stopped)".into()],
            attached: false,
            location: None,
            exit: None,
            breakpoints: 0,
        });
    }
    Response::ok(Answer::Sessions { sessions: infos })
}

async fn start(ctx: &Context, name: &str, spec: StartRequest) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    if let Err(message) = ctx.registry.lock().await.reserve(name) {
        return Response::error(ErrorKind::Input, message);
    }
    let launch = LaunchSpec {
        command: spec.command,
        cwd: spec.cwd,
        location_base: spec.client_cwd,
        base_env: spec.env,
        env: spec.overrides,
        python: spec.python,
        language: spec.language,
        breakpoints: spec.breakpoints,
        stop_on_entry: spec.stop_on_entry,
        exceptions: spec.exceptions,
        provision_debugpy: spec.provision_debugpy,
        timeout: Duration::from_millis(spec.timeout_ms),
        budget: spec.budget,
    };
    match Session::launch(name, launch, &ctx.cache_dir).await {
        Ok((session, report)) => {
            let mut registry = ctx.registry.lock().await;
            // An exited predecessor of the same name is replaced.
            if let Some(old) = registry.remove(name) {
                old.stop().await;
            }
            registry.insert(name, session, false);
            Response::ok(Answer::Report(report))
        }
        Err(error) => {
            ctx.registry.lock().await.release(name);
            failure(error)
        }
    }
}

async fn stop(ctx: &Context, name: &str) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    let (session, listener) = {
        let mut registry = ctx.registry.lock().await;
        let lost = registry.lost(name).map(str::to_string);
        match (registry.remove(name), lost) {
            (Some(session), _) => (session, registry.take_listener(name)),
            (None, Some(why)) => return Response::error(ErrorKind::Failed, why),
            (None, None) => return missing(&registry, name),
        }
    };
    let mut answer = session.stop().await;
    if let Some(listener) = listener {
        crate::attach::undo(listener, &mut answer).await;
    }
    Response::ok(answer)
}

/// Stops every session (daemon shutdown); attached processes are detached and keep running.
pub async fn stop_all(ctx: &Context) {
    let sessions = ctx.registry.lock().await.all();
    for session in sessions {
        let name = session.info().name;
        let mut answer = session.stop().await;
        let listener = {
            let mut registry = ctx.registry.lock().await;
            registry.remove(&name);
            registry.take_listener(&name)
        };
        if let Some(listener) = listener {
            crate::attach::undo(listener, &mut answer).await;
        }
    }
}

