//! Rendering what the attach commands return: the `ps` table, `exec` output and the
//! `attach --listen-only` instructions.

use crate::text::{cut, Notes};
use borescope_model::{ExecReport, ListenReport, Notice, ProcessList, ProcessRole, PythonProcess};

/// Longest command shown in the `ps` table.
const COMMAND_WIDTH: usize = 90;

/// The `ps` table: one row per process, children indented under their parents; the reasons
/// processes cannot be attached follow as notes, each reason once.
pub fn render_ps(list: &ProcessList) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    notes.extend(&list.notices);
    if list.processes.is_empty() {
        out.push_str("(no Python processes)\n");
        notes.write(&mut out);
        return out;
    }
    out.push_str(&process_table(&list.processes, ""));
    if list.processes.iter().any(|p| p.role == Some(ProcessRole::Worker)) {
        notes.add(Notice::with_hint("* serves requests", "attach to it: `borescope attach PID`"));
    }
    notes.extend(&refusal_notes(&list.processes));
    notes.write(&mut out);
    out
}

/// The process table (PID, PPID, USER, PYTHON, CPU%, RSS, ROLE, ATTACH, COMMAND), children
/// indented under their parents, each line after `indent`.
pub(crate) fn process_table(processes: &[PythonProcess], indent: &str) -> String {
    let depth = depths(processes);
    let rows: Vec<[String; 8]> = processes
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
                match (p.attachable, p.method.as_deref()) {
                    (true, Some(method)) => method.into(),
                    (true, None) => "yes".into(),
                    (false, _) => "no".into(),
                },
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
        let mut text = indent.to_string();
        for (cell, width) in cells.iter().zip(&widths) {
            text.push_str(&format!("{cell:<width$}  ", width = *width));
        }
        text.push_str(command);
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers.map(String::from), "COMMAND");
    for (row, process) in rows.iter().zip(processes) {
        out.push_str(&line(row, &command_text(process)));
    }
    out
}

/// Pids named in one note before the rest are only counted.
const PIDS_NAMED: usize = 8;

/// Why processes cannot be attached, each reason said once: every process whose Python is
/// older than 3.9 in one note, and processes refused for the same reason together.
fn refusal_notes(processes: &[PythonProcess]) -> Vec<Notice> {
    let refused = processes.iter().filter(|p| !p.attachable);
    let (old, other): (Vec<&PythonProcess>, Vec<&PythonProcess>) =
        refused.partition(|p| p.why_not.is_some() && p.python.as_deref().is_some_and(older_than_3_9));
    let mut notes = Vec::new();
    if !old.is_empty() {
        let pids: Vec<u32> = old.iter().map(|p| p.pid).collect();
        let who = match pids.as_slice() {
            [pid] => format!("pid {pid} runs Python older than 3.9"),
            _ => format!("{} processes run Python older than 3.9 ({})", pids.len(), pid_list(&pids)),
        };
        notes.push(Notice::with_hint(
            format!("{who}: attach and exec need 3.9+"),
            "start such a program under borescope instead: `borescope probe FILE:LINE -- CMD` or `borescope start -- CMD`",
        ));
    }
    let mut reasons: Vec<(&str, Vec<u32>)> = Vec::new();
    for process in other {
        let Some(why) = process.why_not.as_deref() else { continue };
        match reasons.iter_mut().find(|(reason, _)| *reason == why) {
            Some((_, pids)) => pids.push(process.pid),
            None => reasons.push((why, vec![process.pid])),
        }
    }
    for (why, pids) in reasons {
        let who = match pids.as_slice() {
            [pid] => format!("pid {pid}"),
            _ => pid_list(&pids),
        };
        notes.push(Notice::plain(format!("{who} cannot be attached: {why}")));
    }
    notes
}

/// `pids 1, 2, 3`, or `pids 1, ..., 8 and 5 more`.
fn pid_list(pids: &[u32]) -> String {
    let named: Vec<String> = pids.iter().take(PIDS_NAMED).map(u32::to_string).collect();
    let more = pids.len().saturating_sub(PIDS_NAMED);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("pids {}{tail}", named.join(", "))
}

/// True for a version such as `3.8.18` before 3.9.
fn older_than_3_9(version: &str) -> bool {
    let mut parts = version.split('.').map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) < (3, 9),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use borescope_model::PS_SCHEMA;

    fn process(pid: u32, python: &str, why_not: Option<&str>) -> PythonProcess {
        PythonProcess {
            pid,
            ppid: 1,
            user: "app".into(),
            python: Some(python.into()),
            python_source: Some("py_version".into()),
            cpu_percent: Some(0.0),
            rss_bytes: Some(20 * 1024 * 1024),
            command: vec!["python3".into(), format!("job{pid}.py")],
            attachable: why_not.is_none(),
            why_not: why_not.map(String::from),
            method: why_not.is_none().then(|| if python.starts_with("3.14") { "pep768" } else { "ptrace" }.into()),
            role: None,
            server: None,
            ports: Vec::new(),
            container: false,
            pid_inside: None,
        }
    }

    fn list(processes: Vec<PythonProcess>) -> ProcessList {
        ProcessList { schema: PS_SCHEMA.into(), processes, notices: Vec::new() }
    }

    #[test]
    fn each_reason_is_said_once() {
        let disabled = "remote debugging disabled: PYTHON_DISABLE_REMOTE_DEBUG is set in its environment";
        let mut processes = vec![
            process(100, "3.14.2", None),
            process(101, "3.8.18", Some("Python 3.8.18: attaching needs 3.9+")),
            process(102, "3.12.3", None),
            process(103, "3.14.2", Some(disabled)),
            process(104, "3.14.2", Some(disabled)),
            process(105, "3.14.2", Some("unknown Python version")),
        ];
        processes.extend((200..212).map(|pid| process(pid, "3.7.2", Some("Python 3.7.2: attaching needs 3.9+"))));
        insta::assert_snapshot!("ps_grouped_notes", render_ps(&list(processes)));
    }

    #[test]
    fn one_old_process() {
        let text = render_ps(&list(vec![process(7, "3.8.18", Some("Python 3.8.18: attaching needs 3.9+"))]));
        let notes = text.split_once("--- notes ---\n").map(|(_, notes)| notes).unwrap_or_default();
        assert_eq!(notes.lines().count(), 1, "{text}");
        assert!(notes.starts_with("- pid 7 runs Python older than 3.9: attach and exec need 3.9+"), "{text}");
    }

    #[test]
    fn versions_compare_by_number() {
        assert!(older_than_3_9("3.8.18"));
        assert!(older_than_3_9("3.7.0rc1"));
        assert!(!older_than_3_9("3.9.0"));
        assert!(!older_than_3_9("3.13.0rc1"));
        assert!(!older_than_3_9("?"));
    }
}
