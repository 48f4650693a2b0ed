//! `borescope attach`: a session on a running process (through the daemon), or with
//! `--listen-only` debugpy for an editor (in this process, no daemon).

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_attach::listen::{launch_json, start_debugpy, ListenOptions};
use borescope_cli::{AttachArgs, Cli};
use borescope_ipc::{AttachRequest, Request};
use borescope_model::{BreakpointSpec, ListenReport, Location, Notice, LISTEN_SCHEMA};
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &AttachArgs) -> Result<ExitCode, Failure> {
    if args.listen_only {
        return listen_only(cli, args);
    }
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|text| {
            let location = Location::parse(text).map_err(|e| Failure::input(e.to_string()))?;
            Ok(BreakpointSpec { location, condition: None, hit: None, log: None })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let request = Request::Attach {
        session: args.session.session.clone(),
        spec: Box::new(AttachRequest {
            pid: args.pid,
            thread: args.inject.thread,
            breakpoints,
            client_cwd: std::env::current_dir()
                .map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))?,
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

fn listen_only(cli: &Cli, args: &AttachArgs) -> Result<ExitCode, Failure> {
    if !args.breakpoints.is_empty() {
        return Err(Failure::input("--listen-only sets no breakpoints; set them in your editor"));
    }
    let options = ListenOptions {
        token: None,
        thread: settings::thread(args.inject.thread),
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
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
    let listener = start_debugpy(args.pid, &options, &mut copy)?;
    let here = std::env::current_dir().unwrap_or_default();
    let mut notices = vec![Notice::with_hint(
        format!(
            "debugpy listens without an access token (editors cannot send one): any local user who can reach 127.0.0.1:{} can run code in pid {} until it exits",
            listener.port, args.pid
        ),
        format!(
            "to stop it, attach a session and detach (`borescope attach {pid} && borescope stop`): that stops debugpy and closes the port",
            pid = args.pid
        ),
    )];
    if !listener.target.same_network {
        notices.push(Notice::with_hint(
            format!("pid {} has its own network namespace: its 127.0.0.1:{} is not this machine's", args.pid, listener.port),
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
        pid: args.pid,
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
