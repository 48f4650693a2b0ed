//! Building model reports from debugpy's DAP answers: the stop (stack, locals, exception) and
//! variable listings. Values come from the agent when it can answer ([`super::python_values`]);
//! debugpy's own `variables` are the fallback.

use super::paths::PathMap;
use super::python_values::{stop_view, ViewFrame};
use crate::frames::FrameClassifier;
use crate::redact::{is_secret_name, redact_text};
use crate::source::source_context;
use crate::DebuggerError;
use borescope_dap::events::StoppedEvent;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::{
    Budget, ExceptionInfo, Frame, Location, Stop, StopReason, ThreadRef, Variable,
};

/// Frames fetched per stop.
const MAX_FRAMES: u32 = 200;

/// The stop a session is at, with the debugger ids needed to drill in.
#[derive(Debug, Clone)]
pub(super) struct CurrentStop {
    pub epoch: u64,
    pub thread_id: i64,
    pub frame_ids: Vec<i64>,
    pub stop: Stop,
    pub selected: usize,
}

/// Fetches stack, locals and exception details for a `stopped` event.
pub(super) async fn build_stop(
    client: &DapClient,
    event: &StoppedEvent,
    epoch: u64,
    classifier: &FrameClassifier,
    paths: &PathMap,
    budget: &Budget,
) -> Result<CurrentStop, DebuggerError> {
    let threads = client.request::<dap::Threads>(serde_json::Value::Null).await?;
    let thread_id = event
        .thread_id
        .or_else(|| threads.threads.first().map(|t| t.id))
        .ok_or_else(|| DebuggerError::Protocol("the debugger reported a stop without threads".into()))?;
    let thread_name = threads
        .threads
        .iter()
        .find(|t| t.id == thread_id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| format!("thread {thread_id}"));
    let trace = client
        .request::<dap::StackTrace>(dap::StackTraceArguments {
            thread_id,
            start_frame: None,
            levels: Some(MAX_FRAMES),
        })
        .await?;
    // The agent sees every frame (library and runtime ones too, which debugpy's justMyCode
    // leaves out) and captures locals as a probe does; debugpy's own answer is the fallback.
    let view = match trace.stack_frames.first() {
        Some(top) => stop_view(client, top.id, budget).await,
        None => None,
    };
    let (frames, frame_ids, selected, locals, omitted) = match view {
        Some(view) => (
            view_frames(&view.frames, classifier),
            view.frames.iter().map(|f| f.id).collect(),
            view.selected,
            view.variables,
            view.omitted,
        ),
        None => {
            let frame_ids: Vec<i64> = trace.stack_frames.iter().map(|f| f.id).collect();
            let (locals, omitted) = match frame_ids.first() {
                Some(&id) => frame_locals(client, id, budget).await?,
                None => (Vec::new(), 0),
            };
            (model_frames(&trace.stack_frames, classifier), frame_ids, 0, locals, omitted)
        }
    };
    let location = frames.get(selected).and_then(frame_location);
    let innermost = frames.first().and_then(frame_location);
    let reason = match event.reason.as_str() {
        "breakpoint" | "function breakpoint" => StopReason::Breakpoint { hit: None },
        "step" | "goto" => StopReason::Step,
        "pause" => StopReason::Pause,
        "entry" => StopReason::Entry,
        "exception" => {
            let info = client
                .request::<dap::ExceptionInfo>(dap::ThreadArguments { thread_id })
                .await
                .ok();
            StopReason::Exception(exception_info(event, info, innermost))
        }
        other => StopReason::Other {
            description: event.description.clone().unwrap_or_else(|| other.to_string()),
        },
    };
    let source = location
        .as_ref()
        .and_then(|loc| source_context(paths.readable(&loc.file), loc.line));
    Ok(CurrentStop {
        epoch,
        thread_id,
        frame_ids,
        selected,
        stop: Stop {
            reason,
            function: frames.get(selected).map(|f| f.function.clone()),
            thread: Some(ThreadRef {
                id: thread_id,
                name: thread_name,
            }),
            location,
            source,
            stack: frames,
            frame_index: selected,
            locals,
            locals_omitted: omitted,
            evals: Vec::new(),
            notices: Vec::new(),
        },
    })
}

