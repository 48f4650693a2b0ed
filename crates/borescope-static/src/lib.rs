//! Every environment variable borescope reads or sets, and every default path it uses.
//!
//! Keeping the names here, documented in one place, lets tests clear them all (so a developer's
//! own settings never leak into a test) and keeps the agent protocol's variable names in one
//! spot on the Rust side (the Python agent reads the same names).
//!
//! This crate does no I/O beyond reading the environment and the user id.

use std::path::PathBuf;

/// Names of environment variables, as documented constants.
pub struct EnvVars;

impl EnvVars {
    /// Directory holding the session daemon's socket, log and pid file. Default:
    /// `$XDG_RUNTIME_DIR/borescope`, else `/tmp/borescope-<uid>`. Always created mode 0700.
    pub const BORESCOPE_RUNTIME_DIR: &'static str = "BORESCOPE_RUNTIME_DIR";
    /// Directory for cached helpers (the embedded Python agent, provisioned debugpy). Default:
    /// `$XDG_CACHE_HOME/borescope`, else `~/.cache/borescope`.
    pub const BORESCOPE_CACHE_DIR: &'static str = "BORESCOPE_CACHE_DIR";
    /// Session name used when `--session` is not given. Default: `default`.
    pub const BORESCOPE_SESSION: &'static str = "BORESCOPE_SESSION";
    /// Seconds the daemon stays alive with no sessions before it exits. Default: 600.
    pub const BORESCOPE_DAEMON_IDLE_SECS: &'static str = "BORESCOPE_DAEMON_IDLE_SECS";
    /// Bearer token `borescope mcp --http` requires (generated and printed when unset).
    pub const BORESCOPE_MCP_TOKEN: &'static str = "BORESCOPE_MCP_TOKEN";
    /// Live snapshots: the `borescope server` that `snap`, `run`, `snap attach` and MCP talk
    /// to (`--server`). Default: `http://127.0.0.1:7300`.
    pub const BORESCOPE_SERVER: &'static str = "BORESCOPE_SERVER";
    /// Live snapshots: the server's admin token for `snap` and MCP (`--token`).
    pub const BORESCOPE_TOKEN: &'static str = "BORESCOPE_TOKEN";
    /// Live snapshots: the agent key (`bsk_...`, from `borescope snap key add`) that
    /// `borescope run` and `snap attach` give the agent (`--key`).
    pub const BORESCOPE_AGENT_KEY: &'static str = "BORESCOPE_AGENT_KEY";
    /// Lambda live debugging: the relay's MQTT-over-WebSocket URL (`lambda attach --relay`).
    /// Default: the account's AWS IoT Core data endpoint.
    pub const BORESCOPE_LAMBDA_RELAY: &'static str = "BORESCOPE_LAMBDA_RELAY";
    /// Log filter (tracing `EnvFilter` syntax); overrides `-v`.
    pub const RUST_LOG: &'static str = "RUST_LOG";
    /// Read by the Python agent in a probed program on Python 3.9-3.11: `settrace` forces the
    /// tracing engine instead of the (faster) rewrite engine; for comparisons and diagnosis.
    pub const BORESCOPE_PROBE_ENGINE: &'static str = "BORESCOPE_PROBE_ENGINE";

    /// Set for a debuggee: path of the Unix socket the Python agent reports to.
    pub const BORESCOPE_AGENT_CHANNEL: &'static str = "BORESCOPE_AGENT_CHANNEL";
    /// Set for a debuggee: JSON job description for the Python agent (`probe` or `listen`).
    pub const BORESCOPE_AGENT_JOB: &'static str = "BORESCOPE_AGENT_JOB";
    /// Set for a debuggee: the agent directory we prepended to `PYTHONPATH`, so the agent can
    /// remove itself from the path the program sees.
    pub const BORESCOPE_AGENT_PATH: &'static str = "BORESCOPE_AGENT_PATH";
    /// Set for a daemon the client starts: the build identity it must serve (the client's, which
    /// may no longer match the executable file if it was replaced since the client started).
    pub const BORESCOPE_DAEMON_BUILD: &'static str = "BORESCOPE_DAEMON_BUILD";
    /// Standard Python search path variable; the agent directory is prepended to it.
    pub const PYTHONPATH: &'static str = "PYTHONPATH";

