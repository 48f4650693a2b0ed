//! `borescope server`: opens the database, binds the address, says where it serves (the API
//! and the web page, and the admin token when it was generated now), then serves until Ctrl-C
//! or SIGTERM.

use crate::failure::Failure;
use borescope_cli::{Cli, ServerArgs};
use borescope_snapshots_api::duration;
use borescope_snapshots_server::{DatabaseConfig, Server, ServerConfig, ServerError, TokenOrigin};
use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Schema name of `borescope server --json`'s line.
const SERVER_SCHEMA: &str = "borescope.server/1";

/// What `--json` prints once the server listens (one line).
#[derive(Serialize)]
struct Listening {
    schema: &'static str,
    listen: String,
    url: String,
    /// The web page (log in with the admin token).
    page: String,
    database: String,
    token_generated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
}

pub fn run(cli: &Cli, args: &ServerArgs) -> Result<ExitCode, Failure> {
    let config = config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        // Bind first: a busy or foreign address then leaves no data directory behind.
        let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| bind_failure(args.listen, &e))?;
        let bound = listener.local_addr().map_err(|e| bind_failure(args.listen, &e))?;
        let server = Server::open(config).await.map_err(Failure::from)?;
        if !bound.ip().is_loopback() {
            tracing::warn!(%bound, "serving beyond loopback over plain HTTP: tokens and snapshots cross the network unencrypted");
        }
        announce(cli.json, bound, &server);
        server.serve(listener, shutdown_signal()).await.map_err(Failure::from)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The server's configuration from the flags.
fn config(args: &ServerArgs) -> Result<ServerConfig, Failure> {
    let retention = duration::parse(&args.retention).map_err(|e| Failure::input(format!("--retention {e}")))?;
    if retention.is_zero() {
        return Err(Failure::input("--retention 0 would delete every snapshot at once: give a duration such as 7d"));
    }
    for name in &args.redact {
        if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_whitespace) {
            return Err(Failure::input(format!("--redact `{name}` is not a variable name (example: --redact card_number)")));
        }
    }
    let database = match (&args.database, &args.data) {
        (Some(url), _) => DatabaseConfig::Url(url.clone()),
        (None, Some(dir)) => DatabaseConfig::DataDir(absolute(dir)),
        (None, None) => DatabaseConfig::DataDir(borescope_static::server_data_dir()),
    };
    let mut config = ServerConfig::new(database);
    config.token = args.token.clone();
    config.retention = retention;
    config.redact = args.redact.clone();
    Ok(config)
}

/// `dir` from the current directory, `.` components dropped (what the server prints).
fn absolute(dir: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn bind_failure(addr: SocketAddr, error: &std::io::Error) -> Failure {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::AddrInUse => Failure::failed(format!(
            "cannot listen on {addr}: the address is in use\nhint: another program (or another borescope server) serves there; pick another --listen port"
        )),
        ErrorKind::AddrNotAvailable => {
            Failure::input(format!("cannot listen on {addr}: it is not an address of this machine (try 127.0.0.1:{})", addr.port()))
        }
        ErrorKind::PermissionDenied => Failure::input(format!(
            "cannot listen on {addr}: permission denied (ports below 1024 need privileges; try port 7300)"
        )),
        _ => Failure::failed(format!("cannot listen on {addr}: {error}")),
    }
}

/// Says where the server listens, which database it uses, and the token if it is new.
fn announce(json: bool, bound: SocketAddr, server: &Server) {
    let token = server.admin_token();
    let url = format!("http://{bound}");
    let mut out = std::io::stdout().lock();
    if json {
        let (token_generated, shown, file) = match token.origin() {
            TokenOrigin::Generated(path) => (true, Some(token.secret().to_string()), Some(path.display().to_string())),
            TokenOrigin::Stored(path) => (false, None, Some(path.display().to_string())),
            TokenOrigin::Given => (false, None, None),
        };
        let line = Listening {
            schema: SERVER_SCHEMA,
            listen: bound.to_string(),
            page: format!("{url}/"),
            url,
            database: server.database().to_string(),
            token_generated,
            token: shown,
            token_file: file,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            let _ = writeln!(out, "{text}");
        }
    } else {
        let _ = writeln!(out, "borescope server listening on {url} (API under {url}/api/v1)");
        let _ = writeln!(out, "web page: {url}/ (log in with the admin token)");
        let _ = writeln!(out, "database: {}", server.database());
        let _ = match token.origin() {
            TokenOrigin::Generated(path) => writeln!(
                out,
                "admin token: {} (generated now and stored in {}; shown only this once)",
                token.secret(),
                path.display()
            ),
            TokenOrigin::Stored(path) => writeln!(out, "admin token: stored in {}", path.display()),
            TokenOrigin::Given => writeln!(out, "admin token: the one given (--token or BORESCOPE_SERVER_TOKEN)"),
        };
        let _ = writeln!(out, "agents need a key: borescope snap key add --service NAME");
    }
    let _ = out.flush();
}

/// Completes at Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Failure {
        let message = error.to_string();
        if error.is_input_error() {
            Failure::input(message)
        } else {
            Failure::failed(message)
        }
    }
}
