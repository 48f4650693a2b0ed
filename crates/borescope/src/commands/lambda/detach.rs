//! `borescope lambda detach` and `lambda status`, and the text every lambda control-plane
//! report prints as (the `--json` objects are the reports themselves).

use super::attach::state_dir;
use crate::failure::Failure;
use crate::printer;
use borescope_cli::{Cli, LambdaDetachArgs, LambdaStatusArgs};
use borescope_lambda::aws::{self, AttachReport, Aws, AwsOptions, DetachReport, StatusReport};
use std::fmt::Write as _;
use std::process::ExitCode;

/// `lambda detach`.
pub fn run(cli: &Cli, args: &LambdaDetachArgs) -> Result<ExitCode, Failure> {
    let runtime = super::super::runtime()?;
    let report = runtime.block_on(async {
        let aws = Aws::connect(&AwsOptions { region: args.aws.region.clone(), profile: args.aws.profile.clone(), ..AwsOptions::default() }).await?;
        let mut progress = |step: aws::Progress| tracing::info!("{step:?}");
        aws::detach(&aws, &args.stack, &state_dir(), &mut progress).await
    })?;
    if cli.json {
        printer::json(&with_schema("borescope.lambda-detach/1", &report));
    } else {
        printer::text(&render_detached(&args.stack, &report));
    }
    Ok(ExitCode::SUCCESS)
}

/// `lambda status`.
pub fn status(cli: &Cli, args: &LambdaStatusArgs) -> Result<ExitCode, Failure> {
    let runtime = super::super::runtime()?;
    let report = runtime.block_on(async {
        let aws = Aws::connect(&AwsOptions { region: args.aws.region.clone(), profile: args.aws.profile.clone(), ..AwsOptions::default() }).await?;
        aws::status(&aws, args.stack.as_deref(), &state_dir()).await
    })?;
    if cli.json {
        printer::json(&with_schema("borescope.lambda-status/1", &report));
    } else {
        printer::text(&render_status(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// `report` as a JSON object with `schema` first.
pub fn with_schema<T: serde::Serialize>(schema: &str, report: &T) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("schema".into(), schema.into());
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) {
        object.extend(fields);
    }
    serde_json::Value::Object(object)
}

/// One JSON line of `lambda attach --json`.
pub fn attach_line<T: serde::Serialize>(event: &T) -> String {
    format!("{}\n", with_schema("borescope.lambda-attach/1", event))
}

/// What `attach` prints once the functions are instrumented.
pub fn render_attached(stack: &str, session: Option<&str>, relay: &str, report: &AttachReport) -> String {
    let mut out = format!(
        "attached {} function{} of stack {stack} ({}, account {}) through {relay}\n",
        report.functions.len(),
        if report.functions.len() == 1 { "" } else { "s" },
        report.region,
        report.account
    );
    for f in &report.functions {
        let _ = write!(out, "  {}  timeout {} s", f.name, f.timeout);
        if f.timeout != f.original_timeout {
            let _ = write!(out, " (was {} s)", f.original_timeout);
        }
        if let Some(holder) = &f.took_over_from {
            let _ = write!(out, "  taken over from {holder}");
        }
        out.push('\n');
    }
    match session {
        Some(session) => {
            let _ = writeln!(out, "invocations run here in session `{session}`: borescope break FILE:LINE --session {session}");
        }
        None => out.push_str("invocations run here under debugpy: attach your editor\n"),
    }
    out.push_str("Ctrl-C restores every function\n");
    out
}

/// What `detach` (and the end of `attach`) prints.
pub fn render_detached(stack: &str, report: &DetachReport) -> String {
    let restored = report.restored();
    if restored == 0 {
        return format!("nothing to restore: no function of stack {stack} is attached\n");
    }
    let mut out = format!("restored {restored} function{} of stack {stack}\n", if restored == 1 { "" } else { "s" });
    for f in report.functions.iter().filter(|f| f.restored_from.is_some()) {
        let _ = writeln!(out, "  {}", f.name);
    }
    out
}

/// What `status` prints.
pub fn render_status(report: &StatusReport) -> String {
    let mut out = String::new();
    let scope = report.stack.as_deref().map(|s| format!("stack {s}")).unwrap_or_else(|| "every stack".into());
    let _ = writeln!(out, "{scope} in {} (account {})", report.region, report.account);
    if report.functions.is_empty() {
        out.push_str("  no function is attached\n");
    }
    for f in &report.functions {
        if f.instrumented {
            let _ = writeln!(
                out,
                "  {}  attached by {} since {}  timeout {} s (was {} s)",
                f.name,
                f.holder.as_deref().unwrap_or("?"),
                f.since_utc.as_deref().unwrap_or("?"),
                f.timeout,
                f.original_timeout.map(|t| t.to_string()).unwrap_or_else(|| "?".into())
            );
        } else {
            let _ = writeln!(out, "  {}  not attached", f.name);
        }
    }
    for local in &report.local {
        let phase = serde_json::to_value(local.phase).ok().and_then(|p| p.as_str().map(str::to_string)).unwrap_or_default();
        let _ = writeln!(out, "this machine: {} ({phase}) recorded in {}", local.stack, local.state_file.display());
    }
    out
}
