//! The agent side as text: the instances a server knows (`snap agents`), agent keys (`snap key
//! add`, `snap key list`) and what `snap attach` did.

use super::table;
use super::when::{ago, utc};
use crate::text::Notes;
use borescope_model::SnapAttachReport;
use borescope_snapshots_api::people::{CreatedKey, Instance, KeyInfo};

/// `snap agents`: one row per instance, most recently seen first. An instance that did not
/// say goodbye but was not heard from for `silent_after_ms` is shown as `silent`.
pub fn render_snap_instances(instances: &[Instance], now_ms: i64, silent_after_ms: i64) -> String {
    if instances.is_empty() {
        return "(no agent has registered; start a service with one: `borescope run --server URL --key KEY --service NAME -- CMD`, or `borescope snap attach PID ...`)\n".to_string();
    }
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|i| {
            let state = if i.gone {
                "gone"
            } else if now_ms.saturating_sub(i.last_seen_ms) > silent_after_ms {
                "silent"
            } else {
                "live"
            };
            vec![
                i.instance_id.chars().take(8).collect(),
                i.service.clone(),
                i.env.clone().unwrap_or_else(|| "-".into()),
                i.host.clone(),
                i.pid.to_string(),
                i.python.clone(),
                i.engine.clone(),
                i.agent_version.clone(),
                ago(i.started_ms, now_ms),
                ago(i.last_seen_ms, now_ms),
                state.to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &["INSTANCE", "SERVICE", "ENV", "HOST", "PID", "PYTHON", "ENGINE", "AGENT", "STARTED", "LAST SEEN", "STATE"],
        &rows,
    );
    if instances.iter().any(|i| !i.gone && now_ms.saturating_sub(i.last_seen_ms) > silent_after_ms) {
        let mut notes = Notes::default();
        notes.add(borescope_model::Notice::plain(format!(
            "silent: not heard from for over {}s without saying goodbye (killed, or cut off from the server)",
            silent_after_ms / 1000
        )));
        notes.write(&mut out);
    }
    out
}

/// `snap key add`: the key, shown this once, and how to use it.
pub fn render_snap_key_created(key: &CreatedKey) -> String {
    format!(
        "Agent key {} for service {} (shown only this once; the server keeps only a hash):\n{}\n\
         Give it to the service's agent: `borescope run --key KEY --service {} -- CMD`, or BORESCOPE_AGENT_KEY=KEY\n",
        key.id, key.service, key.key, key.service,
    )
}

/// `snap key list`: ids, services, and the first characters of each key (never the key).
pub fn render_snap_keys(keys: &[KeyInfo]) -> String {
    if keys.is_empty() {
        return "(no agent keys; make one: `borescope snap key add --service NAME`)\n".to_string();
    }
    let rows: Vec<Vec<String>> =
        keys.iter().map(|k| vec![k.id.to_string(), k.service.clone(), format!("{}...", k.prefix), utc(k.created_ms)]).collect();
    table(&["ID", "SERVICE", "KEY", "CREATED"], &rows)
}

/// `snap attach PID` (agent started) or `--detach` (agent removed).
pub fn render_snap_attach(report: &SnapAttachReport) -> String {
    let python = report.python.as_ref().map(|p| format!(" (Python {p})")).unwrap_or_default();
    let mut out = if report.attached {
        let engine = match (report.engine.as_deref(), report.tool_id) {
            (Some(engine), Some(tool)) => format!(", {engine} on tool id {tool}"),
            (Some(engine), None) => format!(", {engine} engine"),
            _ => String::new(),
        };
        let env = report.env.as_ref().map(|e| format!(" ({e})")).unwrap_or_default();
        let mut out = format!(
            "Live-snapshot agent started in pid {}{python}{engine}: instance {} of service {}{env}, reporting to {}\n",
            report.pid,
            report.instance_id.as_deref().unwrap_or("?"),
            report.service.as_deref().unwrap_or("?"),
            report.server.as_deref().unwrap_or("?"),
        );
        out.push_str(&format!(
            "Add probes: `borescope snap add FILE:LINE --service {}`; remove the agent: `borescope snap attach {} --detach`\n",
            report.service.as_deref().unwrap_or("NAME"),
            report.pid
        ));
        out
    } else if report.changed {
        format!(
            "Live-snapshot agent removed from pid {}{python}: its probes are disarmed, its thread, import hook and modules are gone\n",
            report.pid
        )
    } else {
        format!("No live-snapshot agent ran in pid {}{python}; there was nothing to take out\n", report.pid)
    };
    let mut notes = Notes::default();
    notes.extend(&report.notices);
    notes.write(&mut out);
    out
}
