//! `attach`: instrument a stack's Python functions. Every function is read and checked first
//! (another holder, Lambda's 4 KB environment and 5 layers), the originals are written to the
//! local state file, and only then does anything in AWS change: the layer, the roles' relay
//! policy, and each function's timeout, environment and layers in one update. A failure half
//! way puts back every function already changed, and the policy, before returning the error.

use super::account::Aws;
use super::error::AwsError;
use super::functions::{self, FunctionConfig, Update};
use super::layer::{self, LayerZip};
use super::policy::{self, role_name};
use super::record::{self, Env, Originals, RECORD_VERSION, Record};
use super::report::{AttachReport, AttachedFunction, Progress, ProgressFn};
use super::stack::StackFunction;
use super::state::{self, FunctionState, OriginalConfig, Phase, StackState};
use std::path::Path;

/// Lambda's longest timeout, seconds.
pub const MAX_TIMEOUT: i32 = 900;
/// Lambda's layer limit per function.
pub const MAX_LAYERS: usize = 5;

/// Where the shims meet the relay client.
#[derive(Clone)]
pub struct RelaySettings {
    /// The broker's WebSocket URL, unsigned (`wss://ENDPOINT/mqtt`, `ws://127.0.0.1:P/mqtt`).
    pub url: String,
    /// The topic prefix: 32 lowercase hex characters, random per attach.
    pub prefix: String,
    /// The message secret: 32 random bytes, base64url without padding.
    pub secret_b64: String,
}

impl std::fmt::Debug for RelaySettings {
    /// The secret never appears in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySettings")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("secret_b64", &"[redacted]")
            .finish()
    }
}

/// What to attach.
#[derive(Debug, Clone)]
pub struct AttachPlan {
    /// The stack (as given by the user).
    pub stack: String,
    /// The functions (from [`super::stack_functions`]).
    pub functions: Vec<StackFunction>,
    /// The timeout while attached: each function gets `max(its own, this)`, at most 900.
    pub timeout_secs: u32,
    /// The relay.
    pub relay: RelaySettings,
    /// Who attaches (`user@host`), recorded in each function.
    pub holder: String,
    /// Take over functions another holder attached.
    pub force: bool,
    /// The layer to add.
    pub layer: LayerZip,
}

/// One function's before and after, worked out before anything changes.
struct Target {
    logical_id: String,
    before: FunctionConfig,
    original_env: Env,
    originals: Originals,
    env: Env,
    timeout: i32,
    took_over_from: Option<String>,
    /// The prefix of the attach taken over (its policy statement goes once this one is in).
    previous_prefix: Option<String>,
}

/// Instruments `plan.functions`; see the module doc. The state file is
/// `state_dir/<account>-<region>-<stack>.json` ([`state::path`]).
pub async fn attach(
    aws: &Aws,
    plan: &AttachPlan,
    state_dir: &Path,
    progress: &mut ProgressFn<'_>,
) -> Result<AttachReport, AwsError> {
    validate(plan)?;
    let since = now();
    let mut targets = Vec::with_capacity(plan.functions.len());
    for function in &plan.functions {
        targets.push(prepare(aws, plan, function, since).await?);
    }

    let path = state::path(state_dir, aws.account(), aws.region(), &plan.stack);
    let mut saved = StackState::new(
        aws.account(),
        aws.region(),
        &plan.stack,
        &plan.holder,
        since,
        &plan.relay.prefix,
        targets
            .iter()
            .map(|t| FunctionState {
                logical_id: t.logical_id.clone(),
                name: t.before.name.clone(),
                arn: t.before.arn.clone(),
                role: t.before.role.clone(),
                original: OriginalConfig {
                    timeout: t.originals.timeout,
                    environment: (!t.original_env.is_empty()).then(|| t.original_env.clone()),
                    layers: t.originals.layers.clone(),
                    wrapper: t.originals.wrapper.clone(),
                },
            })
            .collect(),
    );
    state::save(&path, &saved)?;

    let mut reached = 0usize;
    match apply(
        aws,
        plan,
        &targets,
        &mut saved,
        &path,
        &mut reached,
        progress,
    )
    .await
    {
        Ok(layer_arn) => Ok(AttachReport {
            stack: plan.stack.clone(),
            account: aws.account().to_string(),
            region: aws.region().to_string(),
            layer_reused: layer_arn.1,
            layer_arn: layer_arn.0,
            roles: saved.roles.clone(),
            functions: targets
                .iter()
                .map(|t| AttachedFunction {
                    logical_id: t.logical_id.clone(),
                    name: t.before.name.clone(),
                    arn: t.before.arn.clone(),
                    original_timeout: t.originals.timeout,
                    timeout: t.timeout,
                    took_over_from: t.took_over_from.clone(),
                })
                .collect(),
            state_file: path,
        }),
        Err(cause) => {
            tracing::debug!(%cause, "attach failed; undoing");
            match undo(
                aws,
                plan,
                &targets[..reached.min(targets.len())],
                &saved.roles,
                &path,
                progress,
            )
            .await
            {
                Ok(()) => Err(AwsError::AttachUndone {
                    cause: Box::new(cause),
                }),
                Err(undo) => Err(AwsError::AttachUndoFailed {
                    cause: Box::new(cause),
                    undo: Box::new(undo),
                    stack: plan.stack.clone(),
                }),
            }
        }
    }
}

