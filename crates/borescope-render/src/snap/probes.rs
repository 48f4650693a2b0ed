//! Probes as text: what `snap add` created and how each live instance took it, the `snap list`
//! table, and `snap show`'s details with every instance's report.

use super::when::{ago, until, utc};
use super::{rate, table};
use crate::text::{cut, one_line};
use borescope_model::wording::counted;
use borescope_snapshots_api::agent::ProbeStatus;
use borescope_snapshots_api::people::{Instance, InstanceProbeStatus, ProbeState, ProbeView};

/// Longest expression or template shown in the list table.
const WHAT_WIDTH: usize = 60;

/// `snap add`: the probe, then how the live instances of its service took it: `Installed on 3
/// of 3 instances`, or per instance the error, the pending reason, or that it did not report
/// within the wait.
pub fn render_snap_added(probe: &ProbeView, live: &[Instance], waited_ms: u64, now_ms: i64) -> String {
    let mut out = format!("Created probe {}: {}\n", probe.id, title(probe));
    let settings = settings(probe, now_ms);
    if !settings.is_empty() {
        out.push_str(&format!("  {}\n", settings.join("; ")));
    }
    let scope = match &probe.env {
        Some(env) => format!("{} ({env})", probe.service),
        None => probe.service.clone(),
    };
    if live.is_empty() {
        out.push_str(&format!(
            "No live instance of {scope} yet: instances arm the probe when they start (`borescope snap agents` lists them).\n"
        ));
    } else {
        let armed = live.iter().filter(|i| status_of(probe, i).is_some_and(|s| is_armed(s.status))).count();
        let noun = if live.len() == 1 { "instance" } else { "instances" };
        let colon = if armed < live.len() { ":" } else { "." };
        out.push_str(&format!("Installed on {armed} of {} {noun} of {scope}{colon}\n", live.len()));
        for instance in live {
            let place = format!("{} pid {}", instance.host, instance.pid);
            match status_of(probe, instance) {
                Some(status) if is_armed(status.status) => {}
                Some(status) => out.push_str(&format!("  {place}: {}\n", status_text(status))),
                None => out.push_str(&format!(
                    "  {place}: no report within {:.1}s (it may still be busy; `borescope snap show {}` shows later reports)\n",
                    waited_ms as f64 / 1000.0,
                    probe.id
                )),
            }
        }
    }
    let follow = if probe.log.is_some() { "messages" } else { "snapshots" };
    out.push_str(&format!("Its {follow}: `borescope snap hits {} --follow`; remove it: `borescope snap rm {}`\n", probe.id, probe.id));
    out
}

/// `snap list`: one row per probe.
pub fn render_snap_probes(probes: &[ProbeView], all: bool, now_ms: i64) -> String {
    if probes.is_empty() {
        return if all {
            "(no probes; add one: `borescope snap add FILE:LINE --service NAME`)\n".to_string()
        } else {
            "(no active or disabled probes; `--all` also lists ended ones; add one: `borescope snap add FILE:LINE --service NAME`)\n".to_string()
        };
    }
    let rows: Vec<Vec<String>> = probes
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.service.clone() + &p.env.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
                format!("{}:{}", p.file, p.line),
                state_text(p.state).to_string(),
                p.hits.to_string(),
                instances_summary(&p.statuses),
                until(p.expires_ms, now_ms),
                cut(&what(p), WHAT_WIDTH).0,
            ]
        })
        .collect();
    table(&["ID", "SERVICE", "LOCATION", "STATE", "HITS", "INSTANCES", "EXPIRES", "WHAT"], &rows)
}

