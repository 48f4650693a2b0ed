//! `borescope snap ...`: probes, snapshots, agents, keys and exception snapshots on a `borescope server`
//! (`borescope-snapshots`), printed as text (`borescope-render`) or JSON. `snap hits` and
//! `snap attach` have modules of their own.

mod attach;
mod hits;
mod pod_attach;

use crate::failure::Failure;
use crate::printer;
use borescope_cli::{Cli, ServerConnectionArgs, SnapAddArgs, SnapArgs, SnapCommand, SnapKeyCommand};
use borescope_snapshots::instances::SILENT_AFTER_MS;
use borescope_snapshots::reports::Deleted;
use borescope_snapshots::{keys, now_ms, probes, Client, ProbeInput, ServerUrl};
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;

/// The longest `--wait` accepted, seconds.
const MAX_WAIT_SECS: f64 = 600.0;

pub fn run(cli: &Cli, args: &SnapArgs) -> Result<ExitCode, Failure> {
    let runtime = super::runtime()?;
    runtime.block_on(dispatch(cli, &args.server, &args.command))
}

/// The client the flags describe; the URL is checked before anything is sent.
pub fn client(server: &ServerConnectionArgs) -> Result<Client, Failure> {
    let servers = ServerUrl::parse_list(&server.server)?;
    let url = ServerUrl::first_reachable(&servers).unwrap_or_default();
    Ok(Client::new(url, server.token.clone()))
}

async fn dispatch(cli: &Cli, server: &ServerConnectionArgs, command: &SnapCommand) -> Result<ExitCode, Failure> {
    let client = match command {
        // Runs jobs in a process, not requests: it needs no client (and `--detach` no server).
        SnapCommand::Attach(attach) => return attach::run(cli, server, attach).await,
        _ => &client(server)?,
    };
    match command {
        SnapCommand::Add(args) => add(cli, client, args).await?,
        SnapCommand::List(args) => {
            if let Some(service) = &args.service {
                borescope_snapshots::input::check_name("--service", service)?;
            }
            let listing = probes::list(client, args.service.as_deref(), args.all).await?;
            show(cli, &listing, || borescope_render::render_snap_probes(&listing.probes, args.all, now_ms()));
        }
        SnapCommand::Show(probe) => {
            let view = probes::get(client, probe.id).await?;
            show(cli, &view, || borescope_render::render_snap_probe(&view, now_ms()));
        }
        SnapCommand::Rm(probe) => {
            let deleted = probes::remove(client, probe.id).await?;
            show(cli, &deleted, || format!("Deleted probe {}; instances disarm it.\n", deleted.id));
        }
        SnapCommand::Disable(probe) | SnapCommand::Enable(probe) => {
            let enable = matches!(command, SnapCommand::Enable(_));
            let view = probes::set_enabled(client, probe.id, enable).await?;
            show(cli, &view, || {
                if enable {
                    format!("Probe {} enabled: instances arm it again.\n", view.id)
                } else {
                    format!("Probe {} disabled: instances disarm it (`borescope snap enable {}` turns it back on).\n", view.id, view.id)
                }
            });
        }
        SnapCommand::Agents(args) => {
            if let Some(service) = &args.service {
                borescope_snapshots::input::check_name("--service", service)?;
            }
            let listing = borescope_snapshots::instances::list(client, args.service.as_deref()).await?;
            show(cli, &listing, || borescope_render::render_snap_instances(&listing.instances, now_ms(), SILENT_AFTER_MS));
        }
        SnapCommand::Key(args) => match &args.command {
            SnapKeyCommand::Add { service } => {
                let created = keys::create(client, service).await?;
                show(cli, &created, || borescope_render::render_snap_key_created(&created.key));
            }
            SnapKeyCommand::List => {
                let listing = keys::list(client).await?;
                show(cli, &listing, || borescope_render::render_snap_keys(&listing.keys));
            }
            SnapKeyCommand::Rm { id } => {
                let deleted: Deleted = keys::remove(client, *id).await?;
                show(cli, &deleted, || format!("Deleted agent key {}; agents using it are refused from now on.\n", deleted.id));
            }
        },
        SnapCommand::Hits(args) => return hits::run(cli, client, args).await,
        SnapCommand::Exceptions(args) => {
            let switch = args.state.as_deref().map(borescope_snapshots::services::parse_switch).transpose()?;
            let service = match switch {
                Some(enabled) => borescope_snapshots::services::set_exceptions(client, &args.service, enabled).await?,
                None => borescope_snapshots::services::get(client, &args.service).await?,
            };
            show(cli, &service, || borescope_render::render_snap_service(&service, switch.is_some()));
        }
        SnapCommand::Attach(_) => {} // returned above
    }
    Ok(ExitCode::SUCCESS)
}

/// `snap add`: checks everything locally, creates the probe, waits for the instances' reports.
async fn add(cli: &Cli, client: &Client, args: &SnapAddArgs) -> Result<(), Failure> {
    let probe = ProbeInput {
        location: args.location.clone(),
        service: args.service.clone(),
        env: args.env.clone(),
        condition: args.condition.clone(),
        captures: args.captures.clone(),
        log: args.log.clone(),
        max_hits: args.max_hits,
        rate: args.rate,
        ttl: args.ttl.clone(),
        frames: args.frames,
    }
    .check()?;
    if !args.wait.is_finite() || args.wait < 0.0 || args.wait > MAX_WAIT_SECS {
        return Err(Failure::input(format!("--wait {} is not a number of seconds from 0 to {MAX_WAIT_SECS}", args.wait)));
    }
    let added = probes::create(client, &probe, Duration::from_secs_f64(args.wait)).await?;
    show(cli, &added, || borescope_render::render_snap_added(&added.probe, &added.instances, added.waited_ms, now_ms()));
    Ok(())
}

/// Prints `value` as JSON with `--json`, else the text `render` makes.
fn show<T: Serialize>(cli: &Cli, value: &T, render: impl FnOnce() -> String) {
    if cli.json {
        printer::json(value);
    } else {
        printer::text(&render());
    }
}
