//! `detach`: put every function of a stack back as it was before `attach`, from each
//! function's own `BORESCOPE_LAMBDA` record (so it works from any machine), or from this
//! machine's state file for a function whose record is gone but whose layer or wrapper is still
//! borescope's; then remove the attach's relay policy statements and the state file.
//! Idempotent: a function without borescope's changes is left alone.

use super::account::Aws;
use super::error::AwsError;
use super::functions::{self, Update};
use super::layer;
use super::policy::{self, role_name};
use super::record::{self, Record};
use super::report::{DetachReport, DetachedFunction, Progress, ProgressFn, RestoreSource};
use super::stack::stack_functions;
use super::state::{self, FunctionState};
use std::collections::BTreeSet;
use std::path::Path;

/// Restores the functions of `stack`; see the module doc.
pub async fn detach(
    aws: &Aws,
    stack: &str,
    state_dir: &Path,
    progress: &mut ProgressFn<'_>,
) -> Result<DetachReport, AwsError> {
    let path = state::path(state_dir, aws.account(), aws.region(), stack);
    let saved = state::load(&path)?;

    // The functions to look at: the state file's, and every Python function of the stack now.
    let mut names: Vec<String> = saved
        .iter()
        .flat_map(|s| s.functions.iter().map(|f| f.name.clone()))
        .collect();
    match stack_functions(aws, stack, &[]).await {
        Ok(found) => {
            for f in found.functions {
                if !names.contains(&f.name) {
                    names.push(f.name);
                }
            }
        }
        Err(AwsError::StackNotFound { .. }) if saved.is_some() => {
            tracing::warn!(
                stack,
                "the stack is gone; restoring the functions of the state file"
            );
        }
        Err(e) => return Err(e),
    }

    let mut report = DetachReport {
        stack: stack.to_string(),
        functions: Vec::new(),
        roles: Vec::new(),
        state_file_removed: None,
    };
    let mut statements: BTreeSet<(String, String)> = BTreeSet::new();
    if let Some(saved) = &saved {
        for role in &saved.roles {
            statements.insert((role.clone(), saved.prefix.clone()));
        }
    }
    for name in names {
        let entry = saved
            .as_ref()
            .and_then(|s| s.functions.iter().find(|f| f.name == name));
        let prefix = saved.as_ref().map(|s| s.prefix.as_str());
        match restore(aws, &name, entry, prefix, progress).await? {
            Some(done) => {
                if let Some((role, prefix)) = done.statement {
                    statements.insert((role, prefix));
                }
                report.functions.push(done.function);
            }
            None => continue,
        }
    }
    for (role, prefix) in statements {
        if policy::revoke(aws, &role, &prefix, progress).await? && !report.roles.contains(&role) {
            report.roles.push(role);
        }
    }
    if saved.is_some() {
        state::remove(&path)?;
        report.state_file_removed = Some(path);
    }
    Ok(report)
}

/// One function after [`restore`], and the policy statement its attach used.
struct Restored {
    function: DetachedFunction,
    statement: Option<(String, String)>,
}

/// Restores one function if it carries borescope's changes. `Ok(None)` when the function no
/// longer exists.
async fn restore(
    aws: &Aws,
    name: &str,
    entry: Option<&FunctionState>,
    state_prefix: Option<&str>,
    progress: &mut ProgressFn<'_>,
) -> Result<Option<Restored>, AwsError> {
    let config = match functions::settled(aws, name).await {
        Ok(config) => config,
        Err(AwsError::NotFound { .. }) => {
            tracing::warn!(function = name, "the function is gone; nothing to restore");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let current = config.env_or_empty();
    let mut function = DetachedFunction {
        name: config.name.clone(),
        arn: config.arn.clone(),
        restored_from: None,
        holder: None,
    };
    let role = role_name(&config.role).to_string();

    let recorded = match Record::from_env(name, &current) {
        Ok(found) => found,
        // A record borescope cannot read: the state file, if any, still says what to restore.
        Err(e) if entry.is_some() => {
            tracing::warn!("{e}");
            None
        }
        Err(e) => return Err(e),
    };
    let (update, source, statement) = if let Some(rec) = recorded {
        function.holder = Some(rec.holder.clone());
        let update = Update {
            timeout: rec.orig.timeout,
            env: record::original_env(&current, &rec),
            layers: rec.orig.layers.clone(),
        };
        (
            update,
            RestoreSource::FunctionRecord,
            Some((role, rec.prefix)),
        )
    } else if let Some(entry) = entry.filter(|_| still_instrumented(&config)) {
        let update = Update {
            timeout: entry.original.timeout,
            env: entry.original.environment.clone().unwrap_or_default(),
            layers: entry.original.layers.clone(),
        };
        (
            update,
            RestoreSource::StateFile,
            state_prefix.map(|p| (role, p.to_string())),
        )
    } else {
        return Ok(Some(Restored {
            function,
            statement: None,
        }));
    };
    functions::update(aws, &config, &update, progress).await?;
    progress(Progress::Restored {
        function: config.name.clone(),
    });
    function.restored_from = Some(source);
    Ok(Some(Restored {
        function,
        statement,
    }))
}

/// True when borescope's wrapper or layer is still on the function.
fn still_instrumented(config: &functions::FunctionConfig) -> bool {
    config.wrapper().as_deref() == Some(record::WRAPPER_PATH)
        || config
            .env
            .as_ref()
            .is_some_and(|e| e.contains_key(record::CHAIN_VAR))
        || config.layers.iter().any(|l| layer::is_ours(l))
}
