//! `borescope probe`.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_cli::{Cli, ProbeArgs};
use borescope_debugger::process::StdinMode;
use borescope_debugger::ProbeRequest;
use borescope_model::{Location, ProbeOutcome};
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &ProbeArgs) -> Result<ExitCode, Failure> {
    let locations = args
        .locations
        .iter()
        .map(|text| Location::parse(text).map_err(|e| Failure::input(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let request = ProbeRequest {
        locations,
        command: args.command.clone(),
        language: settings::language(args.launch.lang),
        condition: args.condition.clone(),
        hit: args.hit,
        hits: args.hits,
        evals: args.evals.clone(),
        timeout: settings::seconds(args.timeout, "--timeout")?,
        python: args.launch.python.clone(),
        cwd: args.launch.cwd.clone(),
        location_base: None,
        env: settings::env_pairs(&args.launch.env)?,
        budget: settings::budget(&cli.budget),
        stdin: if std::io::stdin().is_terminal() {
            StdinMode::Null
        } else {
            StdinMode::Inherit
        },
    };
    let cache = borescope_static::cache_dir();
    let runtime = super::runtime()?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = borescope_debugger::probe(request, &cache) => report.map_err(Failure::from),
            _ = tokio::signal::ctrl_c() => Err(Failure::failed("interrupted; the program was ended")),
        }
    })?;
    if cli.json {
        printer::json(&report);
    } else {
        printer::text(&borescope_render::render_probe(&report, &settings::render(&cli.budget)));
    }
    Ok(match report.outcome {
        ProbeOutcome::Hit => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}
