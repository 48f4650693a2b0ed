//! Rendering the session daemon's answers (`continue`, `stack`, `vars`, `sessions`, ...).

use crate::RenderContext;
use crate::probe::write_output;
use crate::stop::{headline, write_source, write_stack, write_stop};
use crate::text::{Notes, variable_line};
use borescope_model::{
    Answer, BreakpointInfo, BreakpointState, Notice, SessionInfo, SessionReport, SessionState,
};

/// Renders any daemon answer as text.
pub fn render_answer(answer: &Answer, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    match answer {
        Answer::Report(report) => write_report(&mut out, report, ctx, &mut notes),
        Answer::Stack {
            thread,
            frames,
            selected,
            ..
        } => {
            out.push_str(&format!(
                "--- stack (thread {}, innermost first) ---\n",
                thread.name
            ));
            write_stack(&mut out, frames, Some(*selected), ctx);
            if frames.iter().any(|f| f.kind != borescope_model::FrameKind::User) {
                notes.add(Notice::with_hint(
                    "non-user frames are collapsed",
                    "`borescope frame N` selects any frame by its number",
                ));
            }
        }
        Answer::Threads { threads, .. } => {
            for state in threads {
                let marker = if state.current { "*" } else { " " };
                let place = match &state.top {
                    Some(frame) => match &frame.file {
                        Some(file) => format!(
                            "{} at {}",
                            frame.function,
                            ctx.paths.location(file, frame.line)
                        ),
                        None => frame.function.clone(),
                    },
                    None => "running".to_string(),
                };
                out.push_str(&format!(
                    "{marker} {:<6} {:<20} {place}\n",
                    state.thread.id, state.thread.name
                ));
            }
        }
        Answer::Variables {
            frame,
            path,
            variables,
            omitted,
            ..
        } => {
            let place = frame
                .file
                .as_deref()
                .map(|f| ctx.paths.location(f, frame.line))
                .unwrap_or_default();
            match path {
                Some(path) => out.push_str(&format!(
                    "--- {path} (frame #{} {} {place}) ---\n",
                    frame.index, frame.function
                )),
                None => out.push_str(&format!(
                    "--- locals (frame #{} {} {place}) ---\n",
                    frame.index, frame.function
                )),
            }
            if variables.is_empty() {
                out.push_str("(none)\n");
            }
            for var in variables {
                variable_line(&mut out, var, 0, ctx, &mut notes);
            }
            if *omitted > 0 {
                out.push_str(&format!("... {omitted} more not shown\n"));
                notes.add(Notice::with_hint(
                    format!("{omitted} more entries not shown"),
                    "--max-vars N shows more",
                ));
            }
        }
        Answer::Eval { result, .. } => match (&result.value, &result.error) {
            (Some(value), _) => {
                let mut var = value.clone();
                var.name = result.expression.clone();
                variable_line(&mut out, &var, 0, ctx, &mut notes);
            }
            (None, Some(error)) => out.push_str(&format!("error: {error}\n")),
            (None, None) => out.push_str("(no value)\n"),
        },
        Answer::Breakpoints {
            breakpoints,
            change,
            ..
        } => {
            if let Some(change) = change {
                out.push_str(change);
                out.push('\n');
            }
            if breakpoints.is_empty() {
                out.push_str("(no breakpoints)\n");
            }
            for bp in breakpoints {
                out.push_str(&breakpoint_line(bp, ctx));
                out.push('\n');
            }
        }
        Answer::Output { chunk, .. } => {
            if chunk.dropped > 0 {
                out.push_str(&format!(
                    "({} earlier lines were dropped from the buffer)\n",
                    chunk.dropped
                ));
            }
            for line in &chunk.lines {
                let stream = match line.stream {
                    borescope_model::OutputStream::Stdout => "out",
                    borescope_model::OutputStream::Stderr => "err",
                };
                out.push_str(&format!("{stream}| {}\n", line.text));
            }
            if chunk.lines.is_empty() {
                out.push_str("(no new output)\n");
            }
            out.push_str(&format!("(next cursor: {})\n", chunk.next_cursor));
        }
        Answer::Status { info, stop } => {
            out.push_str(&session_line(info, ctx));
            out.push('\n');
            if let Some(stop) = stop {
                out.push_str(&headline(stop, ctx));
                out.push('\n');
            }
        }
        Answer::Sessions { sessions } => {
            if sessions.is_empty() {
                out.push_str("(no sessions)\n");
            }
            for info in sessions {
                out.push_str(&session_line(info, ctx));
                out.push('\n');
            }
        }
        Answer::Source { frame, file, source, total_lines, .. } => {
            let place = ctx.paths.location(file, Some(source.current_line));
            match frame {
                Some(frame) => out.push_str(&format!("--- {place} (frame #{} {}) ---\n", frame.index, frame.function)),
                None => out.push_str(&format!("--- {place} ({total_lines} lines) ---\n")),
            }
            write_source(&mut out, source);
        }
        Answer::Ended {
            session,
            detached,
            exit,
            output,
            notices,
        } => {
            notes.extend(notices);
            if *detached {
                out.push_str(&format!(
                    "Session `{session}` detached; the process keeps running\n"
                ));
            } else {
                let how = exit
                    .map(|e| format!(" ({})", e.describe()))
                    .unwrap_or_default();
                out.push_str(&format!("Session `{session}` stopped{how}\n"));
            }
            if !output.lines.is_empty() {
                write_output(&mut out, output, 10);
            }
        }
    }
    crate::text::finish(out, &notes, ctx)
}

