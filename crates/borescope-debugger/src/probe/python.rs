//! Python probes: start the program with the agent, wait for the first of hit / exception /
//! exit / timeout, end the program, build the report.

use super::convert::{exception_stop, frames_from_agent, hit_stop};
use super::explain::{not_reached, ran_the_file_itself, Observations};
use super::CheckedProbe;
use crate::agent::{AgentListener, AgentMessage};
use crate::error::LocationProblem;
use crate::frames::FrameClassifier;
use crate::process::ProgramProcess;
use crate::DebuggerError;
use borescope_model::wording::counted;
use borescope_model::{
    Language, Location, Notice, ProbeOutcome, ProbeReport, Stop, ThreadSnapshot, PROBE_SCHEMA,
};
use borescope_static::EnvVars;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a process that raised an uncaught exception gets to finish printing and exit.
const EXCEPTION_GRACE: Duration = Duration::from_secs(2);
/// How long to wait, after the program exits, for its agents' connections to close (they close
/// at once unless a child process outlives it).
const DRAIN: Duration = Duration::from_millis(500);

/// The environment that loads the agent with `job` into every Python process of the program.
/// `base` is the environment the program would otherwise get (`None`: ours); `user_env` are
/// the `--env` overrides.
pub(crate) fn agent_env(
    agent_dir: &Path,
    channel: &Path,
    job: &serde_json::Value,
    base: Option<&[(String, String)]>,
    user_env: &[(String, String)],
) -> Vec<(String, String)> {
    let lookup = |list: &[(String, String)]| {
        list.iter()
            .rev()
            .find(|(k, _)| k == EnvVars::PYTHONPATH)
            .map(|(_, v)| v.clone())
    };
    let existing = lookup(user_env)
        .or_else(|| match base {
            Some(base) => lookup(base),
            None => std::env::var(EnvVars::PYTHONPATH).ok(),
        });
    let mut env = vec![("PYTHONUNBUFFERED".to_string(), "1".to_string())];
    env.extend(user_env.iter().filter(|(k, _)| k != EnvVars::PYTHONPATH).cloned());
    env.extend(borescope_pyagent::boot_env(agent_dir, &job.to_string(), existing.as_deref()));
    env.push((EnvVars::BORESCOPE_AGENT_CHANNEL.into(), channel.display().to_string()));
    env
}

