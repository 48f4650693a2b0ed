//! Rendering a [`ProbeReport`]: one of four outcomes, then the stop(s), output and notes.

use crate::RenderContext;
use crate::stop::{Shown, write_stack, write_stop, write_stop_after};
use crate::text::Notes;
use borescope_model::{OutputStream, OutputTail, ProbeOutcome, ProbeReport, Stop};

/// Renders a probe report as text.
pub fn render_probe(report: &ProbeReport, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    let targets = report
        .locations
        .iter()
        .map(|l| ctx.paths.location(&l.file, Some(l.line)))
        .collect::<Vec<_>>()
        .join(", ");
    let seconds = report.elapsed_ms as f64 / 1000.0;
    match report.outcome {
        ProbeOutcome::Hit => {
            if report.hits_requested > 1 {
                out.push_str(&format!(
                    "Collected {} of {} requested hits of {targets} in {seconds:.2}s\n",
                    report.stops.len(),
                    report.hits_requested
                ));
                if let Some(exit) = &report.exit {
                    out.push_str(&format!(
                        "The program exited ({}) before all hits arrived.\n",
                        exit.describe()
                    ));
                }
                write_hits(&mut out, &report.stops, ctx, &mut notes);
            } else if let Some(stop) = report.stops.first() {
                write_stop(&mut out, stop, ctx, &mut notes);
            }
        }
        ProbeOutcome::Exception => match report.stops.split_last() {
            // Hits collected with --hits, then the exception that ended the program.
            Some((exception, hits)) if !hits.is_empty() => {
                out.push_str(&format!(
                    "Collected {} of {} requested hits of {targets}, then an uncaught exception ended the program ({seconds:.2}s)\n",
                    hits.len(),
                    report.hits_requested
                ));
                write_hits(&mut out, hits, ctx, &mut notes);
                out.push_str("=== uncaught exception ===\n");
                write_stop(&mut out, exception, ctx, &mut notes);
                write_output(&mut out, &report.output, 20);
            }
            stop => {
                if let Some((exception, _)) = stop {
                    write_stop(&mut out, exception, ctx, &mut notes);
                }
                out.push_str(&format!("(the program ended before reaching {targets})\n"));
                write_output(&mut out, &report.output, 20);
            }
        },
        ProbeOutcome::NotReached => {
            let how = report
                .exit
                .map(|e| e.describe())
                .unwrap_or_else(|| "exit status unknown".to_string());
            out.push_str(&format!(
                "Exited without reaching {targets} ({how}, after {seconds:.2}s)\n"
            ));
            write_output(&mut out, &report.output, 20);
        }
        ProbeOutcome::Timeout => {
            out.push_str(&format!(
                "Timeout: {targets} not reached within {}s; borescope ended the program\n",
                report.timeout_secs
            ));
            if !report.threads.is_empty() {
                out.push_str("--- where the program was ---\n");
                for snapshot in &report.threads {
                    out.push_str(&format!("thread {}:\n", snapshot.thread.name));
                    write_stack(&mut out, &snapshot.stack, None, ctx);
                }
            }
            write_output(&mut out, &report.output, 20);
        }
    }
    out.push_str(&footer(report));
    notes.extend(&report.notices);
    crate::text::finish(out, &notes, ctx)
}

/// Several hits: the first in full, then per hit its headline and values, with source and stack
/// only where they differ from what an earlier hit showed.
fn write_hits(out: &mut String, hits: &[Stop], ctx: &RenderContext, notes: &mut Notes) {
    let mut shown = Shown::default();
    for (i, stop) in hits.iter().enumerate() {
        out.push_str(&format!("=== hit {} of {} ===\n", i + 1, hits.len()));
        if i == 0 {
            write_stop(out, stop, ctx, notes);
            shown = Shown::all(stop, 1);
        } else {
            write_stop_after(out, stop, &mut shown, i + 1, ctx, notes);
        }
    }
}

/// `-- Python 3.14.0 via sys.monitoring, pid 42, 0.12s`: what watched, and for how long.
fn footer(report: &ProbeReport) -> String {
    let mut parts = Vec::new();
    match (&report.runtime, &report.engine) {
        (Some(runtime), Some(engine)) => parts.push(format!("{runtime} via {engine}")),
        (Some(runtime), None) => parts.push(runtime.clone()),
        (None, Some(engine)) => parts.push(engine.clone()),
        (None, None) => {}
    }
    if let Some(pid) = report.pid {
        parts.push(format!("pid {pid}"));
    }
    parts.push(format!("{:.2}s", report.elapsed_ms as f64 / 1000.0));
    if report.outcome == ProbeOutcome::Hit && report.exit.is_none() {
        parts.push("program ended by borescope".into());
    }
    format!("-- {}\n", parts.join(", "))
}

/// Writes the output tail section (at most `max` lines).
pub(crate) fn write_output(out: &mut String, tail: &OutputTail, max: usize) {
    if tail.lines.is_empty() {
        out.push_str("--- output ---\n(none)\n");
        return;
    }
    let skip = tail.lines.len().saturating_sub(max);
    let omitted = tail.omitted + skip as u64;
    if omitted > 0 {
        out.push_str(&format!(
            "--- output (last {}; {omitted} earlier) ---\n",
            borescope_model::wording::counted((tail.lines.len() - skip) as u64, "line", "lines")
        ));
    } else {
        out.push_str("--- output ---\n");
    }
    for line in &tail.lines[skip..] {
        let stream = match line.stream {
            OutputStream::Stdout => "out",
            OutputStream::Stderr => "err",
        };
        let (text, _) = crate::text::cut(&line.text, 500);
        let line = format!("{stream}| {text}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
}