/// `snap show ID`: every setting, then each instance's report.
pub fn render_snap_probe(probe: &ProbeView, now_ms: i64) -> String {
    let mut out = format!("Probe {}: {}\n", probe.id, title(probe));
    let mut field = |name: &str, value: String| {
        let label = if name.is_empty() { String::new() } else { format!("{name}:") };
        out.push_str(&format!("{label:<11}{value}\n"));
    };
    field("state", format!("{}, {}", state_text(probe.state), counted(probe.hits, "snapshot", "snapshots")));
    if let Some(condition) = &probe.condition {
        field("condition", one_line(condition));
    }
    for (i, capture) in probe.captures.iter().enumerate() {
        field(if i == 0 { "capture" } else { "" }, one_line(capture));
    }
    if let Some(log) = &probe.log {
        field("log", one_line(log));
    }
    field("rate", format!("{} per instance", rate(probe.rate)));
    if let Some(max) = probe.max_hits {
        field("max hits", max.to_string());
    }
    if probe.log.is_none() {
        field("locals of", counted(u64::from(probe.frames_with_locals), "frame", "frames"));
    }
    field("created", format!("{} ({})", utc(probe.created_ms), ago(probe.created_ms, now_ms)));
    field("expires", format!("{} ({})", utc(probe.expires_ms), until(probe.expires_ms, now_ms)));
    out.push_str("--- instances ---\n");
    if probe.statuses.is_empty() {
        out.push_str("(no instance has reported on it yet)\n");
        return out;
    }
    let rows: Vec<Vec<String>> = probe
        .statuses
        .iter()
        .map(|s| {
            vec![
                s.host.clone(),
                s.pid.to_string(),
                status_name(s.status).to_string(),
                s.hits.to_string(),
                s.rate_limited.to_string(),
                ago(s.updated_ms, now_ms),
                s.message.as_deref().map(one_line).unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(&["HOST", "PID", "STATUS", "HITS", "RATE-LIMITED", "UPDATED", "MESSAGE"], &rows));
    out
}

/// `orders/views.py:88 in service api (env prod)`.
fn title(probe: &ProbeView) -> String {
    let env = probe.env.as_ref().map(|e| format!(" (env {e})")).unwrap_or_default();
    let kind = if probe.log.is_some() { ", logpoint" } else { "" };
    format!("{}:{} in service {}{env}{kind}", probe.file, probe.line, probe.service)
}

/// The settings that differ from a plain snapshot probe, and when it expires.
fn settings(probe: &ProbeView, now_ms: i64) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(condition) = &probe.condition {
        parts.push(format!("if {}", one_line(condition)));
    }
    if !probe.captures.is_empty() {
        parts.push(format!("capture {}", probe.captures.iter().map(|c| one_line(c)).collect::<Vec<_>>().join(", ")));
    }
    if let Some(log) = &probe.log {
        parts.push(format!("log \"{}\"", one_line(log)));
    }
    if let Some(max) = probe.max_hits {
        parts.push(format!("at most {}", counted(u64::from(max), "hit", "hits")));
    }
    parts.push(format!("rate {} per instance", rate(probe.rate)));
    if probe.frames_with_locals > 1 {
        parts.push(format!("locals of {} frames", probe.frames_with_locals));
    }
    parts.push(format!("expires {}", until(probe.expires_ms, now_ms)));
    parts
}

/// The list table's WHAT column: condition, captures, log template.
fn what(probe: &ProbeView) -> String {
    let mut parts = Vec::new();
    if let Some(log) = &probe.log {
        parts.push(format!("log \"{}\"", one_line(log)));
    }
    if let Some(condition) = &probe.condition {
        parts.push(format!("if {}", one_line(condition)));
    }
    if !probe.captures.is_empty() {
        parts.push(format!("capture {}", probe.captures.iter().map(|c| one_line(c)).collect::<Vec<_>>().join(", ")));
    }
    parts.join("; ")
}

fn status_of<'a>(probe: &'a ProbeView, instance: &Instance) -> Option<&'a InstanceProbeStatus> {
    probe.statuses.iter().find(|s| s.instance_id == instance.instance_id)
}

/// Hooked and watching, whether or not it has fired or was rate limited.
fn is_armed(status: ProbeStatus) -> bool {
    matches!(status, ProbeStatus::Installed | ProbeStatus::Emitting | ProbeStatus::RateLimited)
}

fn status_name(status: ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Pending => "pending",
        ProbeStatus::Installed => "installed",
        ProbeStatus::Error => "error",
        ProbeStatus::Emitting => "emitting",
        ProbeStatus::RateLimited => "rate-limited",
        ProbeStatus::Expired => "expired",
    }
}

/// `error: no code at line 12; ...`, `pending (not imported yet)`.
fn status_text(status: &InstanceProbeStatus) -> String {
    let name = status_name(status.status);
    match (&status.message, status.status) {
        (Some(message), ProbeStatus::Error) => format!("{name}: {}", one_line(message)),
        (Some(message), _) => format!("{name} ({})", one_line(message)),
        (None, _) => name.to_string(),
    }
}

fn state_text(state: ProbeState) -> &'static str {
    match state {
        ProbeState::Active => "active",
        ProbeState::Disabled => "disabled",
        ProbeState::Done => "done",
        ProbeState::Expired => "expired",
    }
}

/// `3 installed`, `2 installed, 1 error`, `-` when no instance reported.
fn instances_summary(statuses: &[InstanceProbeStatus]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for status in statuses {
        let name = if is_armed(status.status) { "installed" } else { status_name(status.status) };
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    if counts.is_empty() {
        return "-".to_string();
    }
    counts.sort_by_key(|(name, _)| if *name == "installed" { 0 } else { 1 });
    counts.iter().map(|(name, count)| format!("{count} {name}")).collect::<Vec<_>>().join(", ")
}