fn write_report(out: &mut String, report: &SessionReport, ctx: &RenderContext, notes: &mut Notes) {
    match report.state {
        SessionState::Paused => match &report.stop {
            Some(stop) => write_stop(out, stop, ctx, notes),
            None => out.push_str("Paused\n"),
        },
        SessionState::Running => out.push_str(&format!(
            "Session `{}` is running (not stopped)\n",
            report.session
        )),
        SessionState::Exited => {
            let how = report
                .exit
                .map(|e| e.describe())
                .unwrap_or_else(|| "exit status unknown".to_string());
            out.push_str(&format!("Program exited ({how})\n"));
        }
    }
    if let Some(output) = &report.output
        && !output.lines.is_empty() {
            write_output(out, output, 20);
        }
    notes.extend(&report.notices);
}

fn breakpoint_line(bp: &BreakpointInfo, ctx: &RenderContext) -> String {
    let place = bp.spec.location.as_ref().map(|l| ctx.paths.location(&l.file, Some(l.line)));
    let mut line = match (&bp.spec.function, place) {
        (Some(name), Some(place)) => format!("#{} function {name} at {place}", bp.id),
        (Some(name), None) => format!("#{} function {name}", bp.id),
        (None, Some(place)) => format!("#{} {place}", bp.id),
        (None, None) => format!("#{}", bp.id),
    };
    if let Some(cond) = &bp.spec.condition {
        line.push_str(&format!(" if {cond}"));
    }
    if let Some(hit) = bp.spec.hit {
        line.push_str(&format!(" hit {hit}"));
    }
    if let Some(log) = &bp.spec.log {
        line.push_str(&format!(" log {log:?}"));
    }
    match &bp.state {
        BreakpointState::Verified { line: Some(bound) }
            if bp.spec.function.is_none() && bp.spec.location.as_ref().is_some_and(|l| l.line != *bound) =>
        {
            line.push_str(&format!(" [bound at line {bound}]"));
        }
        BreakpointState::Verified { .. } => line.push_str(" [verified]"),
        BreakpointState::Pending => {
            line.push_str(" [pending: script not loaded yet; binds when it loads]")
        }
        BreakpointState::Rejected { message } => line.push_str(&format!(" [rejected: {message}]")),
    }
    line
}

fn session_line(info: &SessionInfo, ctx: &RenderContext) -> String {
    let state = match info.state {
        SessionState::Running => "running".to_string(),
        SessionState::Paused => match &info.location {
            Some(loc) => format!("paused at {}", ctx.paths.location(&loc.file, Some(loc.line))),
            None => "paused".to_string(),
        },
        SessionState::Exited => match info.exit {
            Some(exit) => format!("exited ({})", exit.describe()),
            None => "exited".to_string(),
        },
    };
    let pid = info.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
    let how = if info.attached { " attached" } else { "" };
    format!(
        "{} [{}{how}{pid}] {state}; {} breakpoint(s); {}",
        info.name,
        info.language.as_str(),
        info.breakpoints,
        info.command.join(" ")
    )
}
