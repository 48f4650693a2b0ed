//! `borescope source`: the lines around FILE:LINE (read here, no session needed), or around
//! the selected frame of the paused session (asked of the daemon, which reads the file the way
//! the session's stop reports do).

use crate::failure::Failure;
use borescope_cli::{Cli, SourceArgs};
use borescope_ipc::Request;
use borescope_model::Location;
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &SourceArgs) -> Result<ExitCode, Failure> {
    let answer = match &args.location {
        Some(text) => {
            let location = Location::parse(text).map_err(|e| Failure::input(e.to_string()))?;
            let here = std::env::current_dir().map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))?;
            borescope_debugger::source::file_listing(&location, &here, args.context)?
        }
        None => super::session::call(&Request::Source { session: args.session.session.clone(), context: args.context })?,
    };
    super::session::print_answer(cli, &answer);
    Ok(ExitCode::SUCCESS)
}
