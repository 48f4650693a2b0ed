//! The Node event pump: turns CDP events into the session's run state. It decides what each
//! pause *is* (V8 reports breakpoints and steps alike as reason `other`, told apart by
//! `hitBreakpoints` checked against where each breakpoint was asked for), passes the initial
//! `--inspect-brk` pause, counts hits, re-sets breakpoints V8 bound to the wrong line, records
//! parsed scripts, and hangs up when the program's code is done so Node can exit.

use super::breakpoints::{send, HitDecision, NodeBreakpoints};
use super::session::{NodePause, PauseState, Scripts};
use crate::session::{RunAction, RunState};
use borescope_cdp::commands as cdp;
use borescope_cdp::events::{BreakpointResolved, Paused};
use borescope_cdp::{CdpClient, Event};
use borescope_cdp::types::RemoteObject;
use borescope_model::{OutputStream, StopReason};
use crate::output::OutputBuffer;
use std::sync::{Arc, Mutex as StdMutex};
use tokio::sync::{mpsc, watch};

/// What to do with Node's initial pause (before the first line).
pub(crate) struct EntryChoice {
    /// Report it as a stop (`--stop-on-entry`).
    pub stop: bool,
    /// Keep the program there, held, until the first run command (kept in `pause`).
    pub hold: bool,
    /// Where a held program's initial pause is kept.
    pub pause: super::session::EntryPause,
}

