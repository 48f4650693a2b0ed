//! `attach` and `exec` given a Kubernetes target (`svc/NAME`, `pod/NAME[:PID]`): find the
//! process (asking on a terminal when several qualify), then hand it to the daemon (a session)
//! or run the code (exec).

use crate::failure::Failure;
use crate::settings;
use borescope_cli::{AttachArgs, Cli, ExecArgs, KubeArgs};
use borescope_ipc::{PodAttachRequest, Request};
use borescope_kube::choose::{self, Candidate};
use borescope_kube::inject::{self, JobOptions};
use borescope_kube::{Cluster, TargetSpec};
use borescope_model::{BreakpointSpec, Location};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Why `--thread` is refused for a pod's process.
pub(super) const THREAD_IN_POD: &str = "--thread is not available in a pod: injected code runs in the main thread there (Python 3.14+ is asked through sys.remote_exec; on 3.9-3.13 it runs as a pending call, which CPython runs only in the main thread)";

/// CPU is sampled this long in each container when choosing.
const CHOICE_INTERVAL: Duration = Duration::from_millis(100);

/// Finds the one process `spec` means.
pub(super) async fn find(kube: &KubeArgs, spec: &TargetSpec, container: Option<&str>) -> Result<(Cluster, String, Candidate), Failure> {
    let cluster = Cluster::connect(None, kube.context.as_deref()).await?;
    let namespace = cluster.namespace_or_default(kube.namespace.as_deref());
    let mut resolution = choose::resolve(&cluster, spec, &namespace, container, CHOICE_INTERVAL).await?;
    let candidate = match resolution.candidates.len() {
        1 => resolution.candidates.remove(0),
        _ if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => ask(&resolution.candidates)?,
        _ => return Err(choose::choice_error(&resolution.candidates, &namespace).into()),
    };
    Ok((cluster, namespace, candidate))
}

/// Asks on the terminal which candidate to use.
fn ask(candidates: &[Candidate]) -> Result<Candidate, Failure> {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{} processes qualify:", candidates.len());
    for (index, candidate) in candidates.iter().enumerate() {
        let _ = writeln!(err, "  {}) {}", index + 1, candidate.describe());
    }
    let _ = write!(err, "attach to which one? [1-{}] ", candidates.len());
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::failed(format!("cannot read the answer: {e}")))?;
    line.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| candidates.get(n).cloned())
        .ok_or_else(|| Failure::input(format!("`{}` is not one of 1-{}", line.trim(), candidates.len())))
}

/// `attach svc/NAME | pod/NAME[:PID]`: a daemon session on the chosen process.
pub fn attach(cli: &Cli, args: &AttachArgs, spec: TargetSpec) -> Result<ExitCode, Failure> {
    let misplaced = [
        (!args.path_maps.is_empty(), "--path-map"),
        (args.inject.thread.is_some(), "--thread"),
    ];
    if let Some((_, flag)) = misplaced.iter().find(|(given, _)| *given) {
        return Err(Failure::input(format!(
            "{flag} is not available for a Kubernetes target (a pod's injected code always runs in the main thread, and its paths are the container's)"
        )));
    }
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|text| Location::parse(text).map(BreakpointSpec::at).map_err(|e| Failure::input(e.to_string())))
        .collect::<Result<Vec<_>, Failure>>()?;
    let timeout = settings::seconds(args.inject.timeout, "--timeout")?;
    let runtime = super::runtime()?;
    if let Some(local_port) = args.listen_only {
        if args.follow {
            return Err(Failure::input("--follow applies to sessions, not --listen-only"));
        }
        if !breakpoints.is_empty() {
            return Err(Failure::input("--listen-only sets no breakpoints; set them in your editor"));
        }
        return runtime.block_on(super::pod_listen::listen_only(cli, args, &spec, local_port.unwrap_or(0), timeout));
    }
    let (cluster, _, candidate) = runtime.block_on(find(&args.kube, &spec, args.container.as_deref()))?;
    let request = Request::AttachPod {
        session: args.session.session.clone(),
        spec: Box::new(PodAttachRequest {
            kubeconfig: std::env::var("KUBECONFIG").ok(),
            context: cluster.context.clone().filter(|c| !c.is_empty()),
            process: candidate.reference(),
            breakpoints,
            exceptions: settings::exceptions(args.exceptions),
            timeout_ms: timeout.as_millis() as u64,
            ship_debugpy: !args.no_ship_debugpy,
            budget: settings::budget(&cli.budget),
            follow: args.follow.then(|| spec.follow_target()),
        }),
    };
    let answer = super::session::call(&request)?;
    super::session::print_answer(cli, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `exec pod/NAME[:PID]`: runs the code in the chosen process and prints what it printed.
pub fn exec(cli: &Cli, args: &ExecArgs, spec: TargetSpec, code: &str, filename: &str, max_output: usize) -> Result<ExitCode, Failure> {
    if matches!(spec, TargetSpec::Service(_)) {
        return Err(Failure::input("exec runs in one process: name it with `pod/NAME[:PID]`"));
    }
    if args.inject.thread.is_some() {
        return Err(Failure::input(THREAD_IN_POD));
    }
    let options = JobOptions {
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        run_timeout: settings::seconds(args.run_timeout, "--run-timeout")?,
        withdraw: true,
        keep_dir: false,
        sources: false,
    };
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        let (cluster, _, candidate) = find(&args.kube, &spec, args.container.as_deref()).await?;
        inject::exec_code(&cluster, &candidate.pod, candidate.process.pid, code, filename, &options, max_output)
            .await
            .map_err(Failure::from)
    })?;
    Ok(super::exec::print(cli, &report))
}
