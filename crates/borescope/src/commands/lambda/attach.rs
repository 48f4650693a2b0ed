//! `borescope lambda attach`: the local side first (relay connection, the worker as a session's
//! program or, with --listen, under debugpy for an editor), then the stack's functions
//! instrumented, then invocations served until Ctrl-C, SIGTERM, `lambda detach` from another
//! terminal, or the end of the worker; every function is restored on the way out.

use super::lines;
use super::local::{self, WorkerSession};
use crate::failure::Failure;
use crate::printer;
use borescope_cli::{Cli, LambdaAttachArgs};
use borescope_lambda::aws::{self, AttachPlan, Aws, AwsOptions, LayerZip, RelaySettings};
use borescope_lambda::relay::seal::{new_prefix, new_secret};
use borescope_lambda::relay::{Relay, RelayConfig, ServeEnd, serve};
use borescope_lambda::worker::{WorkerLink, WorkerListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const RELAY_CONNECT: Duration = Duration::from_secs(15);
const WORKER_CONNECT: Duration = Duration::from_secs(60);

/// `lambda attach`.
pub fn run(cli: &Cli, args: &LambdaAttachArgs) -> Result<ExitCode, Failure> {
    let code = local::code_dir(args.code.as_deref().unwrap_or(Path::new(".")))?;
    let listen = args.listen.as_deref().map(listen_address).transpose()?;
    let python = local::python(args.python.as_deref());
    let runtime = super::super::runtime()?;
    let _in_runtime = runtime.enter();
    runtime.block_on(attach(cli, args, &code, &python, listen))
}

/// `[HOST:]PORT` for --listen, on loopback unless a host is given.
fn listen_address(text: &str) -> Result<(String, u16), Failure> {
    let (host, port) = text.rsplit_once(':').unwrap_or(("127.0.0.1", text));
    let port = port.parse::<u16>().map_err(|_| Failure::input(format!("bad --listen {text}: write PORT or HOST:PORT, e.g. 5678")))?;
    Ok((if host.is_empty() { "127.0.0.1".into() } else { host.to_string() }, port))
}

/// Where invocations run: a session's program, or a child process under debugpy.
enum LocalWorker {
    Session(String),
    Editor(tokio::process::Child),
}

impl LocalWorker {
    async fn end(self) {
        match self {
            LocalWorker::Session(session) => {
                let request = borescope_ipc::Request::Stop { session };
                let _ = tokio::task::spawn_blocking(move || super::super::session::call(&request)).await;
            }
            LocalWorker::Editor(mut child) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}

async fn start_worker(
    cli: &Cli,
    args: &LambdaAttachArgs,
    code: &Path,
    python: &Path,
    listen: Option<(String, u16)>,
) -> Result<(LocalWorker, WorkerLink), Failure> {
    let dir = local::private_dir()?;
    let listener = WorkerListener::bind(dir.path())?;
    let worker = match listen {
        None => {
            let start = local::start_request(cli, WorkerSession {
                session: &args.session,
                python,
                socket: listener.path(),
                code,
                breakpoints: Vec::new(),
                timeout_ms: WORKER_CONNECT.as_millis() as u64,
            })?;
            tokio::task::spawn_blocking(move || super::super::session::call(&start)).await.map_err(|e| Failure::failed(e.to_string()))??;
            LocalWorker::Session(args.session.clone())
        }
        Some((host, port)) => {
            let cache = borescope_static::cache_dir();
            let debugpy = borescope_debugger::debugpy::provision(&cache).await?;
            let agent = borescope_pyagent::materialize(&cache).map_err(|e| Failure::failed(e.to_string()))?;
            // Frozen standard-library modules hide their source from debuggers; the editor's
            // breakpoints need it. Its own process group: the terminal's Ctrl-C is attach's to
            // handle, not the worker's.
            let child = local::plain_worker(python, &agent, code, listener.path(), &["-Xfrozen_modules=off"])
                .process_group(0)
                .env("PYDEVD_DISABLE_FILE_VALIDATION", "1")
                .env("PYTHONPATH", &debugpy)
                .env(local::WORKER_LISTEN, format!("{host}:{port}"))
                .spawn()
                .map_err(|e| Failure::input(format!("cannot run {}: {e}; pass --python PATH", python.display())))?;
            printer::error_text(&launch_json(&host, port, code));
            LocalWorker::Editor(child)
        }
    };
    match listener.accept(WORKER_CONNECT).await {
        Ok((link, hello)) => {
            tracing::info!("worker connected: {hello}");
            drop(dir);
            Ok((worker, link))
        }
        Err(e) => {
            worker.end().await;
            Err(e.into())
        }
    }
}

/// The VS Code `launch.json` entry that attaches to the worker's debugpy.
fn launch_json(host: &str, port: u16, code: &Path) -> String {
    let entry = serde_json::json!({
        "name": "borescope lambda", "type": "debugpy", "request": "attach",
        "connect": {"host": host, "port": port},
        "pathMappings": [{"localRoot": code.display().to_string(), "remoteRoot": code.display().to_string()}],
        "justMyCode": true
    });
    format!(
        "debugpy listens on {host}:{port}; add this to .vscode/launch.json and start it:\n{}\n",
        serde_json::to_string_pretty(&entry).unwrap_or_default()
    )
}

fn progress_printer(json: bool) -> impl FnMut(aws::Progress) + Send {
    move |step| {
        if json {
            printer::text(&super::detach::attach_line(&step));
            return;
        }
        let line = match step {
            aws::Progress::Layer { arn, reused } => format!("layer {arn}{}", if reused { " (reused)" } else { " (published)" }),
            aws::Progress::PolicyPut { role } => format!("relay policy added to role {role}"),
            aws::Progress::PolicyRemoved { role } => format!("relay policy removed from role {role}"),
            aws::Progress::Instrumented { function } => format!("instrumented {function}"),
            aws::Progress::Restored { function } => format!("restored {function}"),
            aws::Progress::Retrying { action, resource, code, attempt, delay_ms } => {
                format!("{action} on {resource}: {code} (attempt {attempt}); retrying in {delay_ms} ms")
            }
        };
        printer::error_text(&format!("{line}\n"));
    }
}

async fn attach(cli: &Cli, args: &LambdaAttachArgs, code: &Path, python: &Path, listen: Option<(String, u16)>) -> Result<ExitCode, Failure> {
    let aws = Aws::connect(&AwsOptions { region: args.aws.region.clone(), profile: args.aws.profile.clone(), ..AwsOptions::default() }).await?;
    let functions = aws::stack_functions(&aws, &args.stack, &args.functions).await?;
    for refused in &functions.refused {
        printer::error_text(&format!("skipped {}: {}\n", refused.name, refused.reason));
    }
    if functions.functions.is_empty() {
        return Err(Failure::input(format!("the stack {} has no Python function to attach", args.stack)));
    }
    let url = match &args.relay {
        Some(url) => url.clone(),
        None => format!("wss://{}/mqtt", aws.iot_data_endpoint().await?),
    };
    let (prefix, secret) = (new_prefix(), new_secret());
    let signer = Some((aws.region().to_string(), aws.credentials().await?));
    let relay = Relay::connect(&RelayConfig { url: url.clone(), prefix: prefix.clone(), secret: secret.clone(), signer }, RELAY_CONNECT).await?;

    // The local side before anything in AWS: if it cannot start, nothing has changed there.
    let (worker, link) = start_worker(cli, args, code, python, listen).await?;

    let state_dir = state_dir();
    let plan = AttachPlan {
        stack: args.stack.clone(),
        functions: functions.functions.clone(),
        timeout_secs: args.timeout,
        relay: RelaySettings { url: url.clone(), prefix, secret_b64: secret },
        holder: holder(),
        force: args.force,
        layer: LayerZip::from_agent()?,
    };
    let attached = {
        let mut progress = progress_printer(cli.json);
        tokio::select! {
            report = aws::attach(&aws, &plan, &state_dir, &mut progress) => Some(report),
            () = shutdown_signal() => None,
        }
    };
    let report = match attached {
        Some(Ok(report)) => report,
        Some(Err(e)) => {
            // attach puts back what it changed itself before it fails; the functions may be
            // someone else's attach (a refusal), so nothing else is touched here.
            worker.end().await;
            return Err(e.into());
        }
        None => {
            // Ctrl-C while functions were being changed: the state file says what to restore.
            let mut progress = progress_printer(cli.json);
            let undone = aws::detach(&aws, &args.stack, &state_dir, &mut progress).await;
            worker.end().await;
            return Err(match undone {
                Ok(_) => Failure::failed("interrupted while attaching; every function is restored"),
                Err(e) => Failure::failed(format!(
                    "interrupted while attaching, and restoring failed: {e}; run `borescope lambda detach --stack {}`",
                    args.stack
                )),
            });
        }
    };
    if cli.json {
        let line = serde_json::json!({"event": "attached", "session": args.session, "relay": relay.url(), "report": report});
        printer::text(&super::detach::attach_line(&line));
    } else {
        let session = match &worker {
            LocalWorker::Session(name) => Some(name.as_str()),
            LocalWorker::Editor(_) => None,
        };
        printer::text(&super::detach::render_attached(&args.stack, session, relay.url(), &report));
    }

    let json = cli.json;
    let state_file = report.state_file.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            () = detached_elsewhere(state_file) => {}
        }
    };
    let end = serve(relay, link, Duration::from_secs(args.heartbeat.max(1)), stop, |event| lines::print(json, &event)).await;

    let mut progress = progress_printer(cli.json);
    let restored = aws::detach(&aws, &args.stack, &state_dir, &mut progress).await;
    worker.end().await;
    let restored = restored?;
    if json {
        printer::text(&super::detach::attach_line(&serde_json::json!({"event": "detached", "report": restored})));
    } else {
        printer::text(&super::detach::render_detached(&args.stack, &restored));
    }
    match end? {
        ServeEnd::Shutdown => Ok(ExitCode::SUCCESS),
        ServeEnd::WorkerGone => Err(Failure::failed(format!(
            "the local worker ended (session `{}`), so invocations could not run here any more; the functions are restored",
            args.session
        ))),
    }
}

/// Ctrl-C, SIGTERM or SIGHUP.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// Completes when `lambda detach` (run elsewhere on this machine) removed the state file.
async fn detached_elsewhere(state_file: PathBuf) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !state_file.exists() {
            printer::error_text("the stack was detached from another terminal\n");
            return;
        }
    }
}

/// Who holds an attach: `user@host`.
fn holder() -> String {
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| format!("uid{uid}"));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

/// Where attach records originals: `$XDG_STATE_HOME/borescope/lambda`, else
/// `~/.local/state/borescope/lambda`.
pub fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("borescope/lambda");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".local/state/borescope/lambda")
}
