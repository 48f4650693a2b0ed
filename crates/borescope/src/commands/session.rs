//! The session commands: each becomes one request to the session daemon (started on demand),
//! and the answer is rendered by the shared formatter.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_cli::{BreakArgs, Cli, Commands, StartArgs};
use borescope_ipc::runtime::RuntimePaths;
use borescope_ipc::{BreakRequest, ErrorKind, Request, Response, RunActionArg, StartRequest};
use borescope_model::{Answer, BreakpointSpec, Location};
use std::process::ExitCode;

/// Runs a session command.
pub fn run(cli: &Cli) -> Result<ExitCode, Failure> {
    let request = request_for(cli)?;
    let answer = call(&request)?;
    print_answer(cli, &answer);
    Ok(ExitCode::SUCCESS)
}

/// Sends a request to the daemon (starting it if needed) and unwraps the answer.
pub fn call(request: &Request) -> Result<Answer, Failure> {
    let paths = RuntimePaths::default_location();
    let exe = std::env::current_exe()
        .map_err(|e| Failure::failed(format!("cannot find the borescope executable: {e}")))?;
    let runtime = super::runtime()?;
    let response = runtime.block_on(borescope_ipc::call(&paths, &exe, request));
    match response {
        Ok(Response::Ok { answer }) => Ok(*answer),
        Ok(Response::Error { kind, message }) => Err(match kind {
            ErrorKind::Input => Failure::input(message),
            ErrorKind::Failed => Failure::failed(message),
            ErrorKind::Version => Failure::failed(message),
        }),
        Err(error) => Err(Failure::failed(error.to_string())),
    }
}

/// Prints an answer as text or JSON.
pub fn print_answer(cli: &Cli, answer: &Answer) {
    if cli.json {
        printer::json(&answer.to_json());
    } else {
        printer::text(&borescope_render::render_answer(answer, &settings::render(&cli.budget)));
    }
}

fn request_for(cli: &Cli) -> Result<Request, Failure> {
    let session = cli.session.session.clone();
    let budget = settings::budget(&cli.budget);
    let run = |action: RunActionArg, timeout: f64| -> Result<Request, Failure> {
        Ok(Request::Run {
            session: session.clone(),
            action,
            timeout_ms: settings::seconds(timeout, "--timeout")?.as_millis() as u64,
            budget,
        })
    };
    Ok(match &cli.command {
        Commands::Start(args) => start_request(cli, args)?,
        Commands::Break(args) => break_request(&session, args)?,
        Commands::Continue(a) => run(RunActionArg::Continue, a.timeout)?,
        Commands::Next(a) => run(RunActionArg::Next, a.timeout)?,
        Commands::Step(a) => run(RunActionArg::Step, a.timeout)?,
        Commands::Out(a) => run(RunActionArg::Out, a.timeout)?,
        Commands::Pause(a) => run(RunActionArg::Pause, a.timeout)?,
        Commands::Stack => Request::Stack { session },
        Commands::Threads => Request::Threads { session },
        Commands::Frame(a) => Request::Frame { session, index: a.index, budget },
        Commands::Vars(a) => Request::Vars { session, path: a.path.clone(), closures: a.closures, budget },
        Commands::Eval(a) => Request::Eval { session, expression: a.expression.join(" "), budget },
        Commands::Output(a) => Request::Output { session, since: a.since, limit: a.limit },
        Commands::Status => Request::Status { session },
        Commands::Stop => Request::Stop { session },
        Commands::Sessions => Request::Sessions,
        Commands::Probe(_)
        | Commands::Daemon(_)
        | Commands::Mcp(_)
        | Commands::Attach(_)
        | Commands::Source(_)
        | Commands::Ps(_)
        | Commands::Exec(_) => {
            return Err(Failure::input("not a session command"));
        }
    })
}

fn location(text: &str) -> Result<Location, Failure> {
    Location::parse(text).map_err(|e| Failure::input(e.to_string()))
}

fn current_dir() -> Result<std::path::PathBuf, Failure> {
    std::env::current_dir().map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))
}

fn start_request(cli: &Cli, args: &StartArgs) -> Result<Request, Failure> {
    let cwd = borescope_debugger::probe::working_dir(args.launch.cwd.as_deref())?;
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|text| Ok(BreakpointSpec::at(location(text)?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    let exceptions = settings::exceptions(args.exceptions);
    Ok(Request::Start {
        session: cli.session.session.clone(),
        spec: Box::new(StartRequest {
            command: args.command.clone(),
            cwd,
            client_cwd: current_dir()?,
            env: std::env::vars().collect(),
            overrides: settings::env_pairs(&args.launch.env)?,
            python: args.launch.python.clone(),
            language: settings::language(args.launch.lang),
            breakpoints,
            stop_on_entry: args.stop_on_entry,
            exceptions,
            provision_debugpy: args.provision_debugpy,
            timeout_ms: settings::seconds(args.timeout, "--timeout")?.as_millis() as u64,
            budget: settings::budget(&cli.budget),
        }),
    })
}

fn break_request(session: &str, args: &BreakArgs) -> Result<Request, Failure> {
    let op = if args.list {
        BreakRequest::List
    } else if args.clear {
        BreakRequest::Clear
    } else if let Some(text) = &args.delete {
        // FILE:LINE has a colon; a function name never does.
        if text.contains(':') {
            BreakRequest::Delete { location: location(text)? }
        } else {
            BreakRequest::DeleteFunction { function: text.clone() }
        }
    } else if let Some(name) = &args.function {
        if args.hit == Some(0) {
            return Err(Failure::input("--hit counts from 1"));
        }
        BreakRequest::Set {
            spec: BreakpointSpec { condition: args.condition.clone(), hit: args.hit, ..BreakpointSpec::on_function(name) },
        }
    } else {
        let text = args
            .location
            .as_deref()
            .ok_or_else(|| Failure::input("give FILE:LINE or --function NAME, or --list / --delete FILE:LINE / --clear"))?;
        if args.hit == Some(0) {
            return Err(Failure::input("--hit counts from 1"));
        }
        BreakRequest::Set {
            spec: BreakpointSpec {
                condition: args.condition.clone(),
                hit: args.hit,
                log: args.log.clone(),
                ..BreakpointSpec::at(location(text)?)
            },
        }
    };
    Ok(Request::Break {
        session: session.to_string(),
        cwd: current_dir()?,
        op,
    })
}
