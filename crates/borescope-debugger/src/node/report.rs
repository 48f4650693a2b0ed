//! Building model reports from V8's pause: frames (with async callers), merged block and
//! function scopes, exceptions.

use super::session::Scripts;
use super::urls::url_to_path;
use super::values::{display_expanded, variable, wants_expansion};
use crate::frames::FrameClassifier;
use crate::source::source_context;
use crate::DebuggerError;
use borescope_cdp::commands::{GetProperties, PropertiesOf};
use borescope_cdp::events::Paused;
use borescope_cdp::types::{CallFrame, RemoteObject};
use borescope_cdp::CdpClient;
use borescope_model::{Budget, ExceptionInfo, Frame, FrameKind, Location, Stop, StopReason, ThreadRef, Variable};

/// Async caller frames shown at most.
const MAX_ASYNC_FRAMES: usize = 30;

/// The thread every Node stop is on (the main JavaScript thread).
pub(crate) fn main_thread() -> ThreadRef {
    ThreadRef { id: 1, name: "main".into() }
}

/// Frames of a pause, innermost first, then async callers (marked `async`). Frames whose URL
/// V8 left empty are looked up by script id in `scripts`.
pub(crate) fn frames(paused: &Paused, classifier: &FrameClassifier, scripts: &Scripts) -> Vec<Frame> {
    let known = scripts.lock().map(|m| m.clone()).unwrap_or_default();
    let mut frames: Vec<Frame> = paused
        .call_frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let url = if frame.url.is_empty() {
                known.get(&frame.location.script_id).cloned().unwrap_or_default()
            } else {
                frame.url.clone()
            };
            model_frame(index, &frame.function_name, &url, frame.location.line_number as i64, classifier)
        })
        .collect();
    let mut segment = paused.async_stack_trace.as_ref();
    while let Some(trace) = segment {
        for call in &trace.call_frames {
            if frames.len() >= paused.call_frames.len() + MAX_ASYNC_FRAMES {
                break;
            }
            let index = frames.len();
            let mut frame = model_frame(index, &call.function_name, &call.url, call.line_number, classifier);
            frame.function = format!("async {}", frame.function);
            frames.push(frame);
        }
        segment = trace.parent.as_deref();
    }
    frames
}

fn model_frame(index: usize, function: &str, url: &str, line: i64, classifier: &FrameClassifier) -> Frame {
    let file = (!url.is_empty()).then(|| url_to_path(url));
    Frame {
        index,
        function: if function.is_empty() { "(anonymous)".into() } else { function.to_string() },
        kind: if url.is_empty() { FrameKind::Runtime } else { classifier.classify(file.as_deref()) },
        line: u32::try_from(line + 1).ok(),
        file,
    }
}

/// The exception a pause carries.
pub(crate) fn exception_info(paused: &Paused, location: Option<Location>) -> ExceptionInfo {
    let data = paused.data.clone().unwrap_or_default();
    let (type_name, message) = match data.kind.as_str() {
        "object" => {
            let class = data.class_name.clone().unwrap_or_else(|| "Error".into());
            let first = data.description.as_deref().and_then(|d| d.lines().next()).unwrap_or_default();
            let message = first
                .strip_prefix(&format!("{class}: "))
                .or_else(|| first.split_once(": ").map(|(_, m)| m))
                .unwrap_or(first)
                .to_string();
            (class, message)
        }
        _ => (
            format!("thrown {}", data.kind),
            super::values::display(&data),
        ),
    };
    ExceptionInfo {
        type_name,
        message,
        uncaught: data.uncaught.unwrap_or(paused.reason == "promiseRejection"),
        raised_at: location,
    }
}

/// A full stop report for a pause.
pub(crate) async fn build_stop(
    client: &CdpClient,
    paused: &Paused,
    reason: StopReason,
    classifier: &FrameClassifier,
    scripts: &Scripts,
    budget: &Budget,
    closures: bool,
) -> Result<Stop, DebuggerError> {
    let stack = frames(paused, classifier, scripts);
    let location = stack.first().and_then(|f| Some(Location { file: f.file.clone()?, line: f.line? }));
    let (locals, omitted) = match paused.call_frames.first() {
        Some(frame) => frame_locals(client, frame, budget, closures).await?,
        None => (Vec::new(), 0),
    };
    let reason = match reason {
        StopReason::Exception(_) => StopReason::Exception(exception_info(paused, location.clone())),
        other => other,
    };
    Ok(Stop {
        reason,
        function: stack.first().map(|f| f.function.clone()),
        thread: Some(main_thread()),
        source: location.as_ref().and_then(|l| source_context(&l.file, l.line)),
        location,
        stack,
        frame_index: 0,
        locals,
        locals_omitted: omitted,
        evals: Vec::new(),
        notices: Vec::new(),
    })
}

