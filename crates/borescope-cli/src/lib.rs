//! borescope's command line, as clap derive types. Only types live here; the binary turns them
//! into settings and runs them. The doc comments are the `--help` text a newcomer reads.

#![deny(missing_docs)]

mod attach;
mod budget;
mod completions;
mod lambda;
mod server;
mod session;
mod snap;
mod source;

pub use attach::{AttachArgs, ExecArgs, InjectArgs, KubeArgs, PodsArgs, PsArgs};
pub use budget::BudgetArgs;
pub use completions::{CompletionShell, CompletionsArgs};
pub use lambda::{AwsArgs, LambdaArgs, LambdaAttachArgs, LambdaCommand, LambdaDetachArgs, LambdaInvokeArgs, LambdaStatusArgs};
pub use server::ServerArgs;
pub use session::*;
pub use snap::{
    AgentRunArgs, ProbeId, ServerConnectionArgs, SnapAddArgs, SnapAgentsArgs, SnapArgs, SnapAttachArgs, SnapCommand, SnapExceptionsArgs, SnapHitsArgs,
    SnapKeyArgs, SnapKeyCommand, SnapListArgs,
};
pub use source::SourceArgs;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 = success (probe: a location was hit), 1 = the program did not stop where asked \
(not reached, exception, timeout) or a session command failed, 2 = bad input or usage.

Quick start:
  borescope probe app.py:12                       run `python3 app.py` until line 12 runs
  borescope probe app.py:12 --if 'n > 3' -- python3 app.py --flag
  borescope start --break app.py:12 -- python3 app.py   interactive session (needs debugpy)
  borescope vars; borescope eval 'order.total'; borescope next; borescope stop
  borescope ps; borescope attach PID --break app.py:12     debug a running process (3.9+)";

const EXEC_AFTER_HELP: &str = "\
Namespace: the code runs in the program's main thread (or --thread), in a namespace of its own \
that reads through to the globals of the program's __main__ (the script it was started with). \
What the code assigns, imports or defines stays in that namespace, so nothing of the program is \
rebound by accident.
  borescope exec PID -c 'print(app.config)'                            a global of the main script
  borescope exec PID -c 'import myapp.settings as s; print(s.DEBUG)'   any other module
  borescope exec PID -c 'import __main__; __main__.DEBUG = True'       change a global on purpose";

/// Look inside running Python and Node.js programs: one-shot probes and debugger sessions,
/// with reports written for people and AI agents alike.
#[derive(Debug, Parser)]
#[command(name = "borescope", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,

    /// Print JSON (one object, stable schema) instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// More diagnostics on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Output budgets.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

impl Cli {
    /// The session a session command talks to (`None` for commands without one).
    pub fn session_name(&self) -> Option<&str> {
        let arg = match &self.command {
            Commands::Start(a) => &a.session,
            Commands::Restart(a) => &a.session,
            Commands::Attach(a) => &a.session,
            Commands::Break(a) => &a.session,
            Commands::Continue(a) | Commands::Next(a) | Commands::Step(a) | Commands::Out(a) | Commands::Pause(a) => {
                &a.session
            }
            Commands::Stack(a) | Commands::Threads(a) | Commands::Status(a) | Commands::Stop(a) => a,
            Commands::Frame(a) => &a.session,
            Commands::Vars(a) => &a.session,
            Commands::Eval(a) => &a.session,
            Commands::Output(a) => &a.session,
            Commands::Input(a) => &a.session,
            Commands::Source(a) => &a.session,
            Commands::Probe(_)
            | Commands::Sessions
            | Commands::Ps(_)
            | Commands::Pods(_)
            | Commands::Exec(_)
            | Commands::Mcp(_)
            | Commands::Snap(_)
            | Commands::Lambda(_)
            | Commands::Run(_)
            | Commands::Completions(_)
            | Commands::Server(_)
            | Commands::Daemon(_) => return None,
        };
        Some(&arg.session)
    }
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run a program until a line runs, print what it looked like there, and end the program.
    ///
    /// Reports exactly one of: the breakpoint hit (source, stack, locals, --eval results), an
    /// uncaught exception, "exited without reaching" (with exit code and last output lines), or
    /// a timeout (with where the program was). Needs nothing installed in the program's
    /// environment: borescope loads its own small agent.
    Probe(ProbeArgs),
    /// Start a program under the debugger in a named session that later commands drive.
    ///
    /// Without --break the program is held before its first line: set breakpoints with
    /// `borescope break`, then `borescope continue` runs it (`next` stops at its first line).
    /// With --break it runs to the first breakpoint and prints the stop; --run starts it at once.
    Start(StartArgs),
    /// Start the session's program again (same command, same breakpoints, as `start` did);
    /// the old run is ended first.
    Restart(RestartArgs),
    /// Attach the debugger to a running Python 3.9+ process (no restart, nothing installed in
    /// it, containers included; 3.14 through PEP 768, 3.9–3.13 through ptrace), or to debugpy
    /// or Node already listening at HOST:PORT. Later commands drive it; `stop` detaches.
    Attach(AttachArgs),
    /// Set, list or delete breakpoints in a session.
    Break(BreakArgs),
    /// Resume until the next stop and print its report.
    Continue(RunArgs),
    /// Step over one line and print where the program stopped.
    Next(RunArgs),
    /// Step into the call on this line and print where the program stopped.
    Step(RunArgs),
    /// Run until the current function returns and print where the program stopped.
    Out(RunArgs),
    /// Pause the running program and print where it was.
    Pause(RunArgs),
    /// Show the stopped thread's stack.
    Stack(SessionArg),
    /// List the program's threads.
    Threads(SessionArg),
    /// Select frame N of the stack (0 = innermost) for `vars` and `eval`, and show its locals.
    Frame(FrameArgs),
    /// Show the selected frame's locals, or drill into one: `vars order.items[0]`.
    Vars(VarsArgs),
    /// Evaluate an expression in the selected frame.
    Eval(EvalArgs),
    /// Show the source around a line: `source FILE:LINE`, or without it around the selected
    /// frame of the paused session.
    Source(SourceArgs),
    /// Show the program's output (stdout and stderr).
    Output(OutputArgs),
    /// Type a line into the program's standard input (when `start` could not forward yours).
    Input(InputArgs),
    /// Show a session's state.
    Status(SessionArg),
    /// End a session: stops the program (or detaches from an attached one).
    Stop(SessionArg),
    /// List all sessions.
    Sessions,
    /// List running Python processes: version, CPU, memory, ports, server role (which process
    /// serves requests), and whether borescope can attach.
    Ps(PsArgs),
    /// List Kubernetes pods (by Service, label or namespace) and the Python processes in their
    /// containers: version, CPU, memory, role, and whether `attach` can work.
    Pods(PodsArgs),
    /// Run Python code inside a running Python 3.9+ process and print what it printed.
    #[command(after_help = EXEC_AFTER_HELP)]
    Exec(ExecArgs),
    /// Serve borescope's tools to AI agents over the Model Context Protocol (stdio by default).
    Mcp(McpArgs),
    /// Run the live-snapshot server: agents inside services arm probes from it and upload
    /// snapshots to it; `borescope snap`, MCP and its web page (at /) read them (SQLite under
    /// --data by default).
    Server(ServerArgs),
    /// Live snapshots of running services: probes that record locals and stacks without
    /// stopping anything, stored on a `borescope server`.
    Snap(SnapArgs),
    /// Live-debug AWS Lambda functions: their invocations in AWS run on this machine under a
    /// borescope session (attach, detach, status), or run one locally with an event (invoke).
    Lambda(LambdaArgs),
    /// Run a program with the live-snapshot agent in every Python process it starts (any
    /// Python 3.9+ command); it reports to a `borescope server` as an instance of --service.
    Run(AgentRunArgs),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions(CompletionsArgs),
    /// Run the session daemon in the foreground (started automatically; rarely needed by hand).
    #[command(hide = true)]
    Daemon(DaemonArgs),
}