fn validate(plan: &AttachPlan) -> Result<(), AwsError> {
    let bad = |m: &str| Err(AwsError::BadPlan(m.to_string()));
    let prefix = &plan.relay.prefix;
    if prefix.len() != 32
        || !prefix
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return bad("the prefix must be 32 lowercase hex characters");
    }
    let secret = &plan.relay.secret_b64;
    if secret.len() < 43
        || !secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return bad("the secret must be at least 32 bytes, base64url without padding");
    }
    if !(plan.relay.url.starts_with("wss://") || plan.relay.url.starts_with("ws://")) {
        return bad("the relay URL must start with wss:// or ws://");
    }
    if plan.holder.trim().is_empty() {
        return bad("the holder must not be empty");
    }
    if plan.timeout_secs == 0 {
        return bad("the timeout must be at least 1 second");
    }
    if plan.functions.is_empty() {
        return Err(AwsError::NothingToAttach {
            stack: plan.stack.clone(),
            refused: Vec::new(),
        });
    }
    Ok(())
}

/// Reads `function` and works out its originals and its instrumented configuration, refusing
/// what cannot be done (another holder, a foreign record, too large, too many layers).
async fn prepare(
    aws: &Aws,
    plan: &AttachPlan,
    function: &StackFunction,
    since: u64,
) -> Result<Target, AwsError> {
    let before = functions::settled(aws, &function.name).await?;
    let current = before.env_or_empty();
    let mut previous_prefix = None;
    let (original_env, originals, took_over_from) = match Record::from_env(&before.name, &current)?
    {
        Some(existing) => {
            if existing.holder != plan.holder && !plan.force {
                return Err(AwsError::HeldByOther {
                    function: before.name.clone(),
                    holder: existing.holder,
                    since: record::utc(existing.since),
                });
            }
            // An earlier attach (ours after a crash, or another holder's with --force): its
            // originals are the function's real originals, never our own changes.
            previous_prefix = Some(existing.prefix.clone()).filter(|p| *p != plan.relay.prefix);
            (
                record::original_env(&current, &existing),
                existing.orig.clone(),
                Some(existing.holder),
            )
        }
        None => {
            let wrapper = before.wrapper().filter(|w| w != record::WRAPPER_PATH);
            let originals = Originals {
                timeout: before.timeout,
                wrapper,
                layers: before.layers.clone(),
            };
            (current.clone(), originals, None)
        }
    };
    let own_layers = originals
        .layers
        .iter()
        .filter(|l| !layer::is_ours(l))
        .count();
    if own_layers >= MAX_LAYERS {
        return Err(AwsError::TooManyLayers {
            function: before.name.clone(),
            count: own_layers,
        });
    }
    let record = Record {
        v: RECORD_VERSION,
        relay: plan.relay.url.clone(),
        region: aws.region().to_string(),
        prefix: plan.relay.prefix.clone(),
        secret: plan.relay.secret_b64.clone(),
        holder: plan.holder.clone(),
        since,
        stack: Some(plan.stack.clone()),
        orig: originals.clone(),
    };
    let env = record::instrumented_env(&original_env, &record);
    record::check_env_size(&before.name, &original_env, &env)?;
    let wanted = i32::try_from(plan.timeout_secs)
        .unwrap_or(MAX_TIMEOUT)
        .min(MAX_TIMEOUT);
    Ok(Target {
        logical_id: function.logical_id.clone(),
        timeout: originals.timeout.max(wanted),
        before,
        original_env,
        originals,
        env,
        took_over_from,
        previous_prefix,
    })
}

