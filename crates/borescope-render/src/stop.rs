//! Rendering one [`Stop`]: headline, source, stack, locals, evaluated expressions.

use crate::RenderContext;
use crate::text::{Notes, variable_line};
use borescope_model::{Frame, FrameKind, Notice, SourceContext, Stop, StopReason};

/// Renders a stop report as text (notes included, size cap applied).
pub fn render_stop(stop: &Stop, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    write_stop(&mut out, stop, ctx, &mut notes);
    crate::text::finish(out, &notes, ctx)
}

/// The one-line reason, e.g. `Stopped at breakpoint app.py:6 in total (thread MainThread)`.
pub(crate) fn headline(stop: &Stop, ctx: &RenderContext) -> String {
    let place = match &stop.location {
        Some(loc) => {
            let mut place = ctx.paths.location(&loc.file, Some(loc.line));
            if let Some(function) = &stop.function {
                place.push_str(" in ");
                place.push_str(function);
            }
            place
        }
        None => match stop.stack.first().and_then(|f| f.file.as_deref()) {
            Some(file) => format!("{} (start of module)", ctx.paths.show(file)),
            None => "an unknown location".to_string(),
        },
    };
    let mut extra = Vec::new();
    if let Some(thread) = &stop.thread {
        extra.push(format!("thread {}", thread.name));
    }
    let head = match &stop.reason {
        StopReason::Breakpoint { hit } => {
            if let Some(hit) = hit {
                extra.push(format!("hit {hit}"));
            }
            format!("Stopped at breakpoint {place}")
        }
        StopReason::Step => format!("Stopped after step at {place}"),
        StopReason::Pause => format!("Paused at {place}"),
        StopReason::Entry => format!("Stopped on entry at {place}"),
        StopReason::Exception(info) => {
            let kind = if info.uncaught {
                "Uncaught exception"
            } else {
                "Exception raised"
            };
            let message = if info.message.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::text::cut(&info.message, 300).0)
            };
            let raised = match &info.raised_at {
                Some(at) if Some(at) != stop.location.as_ref() => format!(
                    "\n  raised at {}",
                    ctx.paths.location(&at.file, Some(at.line))
                ),
                _ => String::new(),
            };
            format!("{kind} {}{message}{raised}\n  stopped at {place}", info.type_name)
        }
        StopReason::Other { description } => format!("Stopped ({description}) at {place}"),
    };
    if extra.is_empty() {
        head
    } else {
        format!("{head} ({})", extra.join(", "))
    }
}

/// Writes numbered source lines, `>` marking the current one.
pub(crate) fn write_source(out: &mut String, source: &SourceContext) {
    let last = source.first_line as usize + source.lines.len().saturating_sub(1);
    let width = last.to_string().len();
    for (i, text) in source.lines.iter().enumerate() {
        let number = source.first_line as usize + i;
        let marker = if number == source.current_line as usize { ">" } else { " " };
        let line = format!("{marker} {number:>width$} | {text}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// Writes the full stop into `out`, collecting notes.
pub(crate) fn write_stop(out: &mut String, stop: &Stop, ctx: &RenderContext, notes: &mut Notes) {
    out.push_str(&headline(stop, ctx));
    out.push('\n');
    if let Some(source) = &stop.source {
        write_source(out, source);
    }
    if !stop.stack.is_empty() {
        match &stop.thread {
            Some(thread) => out.push_str(&format!(
                "--- stack (thread {}, innermost first) ---\n",
                thread.name
            )),
            None => out.push_str("--- stack (innermost first) ---\n"),
        }
        write_stack(out, &stop.stack, Some(stop.frame_index), ctx);
    }
    let frame_note = if stop.frame_index > 0 {
        format!(" (frame #{})", stop.frame_index)
    } else {
        String::new()
    };
    out.push_str(&format!("--- locals{frame_note} ---\n"));
    if stop.locals.is_empty() {
        out.push_str("(none)\n");
    }
    for var in &stop.locals {
        variable_line(out, var, 0, ctx, notes);
    }
    if stop.locals_omitted > 0 {
        out.push_str(&format!("... {} more not shown\n", stop.locals_omitted));
        notes.add(Notice::with_hint(
            format!(
                "{} more locals not shown (limit {})",
                stop.locals_omitted, ctx.budget.max_vars
            ),
            "--max-vars N shows more",
        ));
    }
    if !stop.evals.is_empty() {
        out.push_str("--- eval ---\n");
        for eval in &stop.evals {
            match (&eval.value, &eval.error) {
                (Some(value), _) => {
                    let mut var = value.clone();
                    var.name = eval.expression.clone();
                    variable_line(out, &var, 0, ctx, notes);
                }
                (None, Some(error)) => {
                    out.push_str(&format!("{} -> error: {error}\n", eval.expression));
                }
                (None, None) => out.push_str(&format!("{} -> no value\n", eval.expression)),
            }
        }
    }
    notes.extend(&stop.notices);
}

/// Writes a stack, one frame per line, collapsing runs of non-user frames into one line.
pub(crate) fn write_stack(
    out: &mut String,
    frames: &[Frame],
    selected: Option<usize>,
    ctx: &RenderContext,
) {
    let name_width = frames
        .iter()
        .filter(|f| f.kind == FrameKind::User)
        .map(|f| f.function.chars().count())
        .max()
        .unwrap_or(0)
        .min(32);
    let mut i = 0;
    while i < frames.len() {
        let frame = &frames[i];
        let keep = frame.kind == FrameKind::User || Some(frame.index) == selected;
        if keep {
            let marker = if Some(frame.index) == selected && frames.len() > 1 {
                "*"
            } else {
                " "
            };
            let place = match &frame.file {
                Some(file) => ctx.paths.location(file, frame.line),
                None => "<no source>".to_string(),
            };
            let line = format!(
                "{marker}#{:<3} {:<name_width$}  {place}",
                frame.index, frame.function
            );
            out.push_str(line.trim_end());
            out.push('\n');
            i += 1;
            continue;
        }
        let start = i;
        while i < frames.len()
            && frames[i].kind != FrameKind::User
            && Some(frames[i].index) != selected
        {
            i += 1;
        }
        out.push_str(&collapsed(&frames[start..i]));
    }
}

fn collapsed(run: &[Frame]) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    let mut places: Vec<String> = Vec::new();
    for frame in run {
        let kind = match frame.kind {
            FrameKind::Library => "library",
            FrameKind::Runtime => "runtime",
            FrameKind::Debugger => "debugger",
            FrameKind::User => "user",
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        let place = frame
            .file
            .as_deref()
            .map(short_place)
            .unwrap_or_else(|| frame.function.clone());
        if !places.contains(&place) && places.len() < 3 {
            places.push(place);
        }
    }
    let first = run.first().map(|f| f.index).unwrap_or(0);
    let last = run.last().map(|f| f.index).unwrap_or(0);
    let range = if first == last {
        format!("#{first}")
    } else {
        format!("#{first}-#{last}")
    };
    let noun = if run.len() == 1 { "frame" } else { "frames" };
    format!(
        "  {range} ... {} {} {noun} ({})\n",
        run.len(),
        kinds.join("/"),
        places.join(", ")
    )
}

/// A library or runtime frame's short place: the package or module, not the full path.
fn short_place(file: &str) -> String {
    for marker in ["site-packages/", "dist-packages/", "node_modules/"] {
        if let Some(pos) = file.rfind(marker) {
            let rest = &file[pos + marker.len()..];
            return rest.split('/').next().unwrap_or(rest).to_string();
        }
    }
    let name = file.rsplit('/').next().unwrap_or(file);
    name.trim_start_matches("node:").to_string()
}
