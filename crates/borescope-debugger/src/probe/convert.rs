//! Turning the agent's captures into model [`Stop`]s: frames classified, source attached.

use crate::agent::{AgentFrame, AgentStop};
use crate::frames::FrameClassifier;
use crate::source::source_context;
use borescope_model::{ExceptionInfo, Frame, Stop, StopReason};

/// Model frames (innermost first) from the agent's.
pub(crate) fn frames_from_agent(frames: &[AgentFrame], classifier: &FrameClassifier) -> Vec<Frame> {
    frames
        .iter()
        .enumerate()
        .map(|(index, f)| Frame {
            index,
            function: f.function.clone(),
            file: Some(f.file.clone()),
            line: Some(f.line),
            kind: classifier.classify(Some(&f.file)),
        })
        .collect()
}

/// A breakpoint hit.
pub(crate) fn hit_stop(stop: AgentStop, classifier: &FrameClassifier) -> Stop {
    let reason = StopReason::Breakpoint { hit: stop.hit };
    build(stop, reason, classifier)
}

/// An exception stop.
pub(crate) fn exception_stop(mut stop: AgentStop, classifier: &FrameClassifier) -> Stop {
    let reason = match stop.exception.take() {
        Some(exc) => StopReason::Exception(ExceptionInfo {
            type_name: exc.type_name,
            message: exc.message,
            uncaught: exc.uncaught,
            raised_at: exc.raised_at,
        }),
        None => StopReason::Other {
            description: "exception".into(),
        },
    };
    build(stop, reason, classifier)
}

fn build(stop: AgentStop, reason: StopReason, classifier: &FrameClassifier) -> Stop {
    let source = stop
        .location
        .as_ref()
        .and_then(|loc| source_context(&loc.file, loc.line));
    Stop {
        reason,
        function: stop.function,
        thread: stop.thread,
        source,
        stack: frames_from_agent(&stop.frames, classifier),
        frame_index: stop.frame_index,
        locals: stop.locals,
        locals_omitted: stop.locals_omitted,
        evals: stop.evals,
        notices: Vec::new(),
        location: stop.location,
    }
}
