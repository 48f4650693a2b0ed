//! `borescope ps`.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_attach::ps::{list, PsOptions};
use borescope_cli::{Cli, PsArgs};
use std::process::ExitCode;
use std::time::Duration;

pub fn run(cli: &Cli, args: &PsArgs) -> Result<ExitCode, Failure> {
    let interval = if args.interval == 0.0 {
        Duration::ZERO
    } else {
        settings::seconds(args.interval, "--interval")?
    };
    let processes = list(&PsOptions {
        name: args.name.clone(),
        port: args.port,
        interval,
    });
    if cli.json {
        printer::json(&processes);
    } else {
        printer::text(&borescope_render::render_ps(&processes));
    }
    Ok(ExitCode::SUCCESS)
}
