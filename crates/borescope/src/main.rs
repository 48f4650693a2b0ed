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
    // kube-rs speaks TLS with ring, the AWS SDK and the Lambda relay with aws-lc-rs: with both
    // in the binary, rustls needs to be told which one serves clients that do not choose.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = borescope_cli::Cli::parse();
    logging::init(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
