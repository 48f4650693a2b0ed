//! `attach` and the detach half of `stop`: starting debugpy inside a running process (the
//! attach capability, on a blocking thread), connecting a session to it (the debugger
//! capability), and undoing both.

use crate::handlers::{failure, valid_name, Context};
use borescope_attach::listen::{connect, start_debugpy, stop_debugpy, DebugpyListener, Detached, ListenOptions};
use borescope_attach::{AttachError, ThreadChoice};
use borescope_debugger::session::{AttachSpec, DebugStream, ExitWatch, PathMap, Session};
use borescope_ipc::{AttachRequest, ErrorKind, Response};
use borescope_model::{Answer, Notice, SessionReport};
use std::time::Duration;

/// How long debugpy may take to accept borescope's connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long detach waits for the main thread to unload debugpy.
const DETACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Attaches a new session `name` to the process in `spec`.
pub async fn attach(ctx: &Context, name: &str, spec: AttachRequest) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    if let Err(message) = ctx.registry.lock().await.reserve(name) {
        return Response::error(ErrorKind::Input, message);
    }
    let result = attach_session(ctx, name, spec).await;
    let mut registry = ctx.registry.lock().await;
    match result {
        Ok((session, listener, report)) => {
            // An ended predecessor of the same name is replaced.
            if let Some(old) = registry.remove(name) {
                old.stop().await;
            }
            registry.insert_attached(name, session, crate::registry::Attachment::Local(Box::new(listener)));
            Response::ok(Answer::Report(report))
        }
        Err(response) => {
            registry.release(name);
            response
        }
    }
}

async fn attach_session(ctx: &Context, name: &str, spec: AttachRequest) -> Result<(Session, DebugpyListener, SessionReport), Response> {
    let token = borescope_debugger::debugpy::random_token().map_err(failure)?;
    let options = ListenOptions {
        token: Some(token.clone()),
        thread: spec.thread.map(ThreadChoice::Native).unwrap_or(ThreadChoice::Main),
        pickup_timeout: Duration::from_millis(spec.timeout_ms),
        cache_bytecode: true,
    };
    let cache = ctx.cache_dir.clone();
    let ship = spec.ship_debugpy;
    let pid = spec.pid;
    let handle = tokio::runtime::Handle::current();
    let started = tokio::task::spawn_blocking(move || {
        let mut copy = || {
            if !ship {
                return Err("shipping debugpy was turned off (--no-ship-debugpy)".to_string());
            }
            handle.block_on(borescope_debugger::debugpy::provision(&cache)).map_err(|e| e.to_string())
        };
        let listener = start_debugpy(pid, &options, &mut copy)?;
        match connect(&listener, CONNECT_TIMEOUT) {
            Ok(stream) => Ok((listener, stream)),
            Err(error) => {
                stop_debugpy(pid, listener.target.start_time, &listener.dir, listener.thread_choice, DETACH_TIMEOUT);
                Err(error)
            }
        }
    })
    .await
    .map_err(|e| Response::error(ErrorKind::Failed, format!("the attach task failed: {e}")))?
    .map_err(attach_failure)?;
    let (listener, stream) = started;
    let paths = if listener.target.same_filesystem {
        PathMap::same()
    } else {
        PathMap::rooted(listener.target.outside("/"), listener.target.root.clone())
    };
    let attach = AttachSpec {
        pid,
        watch: ExitWatch::Process { start_time: listener.target.start_time },
        command: borescope_inject::procfs::cmdline(pid).unwrap_or_default(),
        described: format!("pid {pid}"),
        stream: DebugStream::Tcp(stream),
        token,
        paths,
        runtime_dirs: listener.runtime_dirs.clone(),
        breakpoints: spec.breakpoints,
        location_base: spec.client_cwd,
        exceptions: spec.exceptions,
        budget: spec.budget,
    };
    match Session::attach(name, attach).await {
        Ok((session, mut report)) => {
            let shipped = if listener.shipped { ", shipped in by borescope" } else { "" };
            report.notices.insert(
                0,
                Notice::plain(format!(
                    "Python {} (`{}`), debugpy {}{shipped}; started by thread `{}`",
                    listener.python, listener.executable, listener.debugpy, listener.thread
                )),
            );
            Ok((session, listener, report))
        }
        Err(error) => {
            let start_time = listener.target.start_time;
            let (dir, thread) = (listener.dir.clone(), listener.thread_choice);
            let _ = tokio::task::spawn_blocking(move || stop_debugpy(pid, start_time, &dir, thread, DETACH_TIMEOUT)).await;
            Err(failure(error))
        }
    }
}

/// Undoes what attach set up in the process (after the session disconnected), and says so in
/// the `stop` answer when it could not finish.
pub async fn undo(listener: DebugpyListener, answer: &mut Answer) {
    let pid = listener.target.pid;
    let start_time = listener.target.start_time;
    let thread = listener.thread_choice;
    let outcome = tokio::task::spawn_blocking(move || stop_debugpy(pid, start_time, &listener.dir, thread, DETACH_TIMEOUT))
        .await
        .unwrap_or_else(|e| Detached::Deferred(e.to_string()));
    if let (Detached::Deferred(why), Answer::Ended { notices, .. }) = (outcome, answer) {
        let first = why.lines().next().unwrap_or_default().to_string();
        notices.push(Notice::with_hint(
            format!("breakpoints are removed and the program runs on, but debugpy is not unloaded yet: {first}"),
            "it stays queued and unloads itself the next time that thread runs Python code",
        ));
    }
}

fn attach_failure(error: AttachError) -> Response {
    let kind = if error.is_input_error() { ErrorKind::Input } else { ErrorKind::Failed };
    Response::error(kind, error.to_string())
}
