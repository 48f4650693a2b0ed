//! One module per subcommand; each takes parsed arguments and returns an exit code.

mod attach;
mod completions;
mod daemon;
mod exec;
mod lambda;
mod mcp;
mod pod_listen;
mod pod_target;
mod pods;
mod probe;
mod ps;
mod server;
mod run;
mod session;
mod snap;
mod source;

use crate::failure::Failure;
use borescope_cli::{Cli, Commands};
use std::process::ExitCode;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match &cli.command {
        Commands::Probe(args) => probe::run(&cli, args),
        Commands::Daemon(args) => daemon::run(args),
        Commands::Mcp(args) => mcp::run(&cli, args),
        Commands::Attach(args) => attach::run(&cli, args),
        Commands::Ps(args) => ps::run(&cli, args),
        Commands::Pods(args) => pods::run(&cli, args),
        Commands::Exec(args) => exec::run(&cli, args),
        Commands::Completions(args) => completions::run(&cli, args),
        Commands::Source(args) => source::run(&cli, args),
        Commands::Server(args) => server::run(&cli, args),
        Commands::Snap(args) => snap::run(&cli, args),
        Commands::Run(args) => run::run(&cli, args),
        Commands::Lambda(args) => lambda::run(&cli, args),
        _ => session::run(&cli),
    }
}

/// A single-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))
}
