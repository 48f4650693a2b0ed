//! A deployed function as a local run needs it (`lambda invoke --stack`): its handler, runtime,
//! timeout, memory and environment, the environment as the function's own code sees it (without
//! borescope's variables when it is attached).

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::record::{self, Env, Record};
use serde::Serialize;

/// What a local run of a deployed function takes from its configuration.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeployedFunction {
    /// Its name.
    pub name: String,
    /// `module.function`, as deployed (the original one when attached).
    pub handler: String,
    /// `python3.13`, ...
    pub runtime: Option<String>,
    /// Seconds.
    pub timeout: i32,
    /// MB.
    pub memory_mb: i32,
    /// Its environment variables, borescope's own left out.
    pub env: Env,
}

/// The deployed configuration of function `name`.
pub async fn deployed_function(aws: &Aws, name: &str) -> Result<DeployedFunction, AwsError> {
    let out = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| sdk(e, "lambda:GetFunctionConfiguration", format!("function {name}")))?;
    let env: Env = out
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let env = match Record::from_env(name, &env)? {
        Some(record) => record::original_env(&env, &record),
        None => env,
    };
    Ok(DeployedFunction {
        name: out.function_name().unwrap_or(name).to_string(),
        handler: out.handler().unwrap_or_default().to_string(),
        runtime: out.runtime().map(|r| r.as_str().to_string()),
        timeout: out.timeout().unwrap_or(3),
        memory_mb: out.memory_size().unwrap_or(128),
        env,
    })
}
