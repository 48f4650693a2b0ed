//! `borescope pods`: each pod, its containers, and their Python processes in the same table
//! `ps` prints.

use crate::process::process_table;
use crate::text::Notes;
use borescope_model::{PodList, ProcessRole};

/// The text of `borescope pods`.
pub fn render_pods(list: &PodList) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    notes.extend(&list.notices);
    let context = list.context.as_deref().map(|c| format!(" (context {c})")).unwrap_or_default();
    out.push_str(&format!("{}{context}\n", list.selection));
    if list.pods.is_empty() {
        out.push_str("(no pods)\n");
    }
    for pod in &list.pods {
        let age = pod.age_seconds.map(age_text).unwrap_or_else(|| "?".into());
        let ready = if pod.ready { "ready" } else { "not ready" };
        let node = pod.node.as_deref().map(|n| format!(", node {n}")).unwrap_or_default();
        out.push_str(&format!(
            "\npod/{} ({}): {}, {ready}, {} restart{}, age {age}{node}\n",
            pod.name,
            pod.namespace,
            pod.phase,
            pod.restarts,
            if pod.restarts == 1 { "" } else { "s" }
        ));
        for container in &pod.containers {
            out.push_str(&format!("  container {} ({})\n", container.name, container.image));
            if let Some(error) = &container.error {
                out.push_str(&format!("    {}\n", error.lines().next().unwrap_or_default()));
                continue;
            }
            if container.processes.is_empty() {
                out.push_str("    (no Python processes)\n");
                continue;
            }
            out.push_str(&process_table(&container.processes, "    "));
            for process in container.processes.iter().filter(|p| !p.attachable) {
                if let Some(why) = &process.why_not {
                    out.push_str(&format!("    pid {}: {why}\n", process.pid));
                }
            }
        }
    }
    if list.pods.iter().flat_map(|p| &p.containers).flat_map(|c| &c.processes).any(|p| p.role == Some(ProcessRole::Worker)) {
        notes.add(borescope_model::Notice::with_hint("* serves requests", "attach to it: `borescope attach pod/NAME:PID`"));
    }
    notes.write(&mut out);
    out
}

fn age_text(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
