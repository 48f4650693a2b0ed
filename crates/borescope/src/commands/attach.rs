//! `borescope attach`: a session on a running process (through the daemon), or with
//! `--listen-only` debugpy for an editor (in this process, no daemon); or, given HOST:PORT, a
//! session on debugpy or Node's inspector already listening there.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_attach::listen::{launch_json, start_debugpy, ListenOptions};
use borescope_cli::{AttachArgs, Cli};
use borescope_debugger::session::Address;
use borescope_ipc::{AttachRequest, ConnectRequest, Request};
use borescope_model::{BreakpointSpec, ListenReport, Location, Notice, LISTEN_SCHEMA};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &AttachArgs) -> Result<ExitCode, Failure> {
    if borescope_kube::TargetSpec::looks_like(&args.target) {
        let spec = borescope_kube::TargetSpec::parse(&args.target)?;
        return super::pod_target::attach(cli, args, spec);
    }
    if args.container.is_some() || args.kube.namespace.is_some() || args.kube.context.is_some() || args.follow {
        return Err(Failure::input("-c, -n, --context and --follow apply to Kubernetes targets (`svc/NAME`, `pod/NAME`)"));
    }
    let pid = match target(&args.target)? {
        Target::Pid(pid) => pid,
        Target::Address(address) => return connect(cli, args, address),
    };
    if !args.path_maps.is_empty() {
        return Err(Failure::input(
            "--path-map applies to `attach HOST:PORT`; a process attached by pid has its files read through /proc/PID/root",
        ));
    }
    if let Some(local_port) = args.listen_only {
        if local_port.is_some() {
            return Err(Failure::input(
                "--listen-only LOCAL_PORT applies to Kubernetes targets; a local process's debugpy is reached on its own port",
            ));
        }
        return listen_only(cli, args, pid);
    }
    let request = Request::Attach {
        session: args.session.session.clone(),
        spec: Box::new(AttachRequest {
            pid,
            thread: args.inject.thread,
            breakpoints: breakpoints(args)?,
            client_cwd: current_dir()?,
            exceptions: settings::exceptions(args.exceptions),
            timeout_ms: settings::seconds(args.inject.timeout, "--timeout")?.as_millis() as u64,
            ship_debugpy: !args.no_ship_debugpy,
            budget: settings::budget(&cli.budget),
        }),
    };
    let answer = super::session::call(&request)?;
    super::session::print_answer(cli, &answer);
    Ok(ExitCode::SUCCESS)
}

/// What `attach` was given.
enum Target {
    Pid(u32),
    Address(String),
}

/// A bare number is a pid; `HOST:PORT` or `:PORT` an address.
fn target(text: &str) -> Result<Target, Failure> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Target::Pid).map_err(|_| Failure::input(format!("`{text}` is too large for a process id")));
    }
    match Address::parse(text) {
        Ok(address) => Ok(Target::Address(address.to_string())),
        Err(_) => Err(Failure::input(format!(
            "`{text}` is neither a process id nor HOST:PORT; give a pid (`borescope ps` lists them), where debugpy or Node's inspector listens (e.g. `127.0.0.1:5678`, `:9229`), or a Kubernetes target (`svc/NAME`, `pod/NAME`)"
        ))),
    }
}