/// Turns CDP events into run-state changes; `started` is set once the initial pause is handled.
/// `attached` is set for a program borescope did not start (reached by address): there is no
/// output pipe, so its console calls go to that buffer; no initial pause is expected; and the
/// end of the connection is the end of the program.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn pump_events(
    mut events: mpsc::UnboundedReceiver<Event>,
    client: Arc<CdpClient>,
    state: PauseState,
    breakpoints: Arc<StdMutex<NodeBreakpoints>>,
    last_action: Arc<StdMutex<Option<RunAction>>>,
    scripts: Scripts,
    entry_choice: EntryChoice,
    started: watch::Sender<bool>,
    attached: Option<OutputBuffer>,
) {
    // A program borescope started with `--inspect-brk` pauses before its first line; one it
    // attached to pauses there only if its own `--inspect-brk` said so ("Break on start").
    let mut first_pause = attached.is_none();
    let mut main_context: Option<i64> = None;
    while let Some(event) = events.recv().await {
        match event.method.as_str() {
            "Debugger.paused" => {
                let paused = match serde_json::from_value::<Paused>(event.params) {
                    Ok(paused) => paused,
                    Err(error) => {
                        tracing::warn!(%error, "undecodable Debugger.paused");
                        continue;
                    }
                };
                tracing::debug!(reason = %paused.reason, hit = ?paused.hit_breakpoints, "paused");
                let top = paused.call_frames.first();
                let top_file = top.and_then(|f| {
                    let url = if f.url.is_empty() {
                        scripts.lock().ok().and_then(|m| m.get(&f.location.script_id).cloned()).unwrap_or_default()
                    } else {
                        f.url.clone()
                    };
                    (!url.is_empty()).then(|| super::urls::url_to_path(&url))
                });
                let top_line = top.map(|f| f.location.line_number + 1).unwrap_or(0);
                let hits = breakpoints
                    .lock()
                    .map(|table| table.at(&paused.hit_breakpoints, top_file.as_deref(), top_line))
                    .unwrap_or_default();
                // The first pause is Node's `--inspect-brk` stop before the first line (reason
                // `Break on start`, or `ambiguous` when V8 also names a breakpoint).
                // A held program keeps that pause even when a breakpoint sits on its first line;
                // the first `continue` reports the breakpoint then.
                let entry = (std::mem::take(&mut first_pause) || paused.reason == "Break on start")
                    && (hits.is_empty() || (entry_choice.hold && !entry_choice.stop));
                let action = last_action.lock().ok().and_then(|a| *a);
                let reason = if entry {
                    if entry_choice.hold && !entry_choice.stop {
                        if let Ok(mut kept) = entry_choice.pause.lock() {
                            *kept = Some(paused);
                        }
                        state.send_modify(|s| {
                            if !s.run.is_exited() {
                                s.run = RunState::Held;
                            }
                        });
                        let _ = started.send(true);
                        continue;
                    }
                    if !entry_choice.stop {
                        let _ = client.call::<cdp::Resume>(cdp::NoParams {}).await;
                        let _ = started.send(true);
                        continue;
                    }
                    let _ = started.send(true);
                    StopReason::Entry
                } else {
                    match paused.reason.as_str() {
                        "exception" | "promiseRejection" => StopReason::Exception(borescope_model::ExceptionInfo {
                            type_name: String::new(),
                            message: String::new(),
                            uncaught: true,
                            raised_at: None,
                        }),
                        _ if !hits.is_empty() => {
                            let decision = match breakpoints.lock() {
                                Ok(mut table) => table.count(&hits),
                                Err(_) => HitDecision::Stop(None),
                            };
                            match (decision, action) {
                                (HitDecision::Stop(hit), _) => StopReason::Breakpoint { hit },
                                (HitDecision::Resume, Some(RunAction::Next | RunAction::Step | RunAction::Out)) => StopReason::Step,
                                (HitDecision::Resume, _) => {
                                    let _ = client.call::<cdp::Resume>(cdp::NoParams {}).await;
                                    continue;
                                }
                            }
                        }
                        "other" | "step" | "debugCommand" | "ambiguous" => match action {
                            Some(RunAction::Pause) => StopReason::Pause,
                            Some(RunAction::Next | RunAction::Step | RunAction::Out) => StopReason::Step,
                            // V8 names a breakpoint, but not one at this line (see `at`).
                            _ if !paused.hit_breakpoints.is_empty() => {
                                let _ = client.call::<cdp::Resume>(cdp::NoParams {}).await;
                                continue;
                            }
                            _ => StopReason::Other { description: paused.reason.clone() },
                        },
                        other => StopReason::Other { description: other.to_string() },
                    }
                };
                let _ = started.send(true);
                let pause = Arc::new(NodePause { event: paused, reason });
                state.send_modify(|s| {
                    if !s.run.is_exited() {
                        s.epoch += 1;
                        s.run = RunState::Paused(pause);
                    }
                });
            }
            "Debugger.resumed" => state.send_modify(|s| {
                if s.run.is_paused() {
                    s.run = RunState::Running;
                }
            }),
            "Debugger.breakpointResolved" => {
                if let Ok(resolved) = serde_json::from_value::<BreakpointResolved>(event.params) {
                    let retry = breakpoints
                        .lock()
                        .ok()
                        .and_then(|mut table| table.resolved(&resolved.breakpoint_id, resolved.location.line_number));
                    if let Some((id, spec)) = retry {
                        let old = cdp::BreakpointId { breakpoint_id: resolved.breakpoint_id.clone() };
                        let _ = client.call::<cdp::RemoveBreakpoint>(old).await;
                        if let Ok((v8_id, bp_state)) = send(&client, &spec).await
                            && let Ok(mut table) = breakpoints.lock() {
                                table.v8_ids.insert(id, v8_id);
                                table.table.set_state(id, bp_state);
                            }
                    }
                }
            }
            "Debugger.scriptParsed" => {
                let id = event.params.get("scriptId").and_then(|v| v.as_str());
                let url = event.params.get("url").and_then(|v| v.as_str());
                if let (Some(id), Some(url)) = (id, url)
                    && let Ok(mut map) = scripts.lock() {
                        map.insert(id.to_string(), url.to_string());
                    }
            }
            "Runtime.consoleAPICalled" => {
                if let Some(output) = &attached {
                    console_line(output, &event.params);
                }
            }
            "Runtime.executionContextCreated"
                if main_context.is_none() => {
                    main_context = event.params.pointer("/context/id").and_then(|v| v.as_i64());
                }
            "Runtime.executionContextDestroyed" => {
                let id = event.params.get("executionContextId").and_then(|v| v.as_i64());
                if id.is_some() && id == main_context {
                    // The program's code is done; Node waits for us to hang up before exiting.
                    client.close().await;
                }
            }
            _ => {}
        }
    }
    state.send_modify(|s| {
        if s.run.is_exited() {
            return;
        }
        if attached.is_some() {
            // No process to wait for: the inspector's connection ends with the program (or
            // when borescope detaches).
            s.run = RunState::Exited(borescope_model::ExitInfo { code: None, signal: None });
        } else {
            s.debugger_lost = true;
        }
    });
}

/// One console call (`console.log(...)`) as an output line: strings as they are, other values
/// as the debugger shows them; errors and warnings on stderr.
fn console_line(output: &OutputBuffer, params: &serde_json::Value) {
    let stream = match params.get("type").and_then(|t| t.as_str()) {
        Some("error" | "warning" | "assert" | "trace") => OutputStream::Stderr,
        _ => OutputStream::Stdout,
    };
    let args: Vec<RemoteObject> = params
        .get("args")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    let text: Vec<String> = args
        .iter()
        .map(|arg| match (&arg.kind[..], &arg.value) {
            ("string", Some(serde_json::Value::String(text))) => text.clone(),
            _ => super::values::display(arg),
        })
        .collect();
    for line in text.join(" ").lines() {
        output.push(stream, line.to_string());
    }
}
