//! `borescope snap attach pod/NAME[:PID]`: the live-snapshot agent started (or, with
//! `--detach`, taken out) in a process of a Kubernetes pod, through the same in-pod program and
//! PEP 768 job as `attach pod/...`. `borescope-snapshots` says what the job is;
//! `borescope-kube` runs it in the pod.

use super::attach::said;
use crate::failure::Failure;
use crate::settings;
use borescope_cli::{ServerConnectionArgs, SnapAttachArgs};
use borescope_kube::inject::{self, JobOptions};
use borescope_kube::TargetSpec;
use borescope_model::{Notice, SnapAttachReport};
use borescope_snapshots::job::stop_job;
use borescope_snapshots::AgentJob;
use std::time::Duration;

pub async fn run(server: &ServerConnectionArgs, args: &SnapAttachArgs, spec: &TargetSpec, run_timeout: Duration) -> Result<SnapAttachReport, Failure> {
    if args.inject.thread.is_some() {
        return Err(Failure::input(super::super::pod_target::THREAD_IN_POD));
    }
    let job = if args.detach {
        None
    } else {
        let service = args.service.as_deref().unwrap_or_default();
        Some(AgentJob::new(&server.server, args.key.as_deref(), service, args.env.as_deref())?)
    };
    let options = JobOptions {
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        run_timeout,
        // A stop that is not picked up in time stays queued (the agent leaves when the thread
        // runs Python again); a start is withdrawn.
        withdraw: !args.detach,
        keep_dir: false,
        sources: false,
    };
    {
        let (cluster, _, candidate) = super::super::pod_target::find(&args.kube, spec, args.container.as_deref()).await?;
        let pid = candidate.process.pid;
        let request = match &job {
            Some(job) => job.start_job(pid),
            None => stop_job(),
        };
        let result = inject::run_job(&cluster, &candidate.pod, pid, Some(&candidate.executable), request, &options, None).await?;
        let status = result.status;
        if status["state"] != "ok" {
            let what = if job.is_some() { "did not start" } else { "was not taken out" };
            return Err(Failure::failed(format!("the agent {what} in pid {pid} of pod {}: {}", candidate.pod, said(&status))));
        }
        let Some(job) = job else {
            return Ok(super::attach::stopped(pid, &status));
        };
        let mut notices = vec![Notice::plain(format!("in pod {} (pid {pid} there)", candidate.pod))];
        if let Some(loopback) = job.servers().iter().find(|server| server.is_loopback()).filter(|_| !candidate.host_network) {
            notices.push(Notice::with_hint(
                format!("pod {} has its own network: {} there is the pod's own loopback, so the agent may not reach the server", candidate.pod, loopback),
                "give --server an address the pod can reach (a Service in the cluster, or this machine's address on the pod network)",
            ));
        }
        Ok(super::attach::started(pid, &status, &job, notices))
    }
}