/// `attach HOST:PORT`: a session on a debug server that is already listening.
fn connect(cli: &Cli, args: &AttachArgs, address: String) -> Result<ExitCode, Failure> {
    let pid_only = [
        (args.listen_only.is_some(), "--listen-only"),
        (args.no_ship_debugpy, "--no-ship-debugpy"),
        (args.inject.thread.is_some(), "--thread"),
    ];
    if let Some((_, flag)) = pid_only.iter().find(|(given, _)| *given) {
        return Err(Failure::input(format!(
            "{flag} applies to `attach PID`; at {address} debugpy or Node already listens"
        )));
    }
    let here = current_dir()?;
    let path_maps = args.path_maps.iter().map(|pair| path_map(pair, &here)).collect::<Result<Vec<_>, Failure>>()?;
    let request = Request::Connect {
        session: args.session.session.clone(),
        spec: Box::new(ConnectRequest {
            address,
            path_maps,
            breakpoints: breakpoints(args)?,
            client_cwd: here,
            exceptions: settings::exceptions(args.exceptions),
            budget: settings::budget(&cli.budget),
        }),
    };
    let answer = super::session::call(&request)?;
    super::session::print_answer(cli, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `--path-map LOCAL=REMOTE`, LOCAL made absolute.
fn path_map(pair: &str, here: &Path) -> Result<(String, String), Failure> {
    let bad = || Failure::input(format!("--path-map `{pair}` is not LOCAL=REMOTE (example: `--path-map .=/app`)"));
    let (local, remote) = pair.split_once('=').ok_or_else(bad)?;
    if local.is_empty() || remote.is_empty() {
        return Err(bad());
    }
    let local = here
        .join(local)
        .canonicalize()
        .map_err(|_| Failure::input(format!("--path-map `{pair}`: no local directory `{local}`")))?;
    Ok((local.display().to_string(), remote.to_string()))
}

fn breakpoints(args: &AttachArgs) -> Result<Vec<BreakpointSpec>, Failure> {
    args.breakpoints
        .iter()
        .map(|text| Location::parse(text).map(BreakpointSpec::at).map_err(|e| Failure::input(e.to_string())))
        .collect()
}

fn current_dir() -> Result<PathBuf, Failure> {
    std::env::current_dir().map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))
}

fn listen_only(cli: &Cli, args: &AttachArgs, pid: u32) -> Result<ExitCode, Failure> {
    if !args.breakpoints.is_empty() {
        return Err(Failure::input("--listen-only sets no breakpoints; set them in your editor"));
    }
    let options = ListenOptions {
        token: None,
        thread: settings::thread(args.inject.thread),
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        // This process ends right after; a cached compilation is still used.
        cache_bytecode: false,
    };
    let cache = borescope_static::cache_dir();
    let runtime = super::runtime()?;
    let ship = !args.no_ship_debugpy;
    let mut copy = || {
        if !ship {
            return Err("--no-ship-debugpy was given".to_string());
        }
        runtime.block_on(borescope_debugger::debugpy::provision(&cache)).map_err(|e| e.to_string())
    };
    let listener = start_debugpy(pid, &options, &mut copy)?;
    let here = std::env::current_dir().unwrap_or_default();
    let mut notices = vec![Notice::with_hint(
        format!(
            "debugpy listens without an access token (editors cannot send one): any local user who can reach 127.0.0.1:{} can run code in pid {} until it exits",
            listener.port, pid
        ),
        format!(
            "to stop it, attach a session and detach (`borescope attach {pid} && borescope stop`): that stops debugpy and closes the port"
        ),
    )];
    if !listener.target.same_network {
        notices.push(Notice::with_hint(
            format!("pid {} has its own network namespace: its 127.0.0.1:{} is not this machine's", pid, listener.port),
            "forward the port into it first (e.g. `kubectl port-forward`, or `docker run -p`), or use `borescope attach` without --listen-only, which connects from inside",
        ));
    }
    if !listener.shipped {
        // Only a shipped debugpy is loaded lazily from borescope's directory; otherwise the
        // directory is no longer needed.
        listener.dir.remove();
    }
    let report = ListenReport {
        schema: LISTEN_SCHEMA.into(),
        pid,
        python: listener.python.clone(),
        debugpy: listener.debugpy.clone(),
        host: "127.0.0.1".into(),
        port: listener.port,
        launch_json: launch_json(&listener, &here),
        notices,
    };
    if cli.json {
        printer::json(&report);
    } else {
        printer::text(&borescope_render::render_listen(&report));
    }
    Ok(ExitCode::SUCCESS)
}
