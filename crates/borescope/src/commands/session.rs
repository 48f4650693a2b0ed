//! The session commands: each becomes one request to the session daemon (started on demand),
//! and the answer is rendered by the shared formatter.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_cli::{BreakArgs, Cli, Commands, ConditionArgs, StartArgs};
use borescope_ipc::runtime::RuntimePaths;
use borescope_ipc::{BreakRequest, ErrorKind, Request, Response, RunActionArg, StartRequest, StdinSource};
use borescope_model::{Answer, BreakpointSpec, Location};
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};
use std::process::ExitCode;

/// Runs a session command.
pub fn run(cli: &Cli) -> Result<ExitCode, Failure> {
    let request = request_for(cli)?;
    let stdin = match &request {
        Request::Start { spec, .. } if spec.stdin == StdinSource::Caller => Some(std::io::stdin()),
        Request::Restart { stdin: StdinSource::Caller, .. } => Some(std::io::stdin()),
        _ => None,
    };
    let answer = call_with_fd(&request, stdin.as_ref().map(|s| s.as_fd()))?;
    print_answer(cli, &answer);
    Ok(exit_code(&answer))
}

/// 1 for an evaluation that raised, else success.
fn exit_code(answer: &Answer) -> ExitCode {
    match answer {
        Answer::Eval { result, .. } if result.error.is_some() => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Where a program started from this shell reads its input: this process's standard input,
/// handed to the daemon, unless it is a terminal (the shell keeps reading that) or closed;
/// then a pipe the daemon holds, written with `borescope input`.
fn stdin_source() -> StdinSource {
    let stdin = std::io::stdin();
    let open = stdin.as_fd().try_clone_to_owned().is_ok();
    if open && !stdin.is_terminal() {
        StdinSource::Caller
    } else {
        StdinSource::Pipe
    }
}

/// Sends a request to the daemon (starting it if needed) and unwraps the answer.
pub fn call(request: &Request) -> Result<Answer, Failure> {
    call_with_fd(request, None)
}

fn call_with_fd(request: &Request, fd: Option<BorrowedFd<'_>>) -> Result<Answer, Failure> {
    let paths = RuntimePaths::default_location();
    let exe = std::env::current_exe()
        .map_err(|e| Failure::failed(format!("cannot find the borescope executable: {e}")))?;
    let runtime = super::runtime()?;
    let response = runtime.block_on(borescope_ipc::call_with_fd(&paths, &exe, request, fd));
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
    let session = cli.session_name().unwrap_or(borescope_static::DEFAULT_SESSION).to_string();
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
        Commands::Restart(args) => Request::Restart {
            session,
            stdin: stdin_source(),
            timeout_ms: settings::seconds(args.timeout, "--timeout")?.as_millis() as u64,
            budget,
        },
        Commands::Input(args) => {
            let mut text = args.text.clone().unwrap_or_default();
            if args.text.is_some() && !args.no_newline {
                text.push('\n');
            }
            Request::Input { session, text, eof: args.eof }
        }
        Commands::Break(args) => break_request(&session, args)?,
        Commands::Continue(a) => run(RunActionArg::Continue, a.timeout)?,
        Commands::Next(a) => run(RunActionArg::Next, a.timeout)?,
        Commands::Step(a) => run(RunActionArg::Step, a.timeout)?,
        Commands::Out(a) => run(RunActionArg::Out, a.timeout)?,
        Commands::Pause(a) => run(RunActionArg::Pause, a.timeout)?,
        Commands::Stack(_) => Request::Stack { session },
        Commands::Threads(_) => Request::Threads { session },
        Commands::Frame(a) => Request::Frame { session, index: a.index, budget },
        Commands::Vars(a) => Request::Vars { session, path: a.path.clone(), closures: a.closures, budget },
        Commands::Eval(a) => {
            let expression = a.text();
            if expression.trim().is_empty() {
                return Err(Failure::input("give the expression to evaluate, e.g. `borescope eval 'order.total'`"));
            }
            Request::Eval { session, expression, budget }
        }
        Commands::Output(a) => Request::Output { session, since: a.since, limit: a.limit },
        Commands::Status(_) => Request::Status { session, budget },
        Commands::Stop(_) => Request::Stop { session },
        Commands::Sessions => Request::Sessions,
        Commands::Probe(_)
        | Commands::Daemon(_)
        | Commands::Mcp(_)
        | Commands::Attach(_)
        | Commands::Source(_)
        | Commands::Ps(_)
        | Commands::Pods(_)
        | Commands::Exec(_)
        | Commands::Server(_)
        | Commands::Snap(_)
        | Commands::Lambda(_)
        | Commands::Run(_)
        | Commands::Completions(_) => {
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

/// The breakpoint `FILE:LINE` with `--if`/`--hit`/`--log`.
fn breakpoint(text: &str, conditions: &ConditionArgs) -> Result<BreakpointSpec, Failure> {
    if conditions.hit == Some(0) {
        return Err(Failure::input("--hit counts from 1"));
    }
    Ok(BreakpointSpec {
        condition: conditions.condition.clone(),
        hit: conditions.hit,
        log: conditions.log.clone(),
        ..BreakpointSpec::at(location(text)?)
    })
}

fn start_request(cli: &Cli, args: &StartArgs) -> Result<Request, Failure> {
    let cwd = borescope_debugger::probe::working_dir(args.launch.cwd.as_deref())?;
    let conditions = &args.conditions;
    if args.breakpoints.is_empty() && (conditions.condition.is_some() || conditions.hit.is_some() || conditions.log.is_some()) {
        return Err(Failure::input("--if, --hit and --log apply to --break breakpoints; add --break FILE:LINE"));
    }
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|text| breakpoint(text, conditions))
        .collect::<Result<Vec<_>, Failure>>()?;
    let exceptions = settings::exceptions(args.exceptions);
    Ok(Request::Start {
        session: args.session.session.clone(),
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
            run: args.run,
            stdin: stdin_source(),
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
        if args.conditions.hit == Some(0) {
            return Err(Failure::input("--hit counts from 1"));
        }
        BreakRequest::Set {
            spec: BreakpointSpec {
                condition: args.conditions.condition.clone(),
                hit: args.conditions.hit,
                ..BreakpointSpec::on_function(name)
            },
        }
    } else {
        let text = args
            .location
            .as_deref()
            .ok_or_else(|| Failure::input("give FILE:LINE or --function NAME, or --list / --delete FILE:LINE / --clear"))?;
        BreakRequest::Set { spec: breakpoint(text, &args.conditions)? }
    };
    Ok(Request::Break {
        session: session.to_string(),
        cwd: current_dir()?,
        op,
    })
}