fn exception_info(
    event: &StoppedEvent,
    info: Option<dap::ExceptionInfoResponse>,
    location: Option<Location>,
) -> ExceptionInfo {
    let (type_name, message, mode) = match info {
        Some(info) => {
            let details = info.details.unwrap_or(dap::ExceptionDetails {
                message: None,
                type_name: None,
                full_type_name: None,
                stack_trace: None,
            });
            // pydevd appends notes to the type name ("KeyError   (note: ...)"); keep the name.
            let type_name = Some(info.exception_id)
                .filter(|id| !id.trim().is_empty())
                .or(details.type_name)
                .unwrap_or_default();
            (
                type_name.split_whitespace().next().unwrap_or_default().to_string(),
                details.message.or(info.description).unwrap_or_default(),
                info.break_mode.unwrap_or_default(),
            )
        }
        None => (
            event.text.clone().unwrap_or_else(|| "exception".into()),
            event.description.clone().unwrap_or_default(),
            String::new(),
        ),
    };
    ExceptionInfo {
        type_name,
        message,
        uncaught: mode != "always",
        raised_at: location,
    }
}

/// Model frames from DAP frames, classified.
pub(super) fn model_frames(frames: &[dap::StackFrame], classifier: &FrameClassifier) -> Vec<Frame> {
    frames
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let file = f.source.as_ref().and_then(|s| s.path.clone());
            Frame {
                index,
                // pydevd marks the frame an exception stop is shown in; the marker is noise.
                function: f.name.trim_end_matches(" (Current frame)").to_string(),
                kind: classifier.classify(file.as_deref()),
                line: (f.line > 0).then_some(f.line),
                file,
            }
        })
        .collect()
}

/// Model frames from the agent's view of the stack, classified.
fn view_frames(frames: &[ViewFrame], classifier: &FrameClassifier) -> Vec<Frame> {
    frames
        .iter()
        .enumerate()
        .map(|(index, f)| Frame {
            index,
            function: f.function.clone(),
            kind: classifier.classify(Some(&f.file)),
            line: (f.line > 0).then_some(f.line),
            file: Some(f.file.clone()),
        })
        .collect()
}

/// A frame's `file:line`.
pub(super) fn frame_location(frame: &Frame) -> Option<Location> {
    Some(Location {
        file: frame.file.clone()?,
        line: frame.line?,
    })
}

/// The locals of a frame, within the budget.
pub(super) async fn frame_locals(
    client: &DapClient,
    frame_id: i64,
    budget: &Budget,
) -> Result<(Vec<Variable>, usize), DebuggerError> {
    let scopes = client
        .request::<dap::Scopes>(dap::ScopesArguments { frame_id })
        .await?;
    let scope = scopes
        .scopes
        .iter()
        .find(|s| s.presentation_hint.as_deref() == Some("locals"))
        .or_else(|| scopes.scopes.iter().find(|s| s.name.starts_with("Local")))
        .or_else(|| scopes.scopes.first());
    match scope {
        Some(scope) => children(client, scope.variables_reference, budget).await,
        None => Ok((Vec::new(), 0)),
    }
}

/// The children of a variable reference, within the budget.
pub(super) async fn children(
    client: &DapClient,
    reference: i64,
    budget: &Budget,
) -> Result<(Vec<Variable>, usize), DebuggerError> {
    let reply = client
        .request::<dap::Variables>(dap::VariablesArguments {
            variables_reference: reference,
            start: None,
            count: None,
        })
        .await?;
    let visible: Vec<&dap::Variable> = reply
        .variables
        .iter()
        .filter(|v| !is_pseudo(v))
        .collect();
    let omitted = visible.len().saturating_sub(budget.max_vars);
    let shown = visible
        .into_iter()
        .take(budget.max_vars)
        .map(|v| variable_from_dap(&v.name, &v.value, v.type_name.as_deref(), v.variables_reference, budget))
        .collect();
    Ok((shown, omitted))
}

/// debugpy's grouping entries and helper rows, which are not program values.
fn is_pseudo(variable: &dap::Variable) -> bool {
    variable.name == "len()"
        || (variable.name.ends_with(" variables") && variable.variables_reference > 0)
}

/// A model variable from DAP fields, redacted when its name looks secret.
pub(super) fn variable_from_dap(
    name: &str,
    value: &str,
    type_name: Option<&str>,
    reference: i64,
    budget: &Budget,
) -> Variable {
    let redacted = budget.redact && is_secret_name(name);
    Variable {
        name: name.to_string(),
        type_name: type_name.filter(|t| !t.is_empty()).map(str::to_string),
        value: if redacted {
            String::new()
        } else if budget.redact {
            redact_text(value).into_owned()
        } else {
            value.to_string()
        },
        full_length: None,
        cut: false,
        redacted,
        expandable: reference > 0,
        children: Vec::new(),
    }
}
