//! Rendering one [`Stop`]: headline, source, stack, locals, evaluated expressions.

use crate::RenderContext;
use crate::text::{Notes, eval_lines, variable_line};
use borescope_model::wording::counted;
use borescope_model::{Frame, FrameKind, Location, Notice, SourceContext, Stop, StopReason, ThreadRef};

/// Renders a stop report as text (notes included, size cap applied).
pub fn render_stop(stop: &Stop, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    write_stop(&mut out, stop, ctx, &mut notes);
    crate::text::finish(out, &notes, ctx)
}

/// Where a stop is: `app.py:6 in total`, or the module start, or that it is unknown.
pub(crate) fn place(stop: &Stop, ctx: &RenderContext) -> String {
    match &stop.location {
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
    }
}

/// The one-line reason, e.g. `Stopped at breakpoint app.py:6 in total (thread MainThread)`.
pub(crate) fn headline(stop: &Stop, ctx: &RenderContext) -> String {
    let place = place(stop, ctx);
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
    write_stop_body(out, stop, ctx, notes);
}

/// Everything of a stop below its headline: source, stack, locals, evaluated expressions.
pub(crate) fn write_stop_body(out: &mut String, stop: &Stop, ctx: &RenderContext, notes: &mut Notes) {
    write_stop_source(out, stop);
    write_stack_section(out, stop, ctx);
    write_values(out, stop, ctx, notes);
}

/// Writes a stop that follows others in the same report (`--hits`): the headline, then source
/// and stack only where they differ from the last ones written (else which hit showed them),
/// then the values. `shown` remembers what was last written and is updated; `hit` is this
/// stop's number in the report.
pub(crate) fn write_stop_after(
    out: &mut String,
    stop: &Stop,
    shown: &mut Shown,
    hit: usize,
    ctx: &RenderContext,
    notes: &mut Notes,
) {
    out.push_str(&headline(stop, ctx));
    out.push('\n');
    write_stop_body_after(out, stop, shown, &format!("hit {hit}"), ctx, notes);
}

/// [`write_stop_body`] for a stop that follows others: source and stack only where they differ
/// from the last ones written, else a line naming the earlier stop (`label`, e.g. `hit 2`)
/// that showed them.
pub(crate) fn write_stop_body_after(
    out: &mut String,
    stop: &Stop,
    shown: &mut Shown,
    label: &str,
    ctx: &RenderContext,
    notes: &mut Notes,
) {
    let same_source = shown.source.as_ref().is_some_and(|(source, _)| *source == SourceKey::of(stop));
    let same_stack = shown.stack.as_ref().is_some_and(|(stack, _)| *stack == StackKey::of(stop));
    let label_of = |entry: Option<&String>| entry.cloned().unwrap_or_else(|| "hit 1".to_string());
    let (source_label, stack_label) = (
        label_of(shown.source.as_ref().map(|(_, n)| n)),
        label_of(shown.stack.as_ref().map(|(_, n)| n)),
    );
    match (same_source, same_stack) {
        (true, true) if source_label == stack_label => {
            out.push_str(&format!("(source and stack as in {source_label})\n"));
        }
        (true, true) => out.push_str(&format!(
            "(source as in {source_label}, stack as in {stack_label})\n"
        )),
        (true, false) => out.push_str(&format!("(source as in {source_label})\n")),
        (false, true) => out.push_str(&format!("(stack as in {stack_label})\n")),
        (false, false) => {}
    }
    if !same_source {
        write_stop_source(out, stop);
        shown.source = Some((SourceKey::of(stop), label.to_string()));
    }
    if !same_stack {
        write_stack_section(out, stop, ctx);
        shown.stack = Some((StackKey::of(stop), label.to_string()));
    }
    write_values(out, stop, ctx, notes);
}

/// For [`write_stop_after`]: the source and stack last written, with the label of the stop
/// that wrote them (`hit 2`).
#[derive(Debug, Default)]
pub(crate) struct Shown {
    source: Option<(SourceKey, String)>,
    stack: Option<(StackKey, String)>,
}

impl Shown {
    /// After `stop` was written in full as hit `hit`.
    pub(crate) fn all(stop: &Stop, hit: usize) -> Shown {
        Shown::all_as(stop, &format!("hit {hit}"))
    }

    /// After `stop` was written in full, named `label` (`snapshot 41`).
    pub(crate) fn all_as(stop: &Stop, label: &str) -> Shown {
        Shown {
            source: Some((SourceKey::of(stop), label.to_string())),
            stack: Some((StackKey::of(stop), label.to_string())),
        }
    }
}

/// What the source section shows.
#[derive(Debug, PartialEq)]
struct SourceKey(Option<SourceContext>, Option<Location>);

impl SourceKey {
    fn of(stop: &Stop) -> SourceKey {
        SourceKey(stop.source.clone(), stop.location.clone())
    }
}

/// What the stack section shows.
#[derive(Debug, PartialEq)]
struct StackKey(Vec<Frame>, usize, Option<ThreadRef>);

impl StackKey {
    fn of(stop: &Stop) -> StackKey {
        StackKey(stop.stack.clone(), stop.frame_index, stop.thread.clone())
    }
}

fn write_stop_source(out: &mut String, stop: &Stop) {
    if let Some(source) = &stop.source {
        write_source(out, source);
    }
}

fn write_stack_section(out: &mut String, stop: &Stop, ctx: &RenderContext) {
    if !stop.stack.is_empty() {
        let thread = stop.thread.as_ref().map(|t| t.name.as_str());
        out.push_str(&stack_heading(thread, &stop.stack, Some(stop.frame_index)));
        write_stack(out, &stop.stack, Some(stop.frame_index), ctx);
    }
}

