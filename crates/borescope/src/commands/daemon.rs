//! `borescope daemon`: the session daemon in the foreground.

use crate::failure::Failure;
use borescope_cli::DaemonArgs;
use borescope_ipc::runtime::RuntimePaths;
use borescope_static::EnvVars;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: &DaemonArgs) -> Result<ExitCode, Failure> {
    let idle = args
        .idle_secs
        .or_else(|| std::env::var(EnvVars::BORESCOPE_DAEMON_IDLE_SECS).ok().and_then(|v| v.parse().ok()))
        .unwrap_or(600);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(borescope_daemon::run(RuntimePaths::default_location(), Duration::from_secs(idle)))
        .map_err(|e| Failure::failed(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}
