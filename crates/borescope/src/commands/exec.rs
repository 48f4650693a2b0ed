//! `borescope exec`: run code inside a running process.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_attach::exec::{exec_code, ExecOptions};
use borescope_cli::{Cli, ExecArgs};
use std::process::ExitCode;

/// Characters of output kept per stream.
const MAX_OUTPUT: usize = 1 << 20;

pub fn run(cli: &Cli, args: &ExecArgs) -> Result<ExitCode, Failure> {
    let (code, filename) = match (&args.code, &args.script) {
        (Some(code), _) => (code.clone(), "<borescope exec>".to_string()),
        (None, Some(path)) => {
            let code = std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("cannot read `{}`: {e}", path.display())))?;
            (code, path.display().to_string())
        }
        (None, None) => return Err(Failure::input("give a SCRIPT.py or -c CODE")),
    };
    if borescope_kube::TargetSpec::looks_like(&args.target) {
        let spec = borescope_kube::TargetSpec::parse(&args.target)?;
        return super::pod_target::exec(cli, args, spec, &code, &filename, MAX_OUTPUT);
    }
    let pid: u32 = args.target.parse().map_err(|_| {
        Failure::input(format!("`{}` is neither a process id nor `pod/NAME[:PID]`; `borescope ps` lists local processes, `borescope pods` those in pods", args.target))
    })?;
    if args.container.is_some() || args.kube.namespace.is_some() || args.kube.context.is_some() {
        return Err(Failure::input("--container, -n and --context apply to `exec pod/NAME`"));
    }
    let options = ExecOptions {
        thread: settings::thread(args.inject.thread),
        pickup_timeout: settings::seconds(args.inject.timeout, "--timeout")?,
        run_timeout: settings::seconds(args.run_timeout, "--run-timeout")?,
        max_output: MAX_OUTPUT,
    };
    let report = exec_code(pid, &code, &filename, &options)?;
    Ok(print(cli, &report))
}

/// Prints what the code printed (or the report as JSON); exit 1 when it raised.
pub(super) fn print(cli: &Cli, report: &borescope_model::ExecReport) -> ExitCode {
    if cli.json {
        printer::json(report);
    } else {
        let (out, err) = borescope_render::render_exec(report);
        printer::text(&out);
        printer::error_text(&err);
    }
    if report.error.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
