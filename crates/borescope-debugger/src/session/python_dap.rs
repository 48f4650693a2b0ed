//! The DAP plumbing of Python sessions, launched or attached: debugpy's start-up handshake,
//! sending breakpoints and exception filters, and the task that turns DAP events into the
//! session's run state.

use super::breakpoints::BreakpointTable;
use super::functions::send_function_breakpoints;
use super::paths::PathMap;
use super::state::{RunState, Snapshot};
use crate::output::{OutputBuffer, PartialLines};
use crate::DebuggerError;
use borescope_dap::events::{OutputEvent, StoppedEvent};
use borescope_dap::requests as dap;
use borescope_dap::{DapClient, Event};
use borescope_model::{BreakpointState, ExceptionMode, OutputStream};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The DAP start-up sequence debugpy needs: authorize, initialize, attach *without awaiting*,
/// wait for `initialized`, configure, `configurationDone`, then await both answers. Returns
/// the events that arrived meanwhile.
pub(super) async fn handshake(
    client: &DapClient,
    events: &mut mpsc::UnboundedReceiver<Event>,
    token: &str,
    table: &mut BreakpointTable,
    paths: &PathMap,
    exceptions: ExceptionMode,
    redirect_output: bool,
) -> Result<Vec<Event>, DebuggerError> {
    client
        .request::<dap::PydevdAuthorize>(dap::PydevdAuthorizeArguments { debug_server_access_token: token.into() })
        .await?;
    client.request::<dap::Initialize>(dap::InitializeArguments::borescope("debugpy")).await?;
    configure(client, events, attach_arguments(redirect_output), table, paths, exceptions).await
}

/// The `attach` arguments borescope sends debugpy.
pub(super) fn attach_arguments(redirect_output: bool) -> Value {
    json!({
        "justMyCode": true,
        // A program borescope started has its output captured from its pipes; an attached
        // one writes where it always did, so debugpy relays it.
        "redirectOutput": redirect_output,
        "showReturnValue": false,
        "variablePresentation": {"special": "hide", "function": "hide", "class": "hide", "protected": "inline"},
    })
}

/// The start-up sequence after `initialize`: `attach` sent without awaiting (its answer comes
/// after `configurationDone`, or at once when it fails, e.g. a debugpy that already has a
/// client), `initialized`, breakpoints, exception filters, `configurationDone`.
pub(super) async fn configure(
    client: &DapClient,
    events: &mut mpsc::UnboundedReceiver<Event>,
    attach_arguments: Value,
    table: &mut BreakpointTable,
    paths: &PathMap,
    exceptions: ExceptionMode,
) -> Result<Vec<Event>, DebuggerError> {
    let attach = client.send::<dap::Attach>(attach_arguments).await?.wait();
    tokio::pin!(attach);
    let mut attached = false;
    let mut early = Vec::new();
    let deadline = tokio::time::sleep(Duration::from_secs(15));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            event = events.recv() => {
                let event = event.ok_or_else(|| DebuggerError::Protocol("debugpy closed the connection during start-up".into()))?;
                if event.event == "initialized" {
                    break;
                }
                early.push(event);
            }
            answer = &mut attach, if !attached => {
                answer?;
                attached = true;
            }
            _ = &mut deadline => {
                return Err(DebuggerError::Timeout("debugpy did not send `initialized` within 15s".into()));
            }
        }
    }
    for file in table.files() {
        send_file_breakpoints(client, table, paths, &file).await?;
    }
    if !table.functions().is_empty() {
        send_function_breakpoints(client, table).await?;
    }
    let filters: Vec<String> = match exceptions {
        ExceptionMode::Uncaught => vec!["uncaught".into()],
        ExceptionMode::Raised => vec!["raised".into(), "uncaught".into()],
        ExceptionMode::None => vec![],
    };
    client
        .request::<dap::SetExceptionBreakpoints>(dap::SetExceptionBreakpointsArguments { filters })
        .await?;
    let done = client.send::<dap::ConfigurationDone>(Value::Null).await?;
    done.wait().await?;
    if !attached {
        attach.await?;
    }
    Ok(early)
}

