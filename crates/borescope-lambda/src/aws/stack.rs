//! A stack's Lambda functions: `AWS::Lambda::Function` resources of the stack and its nested
//! stacks (`AWS::CloudFormation::Stack`, followed to any depth), the Python ones kept, the
//! others refused with the reason, and `--function` names matched against logical ids and
//! physical names.

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::functions;
use serde::Serialize;

/// How deep nested stacks are followed.
const MAX_NESTING: usize = 8;

/// A Python function of the stack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StackFunction {
    /// Logical id, with the nested stacks' logical ids before it (`Api/Orders`).
    pub logical_id: String,
    /// Physical name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Runtime (`python3.12`).
    pub runtime: String,
    /// Execution role ARN.
    pub role: String,
}

/// A function of the stack borescope does not instrument.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefusedFunction {
    /// Logical id (as in [`StackFunction`]).
    pub logical_id: String,
    /// Physical name.
    pub name: String,
    /// Why (`runtime nodejs20.x: ...`).
    pub reason: String,
}

/// The functions of a stack.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StackFunctions {
    /// The stack.
    pub stack: String,
    /// Python functions, in the stack's order.
    pub functions: Vec<StackFunction>,
    /// The others, with reasons.
    pub refused: Vec<RefusedFunction>,
}

/// A function resource found in the stack tree.
struct Found {
    logical_id: String,
    name: String,
}

/// The functions of `stack` (nested stacks included). With `only` non-empty, just those whose
/// logical id (full or last part) or physical name is listed; a name matching nothing is an
/// error listing the stack's functions.
pub async fn stack_functions(
    aws: &Aws,
    stack: &str,
    only: &[String],
) -> Result<StackFunctions, AwsError> {
    let mut found = Vec::new();
    collect(aws, stack, "", 0, &mut found).await?;
    if !only.is_empty() {
        let unknown: Vec<String> = only
            .iter()
            .filter(|n| !found.iter().any(|f| matches(f, n)))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(AwsError::UnknownFunctions {
                stack: stack.to_string(),
                unknown,
                available: found
                    .iter()
                    .map(|f| format!("{} ({})", f.name, f.logical_id))
                    .collect(),
            });
        }
        found.retain(|f| only.iter().any(|n| matches(f, n)));
    }
    let mut out = StackFunctions {
        stack: stack.to_string(),
        functions: Vec::new(),
        refused: Vec::new(),
    };
    for f in found {
        let config = match functions::get(aws, &f.name).await {
            Ok(config) => config,
            Err(AwsError::NotFound { .. }) => {
                out.refused.push(RefusedFunction {
                    logical_id: f.logical_id,
                    name: f.name,
                    reason: "the function does not exist (deleted outside CloudFormation?)".into(),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        match refusal(config.image, config.runtime.as_deref()) {
            Some(reason) => out.refused.push(RefusedFunction {
                logical_id: f.logical_id,
                name: f.name,
                reason,
            }),
            None => out.functions.push(StackFunction {
                logical_id: f.logical_id,
                name: config.name,
                arn: config.arn,
                runtime: config.runtime.unwrap_or_default(),
                role: config.role,
            }),
        }
    }
    Ok(out)
}

fn matches(f: &Found, wanted: &str) -> bool {
    f.name == wanted || f.logical_id == wanted || f.logical_id.rsplit('/').next() == Some(wanted)
}

/// Why a function cannot be instrumented, or `None` when it can.
pub(crate) fn refusal(image: bool, runtime: Option<&str>) -> Option<String> {
    if image {
        return Some(
            "a container image: borescope's layer and exec wrapper apply to zip functions only"
                .into(),
        );
    }
    match runtime {
        Some(r) if r.starts_with("python3.") => None,
        Some(r) if r.starts_with("provided") => Some(format!(
            "runtime {r}: an OS-only runtime runs no exec wrapper (borescope debugs Python runtimes)"
        )),
        Some(r) => Some(format!(
            "runtime {r}: borescope's Lambda debugging is for Python functions"
        )),
        None => Some("no runtime reported".into()),
    }
}

/// Adds the function resources of `stack` (and its nested stacks) to `found`.
async fn collect(
    aws: &Aws,
    stack: &str,
    path: &str,
    depth: usize,
    found: &mut Vec<Found>,
) -> Result<(), AwsError> {
    let mut pages = aws
        .cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    let mut nested = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            match sdk(
                e,
                "cloudformation:ListStackResources",
                format!("stack {stack}"),
            ) {
                AwsError::Api { code, message, .. }
                    if code == "ValidationError" && message.contains("does not exist") =>
                {
                    AwsError::StackNotFound {
                        stack: stack.to_string(),
                        region: aws.region().to_string(),
                    }
                }
                other => other,
            }
        })?;
        for resource in page.stack_resource_summaries() {
            let logical = resource.logical_resource_id().unwrap_or_default();
            let physical = resource.physical_resource_id().unwrap_or_default();
            if logical.is_empty() || physical.is_empty() {
                continue;
            }
            let logical_id = if path.is_empty() {
                logical.to_string()
            } else {
                format!("{path}/{logical}")
            };
            match resource.resource_type().unwrap_or_default() {
                "AWS::Lambda::Function" => found.push(Found {
                    logical_id,
                    name: physical.to_string(),
                }),
                "AWS::CloudFormation::Stack" => nested.push((logical_id, physical.to_string())),
                _ => {}
            }
        }
    }
    for (logical_id, physical) in nested {
        if depth + 1 >= MAX_NESTING {
            tracing::warn!(stack = %physical, "nested stacks deeper than {MAX_NESTING} levels are not followed");
            continue;
        }
        Box::pin(collect(aws, &physical, &logical_id, depth + 1, found)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_sorted_out() {
        assert_eq!(refusal(false, Some("python3.14")), None);
        assert!(
            refusal(false, Some("nodejs20.x")).is_some_and(|r| r.starts_with("runtime nodejs20.x"))
        );
        assert!(refusal(false, Some("provided.al2023")).is_some_and(|r| r.contains("OS-only")));
        assert!(refusal(true, None).is_some_and(|r| r.contains("container image")));
    }
}
