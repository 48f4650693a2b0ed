//! Node probes: a short session with the locations as breakpoints (condition and hit count in
//! V8 and the session), capturing each stop with `--eval` results, then ending the program.

use super::session::{NodeSession, NodeStart};
use crate::probe::CheckedProbe;
use crate::session::{RunAction, RunState};
use crate::DebuggerError;
use borescope_model::wording::counted;
use borescope_model::{
    BreakpointSpec, ExceptionMode, Language, Location, Notice, ProbeOutcome, ProbeReport, StopReason,
    ThreadSnapshot, PROBE_SCHEMA,
};
use std::time::Instant;

/// Runs a probe on a Node program.
pub(crate) async fn probe(checked: CheckedProbe) -> Result<ProbeReport, DebuggerError> {
    let started = Instant::now();
    let request = &checked.request;
    if request.python.is_some() {
        return Err(DebuggerError::BadCommand("--python applies only to Python programs".into()));
    }
    let breakpoints = checked
        .locations
        .iter()
        .map(|location| BreakpointSpec {
            location: Some(location.clone()),
            function: None,
            condition: request.condition.clone(),
            hit: request.hit,
            log: None,
        })
        .collect();
    let session = NodeSession::start(
        "probe",
        NodeStart {
            argv: checked.argv.clone(),
            cwd: checked.cwd.clone(),
            base_env: None,
            env: request.env.clone(),
            stdin: request.stdin.clone(),
            breakpoints,
            exceptions: ExceptionMode::Uncaught,
            stop_on_entry: false,
            hold: false,
        },
    )
    .await?;
    let hits_wanted = request.hits.unwrap_or(1);
    let deadline = started + request.timeout;
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    let mut notices = Vec::new();
    let mut epoch = 0;
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let stopped = session.core().wait_for_stop(epoch, left).await;
        let snapshot = session.core().snapshot();
        epoch = snapshot.epoch;
        match snapshot.run {
            RunState::Exited(_) => {
                break if stops.is_empty() { ProbeOutcome::NotReached } else { ProbeOutcome::Hit };
            }
            RunState::Paused(pause) if stopped => match pause.reason {
                StopReason::Breakpoint { .. } => {
                    stops.push(session.capture(&request.evals, &request.budget).await?);
                    if stops.len() as u32 >= hits_wanted {
                        break ProbeOutcome::Hit;
                    }
                    session.send_action(RunAction::Continue).await?;
                }
                StopReason::Exception(_) => {
                    // Also after hits collected with --hits: the exception ended the program.
                    stops.push(session.capture(&request.evals, &request.budget).await?);
                    break ProbeOutcome::Exception;
                }
                _ => session.send_action(RunAction::Continue).await?,
            },
            _ => {
                // Time is up: pause to see where the program is.
                if !stops.is_empty() {
                    notices.push(Notice::with_hint(
                        format!("the time limit passed after {} of {}", stops.len(), counted(u64::from(hits_wanted), "hit", "hits")),
                        "--timeout SECS waits longer",
                    ));
                    break ProbeOutcome::Hit;
                }
                if session.send_action(RunAction::Pause).await.is_ok()
                    && session.core().wait_for_stop(epoch, std::time::Duration::from_secs(1)).await
                    && let Ok(stop) = session.capture(&[], &request.budget).await {
                        threads.push(ThreadSnapshot { thread: super::report::main_thread(), stack: stop.stack });
                    }
                break ProbeOutcome::Timeout;
            }
        }
    };
    let ended = session.core().snapshot().run;
    let exit = match ended {
        RunState::Exited(exit) => Some(exit),
        _ => None,
    };
    let loaded = session.loaded_files();
    let pid = session.core().pid;
    let output = session.core().output.tail_since(0, 20);
    session.stop().await;
    if matches!(outcome, ProbeOutcome::NotReached | ProbeOutcome::Timeout) {
        notices.extend(explain(&checked, &loaded, request.condition.as_deref(), request.hit));
    }
    if outcome == ProbeOutcome::NotReached && request.command.is_empty() {
        let relative = |path: &str| {
            std::path::Path::new(path).strip_prefix(&checked.cwd).map(|p| p.display().to_string()).unwrap_or_else(|_| path.to_string())
        };
        let ran: Vec<String> = checked.argv.iter().map(|arg| relative(arg)).collect();
        let location = checked.locations.first().map(|l| format!("{}:{}", relative(&l.file), l.line)).unwrap_or_default();
        notices.push(crate::probe::ran_the_file_itself(&ran, &location, "node MAIN.js"));
    }
    Ok(ProbeReport {
        schema: PROBE_SCHEMA.into(),
        outcome,
        language: Language::Node,
        engine: Some("cdp".into()),
        runtime: node_version(),
        locations: checked.locations.clone(),
        command: session.core().command.clone(),
        pid: Some(pid),
        stops,
        hits_requested: hits_wanted,
        exit,
        timeout_secs: request.timeout.as_secs_f64(),
        threads,
        output,
        notices,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Why a location was not reached, from what V8 parsed.
fn explain(
    checked: &CheckedProbe,
    loaded: &std::collections::HashSet<String>,
    condition: Option<&str>,
    hit: Option<u32>,
) -> Vec<Notice> {
    let show = |location: &Location| {
        std::path::Path::new(&location.file)
            .strip_prefix(&checked.cwd)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| location.file.clone())
    };
    checked
        .locations
        .iter()
        .map(|location| {
            let file = show(location);
            if !loaded.contains(&location.file) {
                Notice::with_hint(
                    format!("`{file}` was never loaded: no code from it ran"),
                    "check that the command requires or imports this file",
                )
            } else if let Some(condition) = condition {
                Notice::plain(format!(
                    "`{file}` was loaded, but line {} never ran with --if `{condition}` true",
                    location.line
                ))
            } else if let Some(hit) = hit {
                Notice::plain(format!("`{file}` line {} did not run {}", location.line, counted(u64::from(hit), "time", "times")))
            } else {
                Notice::plain(format!("`{file}` was loaded, but line {} never ran", location.line))
            }
        })
        .collect()
}

/// `Node v20.1.0`, from the node on PATH (what `node` in the command most likely is).
fn node_version() -> Option<String> {
    let out = std::process::Command::new("node").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!version.is_empty()).then(|| format!("Node {version}"))
}
