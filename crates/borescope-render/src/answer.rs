//! Rendering the session daemon's answers (`continue`, `stack`, `vars`, `sessions`, ...).

use crate::RenderContext;
use crate::probe::write_output;
use crate::stop::{headline, stack_heading, write_source, write_stack, write_stop};
use crate::text::{Notes, eval_lines, variable_line};
use borescope_model::wording::counted;
use borescope_model::{
    Answer, BreakpointInfo, BreakpointState, Ending, ExitInfo, Notice, OtherBuild, SessionInfo, SessionReport,
    SessionState, StopReason,
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
            out.push_str(&stack_heading(Some(&thread.name), frames, Some(*selected)));
            write_stack(&mut out, frames, Some(*selected), ctx);
            if frames.iter().any(|f| f.kind != borescope_model::FrameKind::User) {
                notes.add(Notice::with_hint(
                    "non-user frames are collapsed",
                    "`borescope frame N` selects any frame by its number",
                ));
            }
        }
        Answer::Threads { threads, .. } => {
            out.push_str(if threads.iter().any(|t| t.current) {
                "--- threads (* = current thread) ---\n"
            } else {
                "--- threads ---\n"
            });
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
                    format!("{} not shown", counted(*omitted as u64, "more entry", "more entries")),
                    "--max-vars N shows more",
                ));
            }
        }
        Answer::Eval { result, .. } => eval_lines(&mut out, result, ctx, &mut notes, false),
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
        Answer::Input { session, bytes, closed } => {
            let sent = counted(*bytes as u64, "byte", "bytes");
            out.push_str(&format!("sent {sent} to the standard input of session `{session}`"));
            if *closed {
                out.push_str("; closed it (the program now reads end-of-file)");
            }
            out.push('\n');
        }
        Answer::Sessions { sessions, other_builds } => {
            if sessions.is_empty() {
                out.push_str("(no sessions)\n");
            }
            for info in sessions {
                out.push_str(&session_line(info, ctx));
                out.push('\n');
            }
            for other in other_builds {
                out.push_str(&other_build_line(other));
                out.push('\n');
            }
        }
        Answer::Source { frame, file, source, total_lines, .. } => {
            let place = ctx.paths.location(file, Some(source.current_line));
            match frame {
                Some(frame) => out.push_str(&format!("--- {place} (frame #{} {}) ---\n", frame.index, frame.function)),
                None => out.push_str(&format!("--- {place} ({}) ---\n", counted(u64::from(*total_lines), "line", "lines"))),
            }
            write_source(&mut out, source);
        }
        Answer::Ended {
            session,
            detached,
            exit,
            ending,
            output,
            notices,
        } => {
            notes.extend(notices);
            if *detached {
                out.push_str(&format!(
                    "Session `{session}` detached; the process keeps running\n"
                ));
            } else {
                out.push_str(&format!("Session `{session}` stopped{}\n", how_it_ended(*exit, *ending)));
            }
            if !output.lines.is_empty() {
                write_output(&mut out, output, 10);
            }
        }
    }
    crate::text::finish(out, &notes, ctx)
}

/// What `stop` did, after "Session `x` stopped".
fn how_it_ended(exit: Option<ExitInfo>, ending: Option<Ending>) -> String {
    let described = || exit.map(|e| e.describe()).unwrap_or_else(|| "exit status unknown".into());
    match ending {
        None => exit.map(|e| format!(" ({})", e.describe())).unwrap_or_default(),
        Some(Ending::AlreadyExited) => format!(": the program had already exited ({})", described()),
        Some(Ending::Terminated) => match exit {
            Some(ExitInfo { code: Some(code), .. }) => format!(": the program exited with code {code} on SIGTERM"),
            Some(ExitInfo { signal: Some(15), .. }) => ": the program was ended by SIGTERM".to_string(),
            Some(ExitInfo { signal: Some(signal), .. }) => format!(": the program ended by signal {signal} after SIGTERM"),
            _ => ": the program ended after SIGTERM".to_string(),
        },
        Some(Ending::Killed { grace_ms }) => format!(
            ": the program did not end within {} of SIGTERM and was killed (SIGKILL)",
            seconds(grace_ms)
        ),
    }
}

/// Milliseconds as a short duration: `2 s`, `0.5 s`.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn write_report(out: &mut String, report: &SessionReport, ctx: &RenderContext, notes: &mut Notes) {
    match report.state {
        SessionState::Ready => out.push_str(&format!(
            "Session `{}` is ready: the program is held before its first line\n",
            report.session
        )),
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

/// One line about another build's daemon and the sessions only it can reach.
fn other_build_line(other: &OtherBuild) -> String {
    let them = if other.sessions.len() == 1 { "it" } else { "them" };
    let reach = match &other.executable {
        Some(executable) => format!("use `{executable}` to reach {them}"),
        None => format!("use that build's executable to reach {them}"),
    };
    let pid = other.pid.map(|pid| format!("; its daemon is pid {pid}")).unwrap_or_default();
    format!(
        "another borescope build has {}: {} ({reach}{pid})",
        counted(other.sessions.len() as u64, "session", "sessions"),
        other.sessions.join(", ")
    )
}

fn session_line(info: &SessionInfo, ctx: &RenderContext) -> String {
    let state = match info.state {
        SessionState::Ready => "ready (held before its first line)".to_string(),
        SessionState::Running => "running".to_string(),
        SessionState::Paused => {
            let place = match &info.location {
                Some(loc) => format!("paused at {}", ctx.paths.location(&loc.file, Some(loc.line))),
                None => "paused".to_string(),
            };
            match &info.reason {
                Some(reason) => format!("{place} {}", reason_words(reason)),
                None => place,
            }
        }
        SessionState::Exited => match (&info.ended_because, info.exit) {
            (Some(why), _) => format!("ended: {why}"),
            (None, Some(exit)) => format!("exited ({})", exit.describe()),
            (None, None) => "exited".to_string(),
        },
    };
    let pid = info.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
    let how = if info.attached { " attached" } else { "" };
    format!(
        "{} [{}{how}{pid}] {state}; {}; {}",
        info.name,
        info.language.as_str(),
        counted(info.breakpoints as u64, "breakpoint", "breakpoints"),
        info.command.join(" ")
    )
}

/// Why a session is paused, as words after its place: `on uncaught KeyError`.
fn reason_words(reason: &StopReason) -> String {
    match reason {
        StopReason::Breakpoint { hit: Some(hit) } => format!("on a breakpoint (hit {hit})"),
        StopReason::Breakpoint { hit: None } => "on a breakpoint".to_string(),
        StopReason::Step => "after a step".to_string(),
        StopReason::Pause => "on request (pause)".to_string(),
        StopReason::Entry => "at its first line".to_string(),
        StopReason::Exception(info) => {
            let kind = if info.uncaught { "uncaught" } else { "raised" };
            let name = if info.type_name.is_empty() { "exception" } else { info.type_name.as_str() };
            format!("on {kind} {name}")
        }
        StopReason::Other { description } => format!("({description})"),
    }
}