/// Locals of a frame: every `block`, `catch` and `with` scope merged with the function's
/// `local` scope (inner names shadow outer ones). With `closures`, closure, script and module
/// scopes follow; `global` never does.
pub(crate) async fn frame_locals(
    client: &CdpClient,
    frame: &CallFrame,
    budget: &Budget,
    closures: bool,
) -> Result<(Vec<Variable>, usize), DebuggerError> {
    let mut seen: Vec<Variable> = Vec::new();
    let mut total = 0usize;
    let mut past_function = false;
    for scope in &frame.scope_chain {
        let wanted = match scope.kind.as_str() {
            "block" | "catch" | "with" | "eval" => !past_function || closures,
            "local" => true,
            "closure" | "script" | "module" => closures,
            _ => false,
        };
        if scope.kind == "local" {
            past_function = true;
        }
        if !wanted {
            continue;
        }
        let Some(object_id) = scope.object.object_id.clone() else { continue };
        // CommonJS wraps a module in a function whose parameters are these; at module level they
        // are noise, like Python's module dunders.
        let wrapper = scope.kind == "local" && frame.function_name.is_empty();
        for (name, value) in properties(client, &object_id).await? {
            if seen.iter().any(|v| v.name == name)
                || (wrapper && matches!(name.as_str(), "exports" | "require" | "module" | "__filename" | "__dirname"))
            {
                continue;
            }
            total += 1;
            if seen.len() < budget.max_vars {
                seen.push(deep_variable(client, &name, &value, budget).await);
            }
        }
    }
    Ok((seen, total.saturating_sub(budget.max_vars)))
}

/// The own properties of an object, as (name, value); accessors without a value are skipped.
pub(crate) async fn properties(client: &CdpClient, object_id: &str) -> Result<Vec<(String, RemoteObject)>, DebuggerError> {
    let reply = client
        .call::<GetProperties>(PropertiesOf {
            object_id: object_id.to_string(),
            own_properties: true,
            generate_preview: true,
        })
        .await?;
    Ok(reply
        .result
        .into_iter()
        .filter_map(|p| p.value.map(|v| (p.name, v)))
        .filter(|(name, _)| name != "__proto__")
        .collect())
}

/// The children of an object within the budget.
pub(crate) async fn children(client: &CdpClient, object_id: &str, budget: &Budget) -> Result<(Vec<Variable>, usize), DebuggerError> {
    let all = properties(client, object_id).await?;
    let omitted = all.len().saturating_sub(budget.max_vars);
    let mut shown = Vec::new();
    for (name, value) in all.iter().take(budget.max_vars) {
        shown.push(deep_variable(client, name, value, budget).await);
    }
    Ok((shown, omitted))
}

/// Children shown when a value is expanded one level past its preview.
const EXPAND_CHILDREN: usize = 20;

/// A variable whose display goes `budget.depth` levels deep: V8's preview shows one level; for
/// depth 2 and more, nested objects are fetched once more.
pub(crate) async fn deep_variable(client: &CdpClient, name: &str, value: &RemoteObject, budget: &Budget) -> Variable {
    let mut var = variable(name, value, budget);
    if budget.depth < 2 || var.redacted || !wants_expansion(value) {
        return var;
    }
    let Some(object_id) = value.object_id.as_deref() else { return var };
    if let Ok(children) = properties(client, object_id).await {
        let overflow = children.len() > EXPAND_CHILDREN;
        let shown: Vec<(String, RemoteObject)> = children.into_iter().take(EXPAND_CHILDREN).collect();
        let text = display_expanded(value, &shown, overflow);
        var.value = if budget.redact { crate::redact::redact_text(&text).into_owned() } else { text };
    }
    var
}
