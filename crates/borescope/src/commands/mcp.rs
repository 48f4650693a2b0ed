//! `borescope mcp`: the MCP server over stdio or Streamable HTTP.

use crate::failure::Failure;
use crate::settings;
use borescope_cli::{Cli, McpArgs};
use borescope_mcp::McpConfig;
use std::io::Write;
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &McpArgs) -> Result<ExitCode, Failure> {
    if args.max_response < 2048 {
        return Err(Failure::input("--max-response must be at least 2048 bytes"));
    }
    let snapshot_server = borescope_snapshots::ServerUrl::parse(&args.server)?;
    let config = McpConfig {
        max_response: args.max_response,
        budget: settings::budget(&cli.budget),
        snapshots: borescope_snapshots::Client::new(snapshot_server, args.server_token.clone()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))?;
    match args.http {
        None => runtime
            .block_on(borescope_mcp::serve_stdio(config))
            .map_err(|e| Failure::failed(e.to_string()))?,
        Some(addr) => {
            let token = match &args.token {
                Some(token) if token.len() >= 16 => token.clone(),
                Some(_) => return Err(Failure::input("--token must be at least 16 characters")),
                None => borescope_debugger::debugpy::random_token().map_err(Failure::from)?,
            };
            if !addr.ip().is_loopback() {
                tracing::warn!(%addr, "serving MCP beyond loopback: anyone who can reach it and has the token can debug your programs");
            }
            let shown = args.token.is_none().then(|| token.clone());
            runtime
                .block_on(borescope_mcp::serve_http(
                    addr,
                    token,
                    config,
                    move |bound| {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "borescope MCP server: http://{bound}/mcp");
                        if let Some(token) = shown {
                            let _ = writeln!(out, "bearer token: {token}");
                        }
                        let _ = out.flush();
                    },
                    async {
                        let _ = tokio::signal::ctrl_c().await;
                    },
                ))
                .map_err(|e| Failure::failed(e.to_string()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