pub(crate) async fn run(checked: CheckedProbe, cache_dir: &Path) -> Result<ProbeReport, DebuggerError> {
    let started = Instant::now();
    let request = &checked.request;
    let agent_dir = borescope_pyagent::materialize(cache_dir)?;
    let mut listener = AgentListener::bind()?;
    let hits_wanted = request.hits.unwrap_or(1);
    let job = json!({
        "kind": "probe",
        "locations": checked.locations,
        "condition": request.condition,
        "hit": request.hit.unwrap_or(1),
        "hits": hits_wanted,
        "evals": request.evals,
        "budget": request.budget,
    });
    let env = agent_env(&agent_dir, listener.path(), &job, None, &request.env);
    let mut process = ProgramProcess::spawn(&checked.argv, &checked.cwd, &env, &request.stdin)?;
    let deadline = tokio::time::Instant::now() + request.timeout;
    let mut classifier = FrameClassifier::default();
    let mut obs = Observations::default();
    let mut stops: Vec<Stop> = Vec::new();
    let mut notices: Vec<Notice> = Vec::new();
    let mut threads: Vec<ThreadSnapshot> = Vec::new();
    let mut exit = None;
    let outcome;
    loop {
        tokio::select! {
            message = listener.recv() => {
                let Some((from, message)) = message else { continue };
                match message {
                    AgentMessage::Hello(hello) => {
                        classifier.learn(&hello.runtime_dirs, hello.agent_dir.as_deref());
                        obs.hello(from, hello);
                    }
                    AgentMessage::Engine { engine, reason } => {
                        if let Some(reason) = reason {
                            notices.push(Notice::plain(format!("watched with {engine} instead of the rewrite engine: {reason}")));
                        }
                        obs.engines.insert(from, engine);
                    }
                    AgentMessage::BadInput { locations, expressions } => {
                        process.terminate().await;
                        if let Some(bad) = expressions.into_iter().next() {
                            return Err(DebuggerError::BadExpression {
                                option: bad.option, text: bad.text, error: bad.error,
                            });
                        }
                        return Err(DebuggerError::BadLocation(
                            locations.into_iter().map(|bad| LocationProblem {
                                file: display_name(&bad.file, request, &checked),
                                line: bad.line,
                                reason: bad.reason,
                                before: bad.before,
                                after: bad.after,
                            }).collect(),
                        ));
                    }
                    AgentMessage::Notice { message } => notices.push(Notice::plain(message)),
                    AgentMessage::Hit(stop) => {
                        obs.stop(from);
                        stops.push(hit_stop(stop, &classifier));
                        if stops.len() as u32 >= hits_wanted {
                            outcome = ProbeOutcome::Hit;
                            break;
                        }
                    }
                    AgentMessage::Exception(stop) => {
                        obs.stop(from);
                        // After hits collected with --hits, the exception is still what ended
                        // the program: it is the outcome, the hits come before it in `stops`.
                        stops.push(exception_stop(stop, &classifier));
                        // Let the program print its traceback and exit on its own.
                        if let Ok(status) = tokio::time::timeout(EXCEPTION_GRACE, process.wait()).await {
                            exit = Some(status);
                        }
                        outcome = ProbeOutcome::Exception;
                        break;
                    }
                    AgentMessage::ThreadException(stop) => {
                        let stop = exception_stop(stop, &classifier);
                        let thread = stop.thread.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                        let what = crate::probe::explain_exception(&stop);
                        notices.push(Notice::plain(format!("thread {thread} died: {what}")));
                    }
                    AgentMessage::Summary(summary) => obs.summaries.push(summary),
                    AgentMessage::AgentError { message } => {
                        notices.push(Notice::plain(format!("agent error: {message}")));
                    }
                    AgentMessage::Threads { .. } | AgentMessage::NoDebugpy { .. } | AgentMessage::Listening { .. } => {}
                }
            }
            status = process.wait() => {
                exit = Some(status);
                // Messages sent just before exit may still be queued.
                for (from, message) in listener.drain(DRAIN).await {
                    match message {
                        AgentMessage::Hit(stop) if (stops.len() as u32) < hits_wanted => {
                            obs.stop(from);
                            stops.push(hit_stop(stop, &classifier));
                        }
                        AgentMessage::Summary(summary) => obs.summaries.push(summary),
                        AgentMessage::Hello(hello) => obs.hello(from, hello),
                        AgentMessage::Engine { engine, .. } => {
                            obs.engines.insert(from, engine);
                        }
                        _ => {}
                    }
                }
                outcome = if stops.is_empty() { ProbeOutcome::NotReached } else { ProbeOutcome::Hit };
                break;
            }
            _ = tokio::time::sleep_until(deadline) => {
                outcome = if stops.is_empty() { ProbeOutcome::Timeout } else { ProbeOutcome::Hit };
                if stops.is_empty() {
                    let (snapshots, summaries) = collect_threads(&mut listener, &classifier).await;
                    threads = snapshots;
                    obs.summaries.extend(summaries);
                } else {
                    notices.push(Notice::with_hint(
                        format!("the time limit passed after {} of {}", stops.len(), counted(u64::from(hits_wanted), "hit", "hits")),
                        "--timeout SECS waits longer",
                    ));
                }
                break;
            }
        }
    }
    if exit.is_none() {
        process.terminate().await;
    } else {
        process.kill_group();
        process.drain_output().await;
    }
    listener.close_all();
    let show = |loc: &Location| display_location(loc, &checked);
    match outcome {
        ProbeOutcome::NotReached | ProbeOutcome::Timeout => notices.extend(not_reached(
            &obs,
            &checked.locations,
            request.condition.as_deref(),
            request.hit,
            &show,
        )),
        _ => {}
    }
    if outcome == ProbeOutcome::NotReached && request.command.is_empty() {
        let ran: Vec<String> = checked.argv.iter().map(|arg| display_path(arg, &checked)).collect();
        let location = checked.locations.first().map(&show).unwrap_or_default();
        notices.push(ran_the_file_itself(&ran, &location, "python3 MAIN.py"));
    }
    let first = obs.hellos.first();
    if outcome == ProbeOutcome::Timeout
        && let Some(reason) = first.and_then(|h| h.engine_reason.as_deref())
    {
        notices.push(Notice::plain(format!(
            "the line was watched with settrace, which slows every function call down (the faster rewrite engine cannot watch it: {reason})"
        )));
    }
    Ok(ProbeReport {
        schema: PROBE_SCHEMA.into(),
        outcome,
        language: Language::Python,
        engine: obs.engine(),
        runtime: first.map(|h| h.version.clone()),
        locations: checked.locations.clone(),
        command: checked.argv.clone(),
        pid: Some(process.pid()),
        stops,
        hits_requested: hits_wanted,
        exit,
        timeout_secs: request.timeout.as_secs_f64(),
        threads,
        output: process.output.tail_since(0, 20),
        notices,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Asks every agent where its threads are and what ran so far (for the timeout report).
async fn collect_threads(
    listener: &mut AgentListener,
    classifier: &FrameClassifier,
) -> (Vec<ThreadSnapshot>, Vec<crate::agent::Summary>) {
    let mut waiting = listener.broadcast(&json!({"type": "threads"})).await;
    let mut snapshots = Vec::new();
    let mut summaries = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while waiting > 0 {
        let Ok(Some((_, message))) = tokio::time::timeout_at(until, listener.recv()).await else {
            break;
        };
        if let AgentMessage::Threads { threads, summary } = message {
            waiting -= 1;
            snapshots.extend(threads.into_iter().map(|t| ThreadSnapshot {
                thread: t.thread,
                stack: frames_from_agent(&t.frames, classifier),
            }));
            summaries.extend(summary);
        }
    }
    (snapshots, summaries)
}

/// A location's file as the user wrote it, when it maps back; else the real path.
fn display_name(real: &str, request: &super::ProbeRequest, checked: &CheckedProbe) -> String {
    for (given, resolved) in request.locations.iter().zip(&checked.locations) {
        if resolved.file == real {
            return given.file.clone();
        }
    }
    real.to_string()
}

fn display_location(location: &Location, checked: &CheckedProbe) -> String {
    format!("{}:{}", display_path(&location.file, checked), location.line)
}

/// A path relative to the program's working directory when it is under it.
fn display_path(path: &str, checked: &CheckedProbe) -> String {
    Path::new(path)
        .strip_prefix(&checked.cwd)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}
