//! Rendering what the attach commands return: the `ps` table, `exec` output and the
//! `attach --listen-only` instructions.

use crate::text::{cut, Notes};
use borescope_model::{ExecReport, ListenReport, Notice, ProcessList, ProcessRole, PythonProcess};

/// Longest command shown in the `ps` table.
const COMMAND_WIDTH: usize = 90;

/// The `ps` table: one row per process, children indented under their parents; the reasons a
/// process cannot be attached follow as notes.
pub fn render_ps(list: &ProcessList) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    notes.extend(&list.notices);
    if list.processes.is_empty() {
        out.push_str("(no Python processes)\n");
        notes.write(&mut out);
        return out;
    }
    let depth = depths(&list.processes);
    let rows: Vec<[String; 8]> = list
        .processes
        .iter()
        .zip(&depth)
        .map(|(p, d)| {
            let indent = if *d == 0 { String::new() } else { format!("{}└ ", "  ".repeat(d - 1)) };
            [
                format!("{indent}{}", p.pid),
                p.ppid.to_string(),
                p.user.clone(),
                p.python.clone().unwrap_or_else(|| "?".into()),
                p.cpu_percent.map(|c| format!("{c:.1}")).unwrap_or_else(|| "-".into()),
                p.rss_bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
                role_text(p),
                if p.attachable { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    let headers = ["PID", "PPID", "USER", "PYTHON", "CPU%", "RSS", "ROLE", "ATTACH"];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String], command: &str| {
        let mut text = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            text.push_str(&format!("{cell:<width$}  ", width = *width));
        }
        text.push_str(command);
        text.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&headers.map(String::from), "COMMAND"));
    for (row, process) in rows.iter().zip(&list.processes) {
        out.push_str(&line(row, &command_text(process)));
    }
    if list.processes.iter().any(|p| p.role == Some(ProcessRole::Worker)) {
        notes.add(Notice::with_hint("* serves requests", "attach to it: `borescope attach PID`"));
    }
    for process in list.processes.iter().filter(|p| !p.attachable) {
        if let Some(why) = &process.why_not {
            notes.add(Notice::plain(format!("pid {} cannot be attached: {why}", process.pid)));
        }
    }
    notes.write(&mut out);
    out
}

fn depths(processes: &[PythonProcess]) -> Vec<usize> {
    let mut depth: Vec<usize> = Vec::with_capacity(processes.len());
    for (index, process) in processes.iter().enumerate() {
        let parent = processes[..index].iter().rposition(|p| p.pid == process.ppid);
        depth.push(parent.map(|i| depth[i] + 1).unwrap_or(0));
    }
    depth
}

fn role_text(process: &PythonProcess) -> String {
    let server = process.server.as_deref().unwrap_or_default();
    match process.role {
        Some(ProcessRole::Worker) => format!("{server} worker*"),
        Some(ProcessRole::Reloader) => format!("{server} reloader"),
        Some(ProcessRole::Supervisor) => format!("{server} supervisor"),
        Some(ProcessRole::Helper) => format!("{server} helper"),
        None => String::new(),
    }
}

fn command_text(process: &PythonProcess) -> String {
    let (mut text, _) = cut(&process.command.join(" "), COMMAND_WIDTH);
    if !process.ports.is_empty() {
        let ports: Vec<String> = process.ports.iter().map(|p| format!(":{p}")).collect();
        text.push_str(&format!("  [listens {}]", ports.join(" ")));
    }
    if process.container {
        match process.pid_inside {
            Some(inside) => text.push_str(&format!("  [container, pid {inside} inside]")),
            None => text.push_str("  [container]"),
        }
    }
    text
}

fn human_bytes(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1}G", mib / 1024.0)
    } else {
        format!("{mib:.1}M")
    }
}

/// `exec`: what goes to stdout (the code's own output) and what goes to stderr (its stderr,
/// the traceback, and a note when output was cut).
pub fn render_exec(report: &ExecReport) -> (String, String) {
    let mut err = report.stderr.clone();
    if let Some(traceback) = &report.error {
        if !err.is_empty() && !err.ends_with('\n') {
            err.push('\n');
        }
        err.push_str(traceback);
    }
    if report.dropped > 0 {
        err.push_str(&format!(
            "borescope: {} of output {} dropped beyond the 1 MiB capture limit\n",
            borescope_model::wording::counted(report.dropped, "character", "characters"),
            if report.dropped == 1 { "was" } else { "were" }
        ));
    }
    (report.stdout.clone(), err)
}

/// `attach --listen-only`: where debugpy listens and the editor configuration to use.
pub fn render_listen(report: &ListenReport) -> String {
    let mut out = format!(
        "debugpy {} listens in pid {} (Python {}) on {}:{}\n",
        report.debugpy, report.pid, report.python, report.host, report.port
    );
    out.push_str("Attach VS Code with this configuration (launch.json \"configurations\"):\n");
    out.push_str(&serde_json::to_string_pretty(&report.launch_json).unwrap_or_default());
    out.push('\n');
    let mut notes = Notes::default();
    notes.extend(&report.notices);
    notes.write(&mut out);
    out
}
