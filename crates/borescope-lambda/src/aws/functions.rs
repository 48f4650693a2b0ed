//! One function's configuration as the control plane needs it (timeout, environment, layers,
//! role, runtime), read with `GetFunctionConfiguration` and written with one
//! `UpdateFunctionConfiguration` (timeout, environment and layers together), waiting for
//! `LastUpdateStatus` to settle before and after and retrying conflicts and throttling.

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::record::{Env, WRAPPER_VAR};
use super::report::ProgressFn;
use super::retry::retrying;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{Environment, LastUpdateStatus, PackageType, State};
use std::time::{Duration, Instant};

/// How long a function may stay `InProgress` or `Pending` before we give up.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

/// The parts of a function's configuration borescope reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionConfig {
    pub name: String,
    pub arn: String,
    pub role: String,
    pub runtime: Option<String>,
    pub image: bool,
    pub timeout: i32,
    /// `None`: the function has no variables.
    pub env: Option<Env>,
    pub layers: Vec<String>,
    settling: bool,
    failed: Option<String>,
}

impl FunctionConfig {
    fn from_output(out: &GetFunctionConfigurationOutput) -> FunctionConfig {
        let env = out
            .environment()
            .and_then(|e| e.variables())
            .filter(|v| !v.is_empty())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        let update = out.last_update_status();
        FunctionConfig {
            name: out.function_name().unwrap_or_default().to_string(),
            arn: out.function_arn().unwrap_or_default().to_string(),
            role: out.role().unwrap_or_default().to_string(),
            runtime: out.runtime().map(|r| r.as_str().to_string()),
            image: out.package_type() == Some(&PackageType::Image),
            timeout: out.timeout().unwrap_or(3),
            env,
            layers: out
                .layers()
                .iter()
                .filter_map(|l| l.arn().map(str::to_string))
                .collect(),
            settling: update == Some(&LastUpdateStatus::InProgress)
                || out.state() == Some(&State::Pending),
            failed: (update == Some(&LastUpdateStatus::Failed)).then(|| {
                out.last_update_status_reason()
                    .unwrap_or("no reason given")
                    .to_string()
            }),
        }
    }

    /// The environment, empty when there is none.
    pub fn env_or_empty(&self) -> Env {
        self.env.clone().unwrap_or_default()
    }

    /// `AWS_LAMBDA_EXEC_WRAPPER`, if set.
    pub fn wrapper(&self) -> Option<String> {
        self.env.as_ref().and_then(|e| e.get(WRAPPER_VAR)).cloned()
    }
}

/// The function's configuration now.
pub(crate) async fn get(aws: &Aws, name: &str) -> Result<FunctionConfig, AwsError> {
    let out = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| {
            sdk(
                e,
                "lambda:GetFunctionConfiguration",
                format!("function {name}"),
            )
        })?;
    Ok(FunctionConfig::from_output(&out))
}

/// The function's configuration once no update is in progress.
pub(crate) async fn settled(aws: &Aws, name: &str) -> Result<FunctionConfig, AwsError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let config = get(aws, name).await?;
        if !config.settling {
            return Ok(config);
        }
        if start.elapsed() > SETTLE_LIMIT {
            return Err(AwsError::WaitTimeout {
                function: name.to_string(),
                secs: SETTLE_LIMIT.as_secs(),
            });
        }
        tracing::debug!(function = name, "update in progress; waiting");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub timeout: i32,
    pub env: Env,
    pub layers: Vec<String>,
}

/// Writes timeout, environment and layers in one update, then waits until it has settled;
/// the update's own failure (`LastUpdateStatus: Failed`) is an error.
pub(crate) async fn update(
    aws: &Aws,
    config: &FunctionConfig,
    to: &Update,
    progress: &mut ProgressFn<'_>,
) -> Result<FunctionConfig, AwsError> {
    let name = config.name.as_str();
    settled(aws, name).await?;
    retrying(progress, || async {
        aws.lambda
            .update_function_configuration()
            .function_name(name)
            .timeout(to.timeout)
            .environment(
                Environment::builder()
                    .set_variables(Some(
                        to.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    ))
                    .build(),
            )
            .set_layers(Some(to.layers.clone()))
            .send()
            .await
            .map_err(|e| sdk(e, "lambda:UpdateFunctionConfiguration", config.arn.clone()))
    })
    .await?;
    let after = settled(aws, name).await?;
    if let Some(reason) = after.failed.clone() {
        return Err(AwsError::UpdateFailed {
            function: name.to_string(),
            reason,
        });
    }
    Ok(after)
}