/// Locals of the stop's frame and its evaluated expressions.
fn write_values(out: &mut String, stop: &Stop, ctx: &RenderContext, notes: &mut Notes) {
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
                "{} not shown (limit {})",
                counted(stop.locals_omitted as u64, "more local", "more locals"),
                ctx.budget.max_vars
            ),
            "--max-vars N shows more",
        ));
    }
    if !stop.evals.is_empty() {
        out.push_str("--- eval ---\n");
        for eval in &stop.evals {
            eval_lines(out, eval, ctx, notes, true);
        }
    }
    notes.extend(&stop.notices);
}

/// The line above a stack: its thread, its order, and what the `*` marker means when
/// [`write_stack`] will draw one.
pub(crate) fn stack_heading(thread: Option<&str>, frames: &[Frame], selected: Option<usize>) -> String {
    let mut parts = Vec::new();
    if let Some(thread) = thread {
        parts.push(format!("thread {thread}"));
    }
    parts.push("innermost first".to_string());
    if marks_selected(frames, selected) {
        parts.push("* = selected frame".to_string());
    }
    format!("--- stack ({}) ---\n", parts.join(", "))
}

/// True when the stack shows a `*` before the selected frame (not for a one-frame stack).
fn marks_selected(frames: &[Frame], selected: Option<usize>) -> bool {
    frames.len() > 1 && selected.is_some_and(|s| frames.iter().any(|f| f.index == s))
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
            let marker = if Some(frame.index) == selected && marks_selected(frames, selected) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PathStyle;
    use borescope_model::{Budget, Variable};

    fn frame(index: usize, function: &str, line: u32) -> Frame {
        Frame { index, function: function.into(), file: Some("/w/app.py".into()), line: Some(line), kind: FrameKind::User }
    }

    fn hit(n: u32, caller_line: u32, i: &str) -> Stop {
        Stop {
            reason: StopReason::Breakpoint { hit: Some(n) },
            location: Some(Location { file: "/w/app.py".into(), line: 3 }),
            function: Some("step".into()),
            thread: Some(ThreadRef { id: 1, name: "MainThread".into() }),
            source: Some(SourceContext { first_line: 2, current_line: 3, lines: vec!["def step(i):".into(), "    x = i".into()] }),
            stack: vec![frame(0, "step", 3), frame(1, "main", caller_line)],
            frame_index: 0,
            locals: vec![Variable {
                name: "i".into(),
                type_name: Some("int".into()),
                value: i.into(),
                full_length: None,
                cut: false,
                redacted: false,
                expandable: false,
                children: Vec::new(),
            }],
            locals_omitted: 0,
            evals: Vec::new(),
            notices: Vec::new(),
        }
    }

    fn named_frame(index: usize, function: &str) -> Frame {
        Frame {
            index,
            function: function.into(),
            file: Some(format!("/work/{function}.py")),
            line: Some(3),
            kind: FrameKind::User,
        }
    }

    fn stack_text(frames: &[Frame], selected: Option<usize>) -> String {
        let ctx = RenderContext::new(Budget::default(), PathStyle::relative_to("/work"));
        let mut out = stack_heading(Some("MainThread"), frames, selected);
        write_stack(&mut out, frames, selected, &ctx);
        out
    }

    #[test]
    fn the_selected_frame_marker_is_explained_where_it_is_drawn() {
        let text = stack_text(&[named_frame(0, "inner"), named_frame(1, "outer")], Some(1));
        assert!(text.starts_with("--- stack (thread MainThread, innermost first, * = selected frame) ---\n"), "{text}");
        assert!(text.contains("\n*#1 "), "{text}");
        assert!(text.contains("\n #0 "), "{text}");
    }

    #[test]
    fn a_single_frame_or_no_selection_has_neither_marker_nor_legend() {
        for text in [stack_text(&[named_frame(0, "only")], Some(0)), stack_text(&[named_frame(0, "a"), named_frame(1, "b")], None)] {
            assert!(!text.contains('*'), "{text}");
            assert!(text.starts_with("--- stack (thread MainThread, innermost first) ---\n"), "{text}");
        }
    }

    #[test]
    fn later_hits_show_only_what_differs() {
        let ctx = RenderContext::new(Budget::default(), PathStyle::relative_to("/w"));
        let mut notes = Notes::default();
        let first = hit(1, 10, "0");
        let mut shown = Shown::all(&first, 1);
        let mut out = String::new();
        write_stop_after(&mut out, &hit(2, 11, "1"), &mut shown, 2, &ctx, &mut notes);
        write_stop_after(&mut out, &hit(3, 11, "2"), &mut shown, 3, &ctx, &mut notes);
        assert!(out.contains("(source as in hit 1)\n--- stack"), "{out}");
        assert!(out.contains("#1   main  app.py:11"), "{out}");
        assert!(out.contains("(source as in hit 1, stack as in hit 2)\n--- locals ---\ni: int = 2"), "{out}");
        assert_eq!(out.matches("--- stack").count(), 1, "{out}");
        assert!(!out.contains("def step"), "{out}");
    }

    #[test]
    fn one_omitted_local_is_singular() {
        let stop = Stop {
            reason: StopReason::Pause,
            location: None,
            function: None,
            thread: None,
            source: None,
            stack: Vec::new(),
            frame_index: 0,
            locals: Vec::new(),
            locals_omitted: 1,
            evals: Vec::new(),
            notices: Vec::new(),
        };
        let ctx = RenderContext::new(Budget::default(), PathStyle::relative_to("/work"));
        let text = render_stop(&stop, &ctx);
        assert!(text.contains("1 more local not shown (limit"), "{text}");
    }
}