/// Languages borescope debugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// CPython 3.9+.
    Python,
    /// Node.js.
    Node,
}

/// Options shared by commands that start a program.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Interpreter to use instead of the command's (default command: `python3 FILE`).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Working directory of the program (FILE:LINE paths stay relative to yours).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Extra environment variable for the program (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Language of the program, when it cannot be told from the command.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
}

/// `borescope probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Where to look: FILE:LINE (several allowed; the first one that runs is reported).
    #[arg(required = true, value_name = "FILE:LINE")]
    pub locations: Vec<String>,
    /// The program to run, after `--` (default: `python3 FILE` or `node FILE`). Any Python
    /// entry works: `python3 app.py args`, `python3 -m pkg`, `python3 -m pytest t.py::test`,
    /// a console script.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Only stop when this expression is true in the line's frame.
    #[arg(long = "if", value_name = "EXPR")]
    pub condition: Option<String>,
    /// Stop the Nth time the line runs (with the condition true).
    #[arg(long, value_name = "N")]
    pub hit: Option<u32>,
    /// Collect up to N hits without stopping, report every one, then end the program.
    #[arg(long, value_name = "N")]
    pub hits: Option<u32>,
    /// Expression to evaluate in the frame at the hit (repeatable).
    #[arg(long = "eval", value_name = "EXPR")]
    pub evals: Vec<String>,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// How the program is started.
    #[command(flatten)]
    pub launch: LaunchArgs,
}

/// `borescope mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve Streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio. Requests
    /// must carry `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// The bearer token for --http (default: BORESCOPE_MCP_TOKEN, else a random one, printed).
    #[arg(long, value_name = "TOKEN", env = borescope_static::EnvVars::BORESCOPE_MCP_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// Largest tool response in bytes (text report and structured content together).
    #[arg(long, value_name = "BYTES", default_value_t = 16384)]
    pub max_response: usize,
    /// The borescope server the live-snapshot tools talk to (plain http).
    #[arg(long, value_name = "URL", env = borescope_static::EnvVars::BORESCOPE_SERVER, default_value = borescope_static::DEFAULT_SNAPSHOT_SERVER)]
    pub server: String,
    /// That server's admin token (not --token, which guards --http).
    #[arg(long, value_name = "TOKEN", env = borescope_static::EnvVars::BORESCOPE_TOKEN, hide_env_values = true)]
    pub server_token: Option<String>,
}

/// `borescope daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Exit after this many seconds without sessions (default: BORESCOPE_DAEMON_IDLE_SECS or 600).
    #[arg(long, value_name = "SECS")]
    pub idle_secs: Option<u64>,
}