/// Sends one file's breakpoints and records how debugpy bound them.
pub(super) async fn send_file_breakpoints(
    client: &DapClient,
    table: &mut BreakpointTable,
    paths: &PathMap,
    file: &str,
) -> Result<(), DebuggerError> {
    let breakpoints: Vec<dap::SourceBreakpoint> = table
        .in_file(file)
        .iter()
        .filter_map(|e| Some((e, e.spec.line_location()?.line)))
        .map(|(e, line)| dap::SourceBreakpoint {
            line,
            condition: e.spec.condition.clone(),
            hit_condition: e.spec.hit.map(|n| n.to_string()),
            log_message: e.spec.log.clone(),
        })
        .collect();
    let reply = client
        .request::<dap::SetBreakpoints>(dap::SetBreakpointsArguments {
            source: dap::Source { path: Some(paths.to_theirs(file)), name: None },
            breakpoints,
        })
        .await?;
    let states = reply
        .breakpoints
        .into_iter()
        .map(|b| match (b.verified, b.line) {
            (true, Some(line)) => BreakpointState::Verified { line: Some(line) },
            (true, None) => BreakpointState::Pending,
            (false, _) => match b.message {
                Some(message) => BreakpointState::Rejected { message },
                None => BreakpointState::Pending,
            },
        })
        .collect();
    table.update_states(file, states);
    Ok(())
}

/// Turns DAP events into run-state changes; debugger messages (logpoints) go to the output.
/// With `ends_with_debugger` (a program reached by address, with no process to watch), debugpy's
/// `terminated` is the program's end, with the code of an `exited` before it if debugpy knew it;
/// kept in event order, so output the program printed last is in before its end is.
pub(super) async fn pump_events(
    mut events: mpsc::UnboundedReceiver<Event>,
    early: Vec<Event>,
    state: Arc<watch::Sender<Snapshot<StoppedEvent>>>,
    output: OutputBuffer,
    ends_with_debugger: bool,
) {
    let mut exit_code = None;
    // debugpy relays an attached program's writes as they happen: text and newline apart.
    let mut partial = PartialLines::default();
    let mut apply = |event: Event| match event.event.as_str() {
        "stopped" => {
            if let Ok(stopped) = serde_json::from_value::<StoppedEvent>(event.body) {
                state.send_modify(|s| {
                    if !matches!(s.run, RunState::Exited(_)) {
                        s.epoch += 1;
                        s.run = RunState::Paused(stopped);
                    }
                });
            }
        }
        "continued" => state.send_modify(|s| {
            if matches!(s.run, RunState::Paused(_)) {
                s.run = RunState::Running;
            }
        }),
        "exited" => exit_code = event.body.get("exitCode").and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok()),
        // Also debugpy's answer to borescope's own `disconnect`; a detaching session has read
        // its state before sending that.
        "terminated" if ends_with_debugger => state.send_modify(|s| {
            if !s.run.is_exited() {
                s.run = RunState::Exited(borescope_model::ExitInfo { code: exit_code, signal: None });
            }
        }),
        "output" => {
            if let Ok(out) = serde_json::from_value::<OutputEvent>(event.body) {
                // The program's own stdout/stderr come from its pipes (debugpy runs with
                // redirectOutput off), so output events carry only what the debugger itself
                // says: logpoint messages (category stdout) and warnings.
                let stream = match out.category.as_deref() {
                    Some("telemetry") => None,
                    Some("stderr") => Some(OutputStream::Stderr),
                    _ => Some(OutputStream::Stdout),
                };
                if let Some(stream) = stream {
                    for line in partial.feed(stream, &out.output) {
                        output.push(stream, line);
                    }
                }
            }
        }
        _ => {}
    };
    for event in early {
        apply(event);
    }
    while let Some(event) = events.recv().await {
        apply(event);
    }
    for (stream, rest) in partial.finish() {
        output.push(stream, rest);
    }
    state.send_modify(|s| {
        if !matches!(s.run, RunState::Exited(_)) {
            s.debugger_lost = true;
        }
    });
}

