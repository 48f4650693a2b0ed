//! `status`: which functions carry borescope's record, who attached them and since when, and
//! the attaches this machine recorded; for one stack, or the whole region.

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::functions;
use super::record::{self, Env, Record};
use super::report::{FunctionStatus, LocalAttach, StatusReport};
use super::stack::stack_functions;
use super::state;
use std::path::Path;

/// What is instrumented: every Python function of `stack`, or (no stack) every instrumented
/// function of the region, plus this machine's state files.
pub async fn status(
    aws: &Aws,
    stack: Option<&str>,
    state_dir: &Path,
) -> Result<StatusReport, AwsError> {
    let local: Vec<LocalAttach> = state::list(state_dir, aws.account(), aws.region())
        .into_iter()
        .filter(|(_, s)| stack.is_none_or(|wanted| s.stack == wanted))
        .map(|(path, s)| LocalAttach {
            stack: s.stack,
            holder: s.holder,
            since: s.since,
            phase: s.phase,
            state_file: path,
        })
        .collect();
    let mut functions = Vec::new();
    match stack {
        Some(stack) => {
            for f in stack_functions(aws, stack, &[]).await?.functions {
                let config = functions::get(aws, &f.name).await?;
                functions.push(entry(
                    Some(stack),
                    &config.name,
                    &config.arn,
                    config.timeout,
                    &config.env_or_empty(),
                ));
            }
        }
        None => {
            let mut pages = aws.lambda.list_functions().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    sdk(
                        e,
                        "lambda:ListFunctions",
                        format!("region {}", aws.region()),
                    )
                })?;
                for f in page.functions() {
                    let env: Env = f
                        .environment()
                        .and_then(|e| e.variables())
                        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default();
                    if !env.contains_key(record::RECORD_VAR) {
                        continue;
                    }
                    let name = f.function_name().unwrap_or_default();
                    let arn = f.function_arn().unwrap_or_default();
                    functions.push(entry(None, name, arn, f.timeout().unwrap_or(3), &env));
                }
            }
        }
    }
    Ok(StatusReport {
        account: aws.account().to_string(),
        region: aws.region().to_string(),
        stack: stack.map(str::to_string),
        functions,
        local,
    })
}

fn entry(stack: Option<&str>, name: &str, arn: &str, timeout: i32, env: &Env) -> FunctionStatus {
    let rec = Record::from_env(name, env).ok().flatten();
    FunctionStatus {
        stack: stack
            .map(str::to_string)
            .or_else(|| rec.as_ref().and_then(|r| r.stack.clone())),
        name: name.to_string(),
        arn: arn.to_string(),
        instrumented: env.contains_key(record::RECORD_VAR),
        holder: rec.as_ref().map(|r| r.holder.clone()),
        since: rec.as_ref().map(|r| r.since),
        since_utc: rec.as_ref().map(|r| record::utc(r.since)),
        timeout,
        original_timeout: rec.as_ref().map(|r| r.orig.timeout),
    }
}
