//! `borescope run -- CMD`: replaces itself with the command (same pid, same signals, its exit
//! code), with the live-snapshot agent in the environment of every Python process it starts:
//! the agent first on `PYTHONPATH` (its `sitecustomize` loads it at interpreter start) and the
//! job (server, key, service, env) in `BORESCOPE_AGENT_JOB`. borescope prints nothing of its
//! own once the command runs, so `--json` has nothing to change.

use crate::failure::Failure;
use borescope_cli::{AgentRunArgs, Cli};
use borescope_snapshots::AgentJob;
use borescope_static::EnvVars;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

pub fn run(_cli: &Cli, args: &AgentRunArgs) -> Result<ExitCode, Failure> {
    let job = AgentJob::new(&args.server, args.key.as_deref(), &args.service, args.env.as_deref())?;
    let cwd = std::env::current_dir().map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))?;
    borescope_debugger::preflight::check_program(&args.command, &cwd, None)?;
    let agent_dir = borescope_pyagent::materialize(&borescope_static::cache_dir()).map_err(|e| {
        let why = std::error::Error::source(&e).map(|s| format!(": {s}")).unwrap_or_default();
        Failure::failed(format!("{e}{why}"))
    })?;
    let existing = std::env::var(EnvVars::PYTHONPATH).ok();
    let (program, rest) = args.command.split_first().ok_or_else(|| Failure::input("give the command to run after `--`"))?;
    let error = std::process::Command::new(program).args(rest).envs(job.run_env(&agent_dir, existing.as_deref())).exec();
    Err(Failure::failed(format!("cannot run `{program}`: {error}")))
}
