//! `borescope snap attach PID`: the live-snapshot agent loaded into a running Python 3.9+
//! process (PEP 768 on 3.14, ptrace on 3.9–3.13), and `--detach` to take it out. This is where the two capabilities
//! meet: `borescope-snapshots` says what the job is, `borescope-attach` runs it in the process.
//!
//! The start job imports everything the agent needs before it reports, so borescope's
//! directory in the process is removed as soon as the status is read, like after any job.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_attach::job::{Injector, JobOptions};
use borescope_attach::AttachError;
use borescope_cli::{Cli, ServerConnectionArgs, SnapAttachArgs};
use borescope_model::{Notice, SnapAttachReport, SNAP_ATTACH_SCHEMA};
use borescope_snapshots::job::stop_job;
use borescope_snapshots::AgentJob;
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// How long the start and stop jobs may run once picked up (connecting, registering and the
/// first probe poll happen on the agent's own thread, not in the job).
const JOB_RUN_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(cli: &Cli, server: &ServerConnectionArgs, args: &SnapAttachArgs) -> Result<ExitCode, Failure> {
    let report = if borescope_kube::TargetSpec::looks_like(&args.target) {
        let spec = borescope_kube::TargetSpec::parse(&args.target)?;
        super::pod_attach::run(server, args, &spec, JOB_RUN_TIMEOUT).await?
    } else {
        if args.container.is_some() || args.kube.namespace.is_some() || args.kube.context.is_some() {
            return Err(Failure::input("--container, -n and --context apply to `snap attach pod/NAME`"));
        }
        let pid: u32 = args.target.parse().map_err(|_| {
            Failure::input(format!("`{}` is neither a process id nor `pod/NAME[:PID]`; `borescope ps` lists local processes, `borescope pods` those in pods", args.target))
        })?;
        if args.detach { detach(args, pid)? } else { attach(server, args, pid)? }
    };
    if cli.json {
        printer::json(&report);
    } else {
        printer::text(&borescope_render::render_snap_attach(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn attach(server: &ServerConnectionArgs, args: &SnapAttachArgs, pid: u32) -> Result<SnapAttachReport, Failure> {
    let service = args.service.as_deref().unwrap_or_default();
    let job = AgentJob::new(&server.server, args.key.as_deref(), service, args.env.as_deref())?;
    let options = JobOptions {
        thread: settings::thread(args.inject.thread),
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        run_timeout: JOB_RUN_TIMEOUT,
        withdraw: true,
    };
    borescope_attach::roles::refuse_non_worker(pid)?;
    let injector = Injector::open(pid)?;
    let dir = injector.new_dir("snapshots")?;
    let status = injector.run(&dir, job.start_job(pid), &options);
    if !matches!(status, Err(AttachError::StillRunning { .. })) {
        dir.remove();
    }
    let status = status?;
    if status["state"] != "ok" {
        return Err(Failure::failed(format!("the agent did not start in pid {}: {}", pid, said(&status))));
    }
    let mut notices = Vec::new();
    if let Some(loopback) = job.servers().iter().find(|server| server.is_loopback()).filter(|_| !injector.target.same_network) {
        notices.push(Notice::with_hint(
            format!(
                "pid {} has its own network namespace: {} there is not this machine's, so the agent may not reach the server",
                pid, loopback
            ),
            "give --server an address the process can reach (this machine's address on its network)",
        ));
    }
    Ok(started(pid, &status, &job, notices))
}

/// The report of an agent that started in `pid` (its status from the job).
pub(super) fn started(pid: u32, status: &Value, job: &AgentJob, notices: Vec<Notice>) -> SnapAttachReport {
    let text = |key: &str| status[key].as_str().map(str::to_string);
    SnapAttachReport {
        schema: SNAP_ATTACH_SCHEMA.into(),
        pid,
        attached: true,
        changed: true,
        python: text("python"),
        instance_id: text("instance_id"),
        engine: text("engine"),
        tool_id: status["tool_id"].as_u64().and_then(|t| u32::try_from(t).ok()),
        service: Some(job.service().to_string()),
        env: job.env().map(str::to_string),
        server: Some(job.server_list()),
        notices,
    }
}

fn detach(args: &SnapAttachArgs, pid: u32) -> Result<SnapAttachReport, Failure> {
    let options = JobOptions {
        thread: settings::thread(args.inject.thread),
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        run_timeout: JOB_RUN_TIMEOUT,
        // A thread that does not pick the stop up in time keeps it queued: the agent is taken
        // out whenever the thread runs Python again.
        withdraw: false,
    };
    let injector = Injector::open(pid)?;
    let dir = injector.new_dir("snapshots-stop")?;
    let status = match injector.run(&dir, stop_job(), &options) {
        Ok(status) => {
            dir.remove();
            status
        }
        Err(error) => return Err(error.into()),
    };
    if status["state"] != "ok" {
        return Err(Failure::failed(format!("the agent in pid {} was not taken out: {}", pid, said(&status))));
    }
    Ok(stopped(pid, &status))
}

/// The report of an agent taken out of `pid` (its status from the job).
pub(super) fn stopped(pid: u32, status: &Value) -> SnapAttachReport {
    let notices: Vec<Notice> = status["notes"]
        .as_array()
        .map(|notes| notes.iter().filter_map(Value::as_str).map(Notice::plain).collect())
        .unwrap_or_default();
    SnapAttachReport {
        schema: SNAP_ATTACH_SCHEMA.into(),
        pid,
        attached: false,
        changed: status["stopped"] != false,
        python: status["python"].as_str().map(str::to_string),
        instance_id: None,
        engine: None,
        tool_id: None,
        service: None,
        env: None,
        server: None,
        notices,
    }
}

/// What a job's status says went wrong.
pub(super) fn said(status: &Value) -> String {
    status["error"].as_str().map(str::to_string).unwrap_or_else(|| status.to_string())
}
