//! `borescope snap hits`: stored snapshots as a bounded list, or followed as they arrive (text
//! reports one after another, or one JSON object per line with `--json`).

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_cli::{Cli, SnapHitsArgs};
use borescope_snapshots::hits::{self, Follow, HitQuery};
use borescope_snapshots::{input, now_ms, Client};
use borescope_snapshots_api::SnapshotKind;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Snapshots listed when `--limit` is not given (each can be a screenful).
const DEFAULT_LIMIT: u32 = 10;
/// Each long poll of `--follow` (the server waits at most 30 s).
const FOLLOW_WAIT: Duration = Duration::from_secs(25);
/// Snapshots asked for per request while following.
const FOLLOW_PAGE: u32 = 100;

pub async fn run(cli: &Cli, client: &Client, args: &SnapHitsArgs) -> Result<ExitCode, Failure> {
    if args.limit == Some(0) {
        return Err(Failure::input("--limit must be at least 1"));
    }
    if let Some(service) = &args.service {
        input::check_name("--service", service)?;
    }
    let now = now_ms();
    let since_ms = args.since.as_deref().map(|text| input::since_ms(text, now)).transpose()?;
    let kind = args.kind.as_deref().map(kind).transpose()?;
    if args.probe.is_some() && kind == Some(SnapshotKind::Exception) {
        return Err(Failure::input("exception snapshots have no probe: drop the probe id (`borescope snap hits --kind exception` lists them)"));
    }
    let query = HitQuery {
        probe: args.probe,
        service: args.service.clone(),
        kind,
        since_ms,
        after: args.after,
        limit: args.limit.unwrap_or(DEFAULT_LIMIT),
    };
    if args.follow {
        return follow(cli, client, query, args, now).await;
    }
    let listing = hits::list(client, &query).await?;
    if cli.json {
        printer::json(&listing);
    } else {
        let ctx = settings::render(&cli.budget);
        printer::text(&borescope_render::render_snapshots(&listing.snapshots, &scope(args), listing.more, listing.next, &ctx));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints snapshots as they arrive until Ctrl-C (or `--limit` of them). Without `--since` or
/// `--after`, only those taken from now on.
async fn follow(cli: &Cli, client: &Client, mut query: HitQuery, args: &SnapHitsArgs, now: i64) -> Result<ExitCode, Failure> {
    let mut left = args.limit.map(|n| n as usize);
    if query.since_ms.is_none() && query.after.is_none() {
        query.since_ms = Some(now);
    }
    query.limit = FOLLOW_PAGE.min(args.limit.unwrap_or(FOLLOW_PAGE));
    hits::check_probe(client, &query).await?;
    let ctx = settings::render(&cli.budget);
    let mut follow = Follow::new(query);
    loop {
        let batch = tokio::select! {
            batch = follow.next(client, FOLLOW_WAIT) => batch?,
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        };
        for snapshot in batch {
            if cli.json {
                let line = serde_json::to_string(&snapshot).unwrap_or_default();
                if !print_line(&line) {
                    return Ok(ExitCode::SUCCESS);
                }
            } else if !print_line(borescope_render::render_snapshot(&snapshot, &ctx).trim_end()) {
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(n) = left.as_mut() {
                *n -= 1;
                if *n == 0 {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
}

/// Writes one line and flushes it (a follower reads each as it comes); false once stdout is
/// closed (`| head`), which ends the follow.
fn print_line(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).is_ok()
}

/// `--kind probe|exception`.
fn kind(text: &str) -> Result<SnapshotKind, Failure> {
    match text {
        "probe" | "probes" => Ok(SnapshotKind::Probe),
        "exception" | "exceptions" => Ok(SnapshotKind::Exception),
        _ => Err(Failure::input(format!("--kind {text} is not a kind of snapshot: use --kind probe or --kind exception"))),
    }
}

/// What was asked for, in words: `of probe 7`, `of service api in the last 10m`.
fn scope(args: &SnapHitsArgs) -> String {
    let mut parts = Vec::new();
    match (args.probe, &args.service) {
        (Some(probe), Some(service)) => parts.push(format!("of probe {probe} in service {service}")),
        (Some(probe), None) => parts.push(format!("of probe {probe}")),
        (None, Some(service)) => parts.push(format!("of service {service}")),
        (None, None) => parts.push("on the server".to_string()),
    }
    if let Some(since) = &args.since {
        parts.push(format!("in the last {since}"));
    }
    if let Some(after) = args.after {
        parts.push(format!("after {after}"));
    }
    match args.kind.as_deref() {
        Some("exception" | "exceptions") => parts.push("(exceptions only)".to_string()),
        Some(_) => parts.push("(probe snapshots only)".to_string()),
        None => {}
    }
    parts.join(" ")
}
