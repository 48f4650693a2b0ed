//! `borescope server`: the live-snapshot server's options.

use borescope_static::EnvVars;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `borescope server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to serve the HTTP API on. The default serves this machine only; agents on other
    /// machines need an address they can reach (e.g. 0.0.0.0:7300, behind TLS you provide).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7300", value_parser = listen_address)]
    pub listen: SocketAddr,
    /// Directory for the SQLite database (`snapshots.db`) and a generated admin token
    /// (`admin-token`). Default: $XDG_DATA_HOME/borescope/server or
    /// ~/.local/share/borescope/server.
    #[arg(long, value_name = "DIR", conflicts_with = "database")]
    pub data: Option<PathBuf>,
    /// Use this database instead of a data directory: postgres://USER:PASSWORD@HOST/DB or
    /// sqlite:PATH (needs --token). Several servers on one Postgres database are replicas:
    /// they serve the same agents and people, wake each other's long polls (LISTEN/NOTIFY),
    /// and agents given all of them (`--server URL1,URL2`) move on when one dies.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The admin token people, the CLI and MCP send (at least 16 characters). Default:
    /// BORESCOPE_SERVER_TOKEN, else one generated at first start, stored in the data directory
    /// and printed once.
    #[arg(long, value_name = "TOKEN", env = EnvVars::BORESCOPE_SERVER_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// Delete snapshots older than this: 90m, 12h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub retention: String,
    /// A variable name agents redact in every capture, on top of their built-in list of
    /// secret-looking names (repeatable): --redact ssn --redact card_number.
    #[arg(long = "redact", value_name = "NAME")]
    pub redact: Vec<String>,
}

fn listen_address(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| "not IP:PORT (examples: 127.0.0.1:7300, 0.0.0.0:7300, [::1]:7300)".to_string())
}