    /// `borescope server`'s own admin token (else generated at first start and stored in its
    /// data directory).
    pub const BORESCOPE_SERVER_TOKEN: &'static str = "BORESCOPE_SERVER_TOKEN";

    /// Every variable a test should clear before running borescope.
    pub const ALL: &'static [&'static str] = &[
        Self::BORESCOPE_RUNTIME_DIR,
        Self::BORESCOPE_CACHE_DIR,
        Self::BORESCOPE_SESSION,
        Self::BORESCOPE_DAEMON_IDLE_SECS,
        Self::BORESCOPE_MCP_TOKEN,
        Self::BORESCOPE_SERVER,
        Self::BORESCOPE_TOKEN,
        Self::BORESCOPE_AGENT_KEY,
        Self::RUST_LOG,
        Self::BORESCOPE_PROBE_ENGINE,
        Self::BORESCOPE_AGENT_CHANNEL,
        Self::BORESCOPE_AGENT_JOB,
        Self::BORESCOPE_AGENT_PATH,
        Self::BORESCOPE_DAEMON_BUILD,
        Self::BORESCOPE_SERVER,
        Self::BORESCOPE_TOKEN,
        Self::BORESCOPE_SERVER_TOKEN,
        Self::BORESCOPE_AGENT_KEY,
    ];
}

/// The live-snapshot server the client talks to when neither `--server` nor
/// `BORESCOPE_SERVER` says otherwise (`borescope server` listens there by default).
pub const DEFAULT_SNAPSHOT_SERVER: &str = "http://127.0.0.1:7300";

/// The debugpy version borescope provisions into its cache for programs that lack one (the
/// universal wheel, importable by any CPython 3.8+).
pub const DEBUGPY_VERSION: &str = "1.8.22";

/// Default session name.
pub const DEFAULT_SESSION: &str = "default";

/// File name of the daemon socket inside the runtime directory.
pub const DAEMON_SOCKET: &str = "daemon.sock";

/// File name of the daemon log inside the runtime directory.
pub const DAEMON_LOG: &str = "daemon.log";

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The runtime directory for this user (not created here).
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = env_path(EnvVars::BORESCOPE_RUNTIME_DIR) {
        return dir;
    }
    if let Some(xdg) = env_path("XDG_RUNTIME_DIR") {
        return xdg.join("borescope");
    }
    PathBuf::from(format!("/tmp/borescope-{}", nix::unistd::getuid()))
}

/// The cache directory for this user (not created here).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = env_path(EnvVars::BORESCOPE_CACHE_DIR) {
        return dir;
    }
    if let Some(xdg) = env_path("XDG_CACHE_HOME") {
        return xdg.join("borescope");
    }
    if let Some(home) = env_path("HOME") {
        return home.join(".cache").join("borescope");
    }
    PathBuf::from(format!("/tmp/borescope-cache-{}", nix::unistd::getuid()))
}

/// Where `borescope server` keeps its data by default (not created here):
/// `$XDG_DATA_HOME/borescope/server`, else `~/.local/share/borescope/server`.
pub fn server_data_dir() -> PathBuf {
    if let Some(xdg) = env_path("XDG_DATA_HOME") {
        return xdg.join("borescope").join("server");
    }
    if let Some(home) = env_path("HOME") {
        return home.join(".local").join("share").join("borescope").join("server");
    }
    PathBuf::from(format!("/tmp/borescope-data-{}", nix::unistd::getuid())).join("server")
}

/// The session name to use when none was given on the command line.
pub fn default_session() -> String {
    std::env::var(EnvVars::BORESCOPE_SESSION)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SESSION.to_string())
}
