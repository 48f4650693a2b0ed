//! Snapshots as text, with the stop formatter: a headline (`Snapshot 42 at views.py:88 in
//! order (thread ...)`), a line saying which probe, service, process and time, then the
//! source, stack, locals and capture expressions exactly as a probe's stop shows them.
//! Logpoint messages are one line each. An exception snapshot has its own header (the
//! exception, where it was seen, its occurrences and chain; see `exceptions`). In a list,
//! source and stack that repeat an earlier snapshot's are named instead of printed again.

use super::when::utc_millis;
use crate::stop::{place, write_stop_body, write_stop_body_after, Shown};
use crate::text::{cut, one_line, variable_line, Notes, REDACTED_NOTE};
use crate::RenderContext;
use borescope_model::wording::counted;
use borescope_model::{Notice, Stop, StopReason};
use borescope_snapshots_api::{Snapshot, SnapshotData};

/// The stop a snapshot shows: a breakpoint hit at its location, its innermost frame's locals.
/// Locals the agent left out are said in a notice (the agent's limit, not this report's).
pub fn snapshot_stop(data: &SnapshotData) -> Stop {
    let mut notices = data.notices.clone();
    if data.locals_omitted > 0 {
        notices.push(Notice::plain(format!(
            "{} not captured (the agent captures a bounded number per snapshot)",
            counted(data.locals_omitted as u64, "more local was", "more locals were")
        )));
    }
    Stop {
        reason: StopReason::Breakpoint { hit: None },
        location: data.location.clone(),
        function: data.function.clone(),
        thread: data.thread.clone(),
        source: data.source.clone(),
        stack: data.stack.clone(),
        frame_index: 0,
        locals: data.locals.clone(),
        locals_omitted: 0,
        evals: data.evals.clone(),
        notices,
    }
}

/// One snapshot (as `snap hits --follow` prints each), notes and size cap included.
pub fn render_snapshot(snapshot: &Snapshot, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    write_snapshot(&mut out, snapshot, None, ctx, &mut notes);
    agent_redacted(&mut notes);
    crate::text::finish(out, &notes, ctx)
}

/// A list of snapshots (`snap hits`), oldest first. `scope` says what was asked for (`of probe
/// 7`); `more` that others matched beyond the limit, `next` the cursor that reads them.
pub fn render_snapshots(snapshots: &[Snapshot], scope: &str, more: bool, next: Option<i64>, ctx: &RenderContext) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    if snapshots.is_empty() {
        out.push_str(&format!("(no snapshots {scope} yet; `--follow` waits for them)\n"));
        return crate::text::finish(out, &notes, ctx);
    }
    let mut shown: Option<Shown> = None;
    for snapshot in snapshots {
        write_snapshot(&mut out, snapshot, Some(&mut shown), ctx, &mut notes);
    }
    let count = counted(snapshots.len() as u64, "snapshot", "snapshots");
    out.push_str(&format!("-- {count} {scope}, oldest first\n"));
    if more && let Some(next) = next {
        notes.add(Notice::with_hint(
            format!("more snapshots {scope} than the limit let through"),
            format!("--after {next} shows the next ones, --limit N more at once"),
        ));
    }
    agent_redacted(&mut notes);
    crate::text::finish(out, &notes, ctx)
}

/// Secrets in a snapshot were hidden by the agent inside the service: no flag here shows them.
fn agent_redacted(notes: &mut Notes) {
    notes.replace(
        REDACTED_NOTE,
        Notice::plain("values of secret-looking names were hidden by the agent in the service; they never left it"),
    );
}

/// Writes one snapshot. With `shown` (a list), source and stack already written by an earlier
/// snapshot are named instead of repeated.
fn write_snapshot(out: &mut String, snapshot: &Snapshot, shown: Option<&mut Option<Shown>>, ctx: &RenderContext, notes: &mut Notes) {
    let data = &snapshot.data;
    let origin = format!(
        "probe {}, service {}, {} pid {}, {}",
        data.probe_id.map_or_else(|| "-".to_string(), |id| id.to_string()),
        snapshot.service,
        snapshot.host,
        snapshot.pid,
        utc_millis(data.time_ms)
    );
    if let Some(message) = &data.message {
        let limit = ctx.budget.max_value.max(500);
        let (text, was_cut) = cut(&one_line(message), limit);
        out.push_str(&format!("Log {} ({origin}): {text}\n", snapshot.id));
        if was_cut {
            notes.add(Notice::with_hint(
                format!("log messages longer than {} were cut", counted(limit as u64, "character", "characters")),
                "--max-value N shows more",
            ));
        }
        notes.extend(&data.notices);
        return;
    }
    let stop = snapshot_stop(data);
    if let Some(info) = &data.exception {
        super::exceptions::write_header(out, snapshot, info, &place(&stop, ctx), ctx);
    } else {
        let thread = stop.thread.as_ref().map(|t| format!(" (thread {})", t.name)).unwrap_or_default();
        out.push_str(&format!("Snapshot {} at {}{thread}\n", snapshot.id, place(&stop, ctx)));
        let capture = if data.capture_us > 0 { format!(", captured in {:.1}ms", data.capture_us as f64 / 1000.0) } else { String::new() };
        out.push_str(&format!("  {origin}{capture}\n"));
    }
    let label = if data.exception.is_some() { format!("exception {}", snapshot.id) } else { format!("snapshot {}", snapshot.id) };
    match shown {
        Some(Some(shown)) => write_stop_body_after(out, &stop, shown, &label, ctx, notes),
        Some(empty) => {
            write_stop_body(out, &stop, ctx, notes);
            *empty = Some(Shown::all_as(&stop, &label));
        }
        None => write_stop_body(out, &stop, ctx, notes),
    }
    for more in &data.frame_locals {
        let function = data.stack.iter().find(|f| f.index == more.index).map(|f| format!(" {}", f.function)).unwrap_or_default();
        out.push_str(&format!("--- locals (frame #{}{function}) ---\n", more.index));
        if more.locals.is_empty() {
            out.push_str("(none)\n");
        }
        for var in &more.locals {
            variable_line(out, var, 0, ctx, notes);
        }
    }
}
