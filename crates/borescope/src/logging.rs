//! Diagnostics go to stderr through `tracing`: warnings by default, `-v` debug, `-vv` trace,
//! `RUST_LOG` overrides both.

use borescope_static::EnvVars;
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "borescope=debug,borescope_debugger=debug,borescope_daemon=debug,warn",
        _ => "trace",
    };
    let filter = std::env::var(EnvVars::RUST_LOG)
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