/// The changes, in order: layer, policies, functions. `reached` counts the functions whose
/// update was started (the last may or may not have happened). Returns the layer ARN and
/// whether it was reused.
async fn apply(
    aws: &Aws,
    plan: &AttachPlan,
    targets: &[Target],
    saved: &mut StackState,
    path: &Path,
    reached: &mut usize,
    progress: &mut ProgressFn<'_>,
) -> Result<(String, bool), AwsError> {
    let mut reused = false;
    let layer_arn = layer::ensure(aws, &plan.layer, &mut |p| {
        if let Progress::Layer { reused: r, .. } = &p {
            reused = *r;
        }
        progress(p)
    })
    .await?;
    saved.layer_arn = Some(layer_arn.clone());
    state::save(path, saved)?;

    for target in targets {
        let role = role_name(&target.before.role).to_string();
        if role.is_empty() || saved.roles.contains(&role) {
            continue;
        }
        // Recorded before the call: an interrupted grant is still revoked by detach.
        saved.roles.push(role.clone());
        state::save(path, saved)?;
        policy::grant(aws, &role, &plan.relay.prefix, progress).await?;
    }

    for target in targets {
        *reached += 1;
        let mut layers: Vec<String> = target
            .originals
            .layers
            .iter()
            .filter(|l| !layer::is_ours(l))
            .cloned()
            .collect();
        layers.push(layer_arn.clone());
        let update = Update {
            timeout: target.timeout,
            env: target.env.clone(),
            layers,
        };
        functions::update(aws, &target.before, &update, progress).await?;
        progress(Progress::Instrumented {
            function: target.before.name.clone(),
        });
    }
    saved.phase = Phase::Attached;
    state::save(path, saved)?;

    // The attaches taken over no longer have functions here: their statements go (a failure
    // leaves a statement that grants nothing borescope uses: reported, not fatal).
    let mut revoked: Vec<(String, String)> = Vec::new();
    for target in targets {
        let Some(previous) = &target.previous_prefix else {
            continue;
        };
        let key = (role_name(&target.before.role).to_string(), previous.clone());
        if !key.0.is_empty() && !revoked.contains(&key) {
            if let Err(e) = policy::revoke(aws, &key.0, &key.1, progress).await {
                tracing::warn!(
                    "the relay policy of the attach taken over stays on role {}: {e}",
                    key.0
                );
            }
            revoked.push(key);
        }
    }
    Ok((layer_arn, reused))
}

/// Puts back every function this attach changed (as it was just before, which for a takeover
/// is the earlier attach), removes this attach's policy statements and the state file.
async fn undo(
    aws: &Aws,
    plan: &AttachPlan,
    touched: &[Target],
    roles: &[String],
    path: &Path,
    progress: &mut ProgressFn<'_>,
) -> Result<(), AwsError> {
    for target in touched {
        let now = functions::settled(aws, &target.before.name).await?;
        let ours = Record::from_env(&now.name, &now.env_or_empty())
            .ok()
            .flatten()
            .is_some_and(|r| r.prefix == plan.relay.prefix);
        if !ours {
            continue;
        }
        let back = Update {
            timeout: target.before.timeout,
            env: target.before.env_or_empty(),
            layers: target.before.layers.clone(),
        };
        functions::update(aws, &now, &back, progress).await?;
        progress(Progress::Restored {
            function: now.name.clone(),
        });
    }
    for role in roles {
        policy::revoke(aws, role, &plan.relay.prefix, progress).await?;
    }
    state::remove(path)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let relay = RelaySettings { url: "ws://x/mqtt".into(), prefix: "a".repeat(32), secret_b64: "s3cr3t".into() };
        let text = format!("{relay:?}");
        assert!(!text.contains("s3cr3t") && text.contains("[redacted]"), "{text}");
    }
}
