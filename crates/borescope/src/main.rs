//! The `borescope` binary: parses the command line, runs one command, maps the result to an
//! exit code. All work happens in the library crates; this is a router.

mod commands;
mod failure;
mod logging;
mod printer;
mod settings;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = borescope_cli::Cli::parse();
    logging::init(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
