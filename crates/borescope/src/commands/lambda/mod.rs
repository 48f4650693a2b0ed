//! `borescope lambda ...`: live debugging of deployed Lambda functions (`attach`, `detach`,
//! `status`, joining `borescope-lambda` to a daemon session) and local runs (`invoke`).

mod attach;
mod detach;
mod invoke;
mod local;
mod lines;

use crate::failure::Failure;
use borescope_cli::{Cli, LambdaArgs, LambdaCommand};
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &LambdaArgs) -> Result<ExitCode, Failure> {
    match &args.command {
        LambdaCommand::Attach(args) => attach::run(cli, args),
        LambdaCommand::Detach(args) => detach::run(cli, args),
        LambdaCommand::Status(args) => detach::status(cli, args),
        LambdaCommand::Invoke(args) => invoke::run(cli, args),
    }
}
