//! Everything that can go wrong on the AWS control plane, as one typed error whose messages name
//! the fix: the missing permission and the resource it was needed on, the missing stack or
//! function, no credentials or no region. `sdk` turns an AWS SDK error into one of these.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::path::PathBuf;

/// Why an AWS control-plane operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region in the options, the environment or the profile.
    #[error(
        "no AWS region: pass --region, set AWS_REGION, or use a profile with a region (--profile)"
    )]
    NoRegion,
    /// The credential chain found nothing usable.
    #[error(
        "no AWS credentials ({detail}): pass --profile or set AWS_PROFILE, run `aws sso login` for an SSO profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials {
        /// What the credential chain said.
        detail: String,
    },
    /// AWS refused the credentials themselves (unknown key, expired token).
    #[error(
        "AWS refused the credentials for {action} ({code}: {message}): refresh them (`aws sso login`, new keys) or pick another --profile"
    )]
    BadCredentials {
        /// The API action.
        action: &'static str,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The caller lacks a permission.
    #[error("missing permission {action} on {resource}: {message}")]
    PermissionDenied {
        /// The IAM action, `service:Operation`.
        action: &'static str,
        /// The resource it was needed on (an ARN or a name).
        resource: String,
        /// AWS's message.
        message: String,
    },
    /// The stack does not exist in this account and region.
    #[error("stack `{stack}` not found in {region}: check the name, --region and --profile")]
    StackNotFound {
        /// The stack name as given.
        stack: String,
        /// The region searched.
        region: String,
    },
    /// A function (or role, layer) does not exist.
    #[error("{resource} not found ({action}): {message}")]
    NotFound {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// AWS's message.
        message: String,
    },
    /// `--function` named something the stack does not have.
    #[error("stack `{stack}` has no function {}; its functions: {}", quote_list(.unknown), .available.join(", "))]
    UnknownFunctions {
        /// The stack.
        stack: String,
        /// The names that matched nothing.
        unknown: Vec<String>,
        /// `physical-name (logical id)` of every function of the stack.
        available: Vec<String>,
    },
    /// The stack has no Python function to instrument.
    #[error("stack `{stack}` has no Python function to attach to{}", refused_suffix(.refused))]
    NothingToAttach {
        /// The stack.
        stack: String,
        /// `name: reason` for each refused function.
        refused: Vec<String>,
    },
    /// Another holder has the function instrumented.
    #[error(
        "function {function} is attached by {holder} since {since}: detach it there (`borescope lambda detach`), or pass --force to take over"
    )]
    HeldByOther {
        /// The function.
        function: String,
        /// Who holds it.
        holder: String,
        /// Since when (UTC).
        since: String,
    },
    /// The function's `BORESCOPE_LAMBDA` variable is not a record borescope wrote.
    #[error(
        "function {function} has a BORESCOPE_LAMBDA variable borescope cannot read ({detail}): remove it from the function's environment by hand, then attach again"
    )]
    ForeignRecord {
        /// The function.
        function: String,
        /// Why it does not parse.
        detail: String,
    },
    /// Lambda's 4 KB limit on environment variables would be exceeded.
    #[error(
        "function {function}: its environment would be {total} bytes with borescope's {added} bytes (its own: {own}); Lambda allows {limit}: remove some of the function's variables"
    )]
    EnvTooLarge {
        /// The function.
        function: String,
        /// Size after instrumenting.
        total: usize,
        /// What borescope adds.
        added: usize,
        /// The function's own variables.
        own: usize,
        /// Lambda's limit.
        limit: usize,
    },
    /// The function already has five layers.
    #[error(
        "function {function} already has {count} layers; Lambda allows 5 and borescope needs one: remove a layer or debug another function"
    )]
    TooManyLayers {
        /// The function.
        function: String,
        /// Its layer count.
        count: usize,
    },
    /// The plan is not usable (bad prefix, secret, timeout).
    #[error("invalid attach plan: {0}")]
    BadPlan(String),
    /// Lambda reported that a configuration update failed.
    #[error("updating function {function} failed: {reason}")]
    UpdateFailed {
        /// The function.
        function: String,
        /// `LastUpdateStatusReason`.
        reason: String,
    },
    /// A function stayed `InProgress` past the wait bound.
    #[error("function {function} was still updating after {secs} s; try again later")]
    WaitTimeout {
        /// The function.
        function: String,
        /// Seconds waited.
        secs: u64,
    },
    /// A conflict or throttling outlived every retry.
    #[error(
        "{action} on {resource} still refused after {attempts} attempts ({code}: {message}); try again in a minute"
    )]
    Busy {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// AWS could not be reached.
    #[error(
        "cannot reach AWS for {action}: {message} (check the network, the region and AWS_ENDPOINT_URL)"
    )]
    Unreachable {
        /// The API action.
        action: &'static str,
        /// The transport error.
        message: String,
    },
    /// Any other AWS error.
    #[error("{action} on {resource} failed: {code}: {message}")]
    Api {
        /// The API action.
        action: &'static str,
        /// The resource.
        resource: String,
        /// AWS's error code (empty when there was none).
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The local state file could not be read or written.
    #[error("state file {}: {source}", .path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local state file is not one borescope wrote.
    #[error("state file {} is damaged ({detail}): delete it; `borescope lambda detach` then restores from the functions' own records", .path.display())]
    StateDamaged {
        /// The file.
        path: PathBuf,
        /// The parse error.
        detail: String,
    },
    /// Building the layer zip failed.
    #[error("cannot build the borescope layer: {0}")]
    Layer(String),
    /// An attach failed and everything it had changed was restored.
    #[error("{cause} (every change was undone)")]
    AttachUndone {
        /// The failure.
        cause: Box<AwsError>,
    },
    /// An attach failed and undoing it failed too.
    #[error(
        "{cause}; undoing the attach failed too ({undo}): run `borescope lambda detach --stack {stack}` to restore"
    )]
    AttachUndoFailed {
        /// The failure.
        cause: Box<AwsError>,
        /// Why undoing failed.
        undo: Box<AwsError>,
        /// The stack.
        stack: String,
    },
}


impl AwsError {
    /// Whether the caller can fix this by changing the command (exit code 2): a missing
    /// region, an unknown stack or function, a stack without Python functions, another
    /// holder (`--force`), or Lambda's limits.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            AwsError::NoRegion
                | AwsError::StackNotFound { .. }
                | AwsError::UnknownFunctions { .. }
                | AwsError::NothingToAttach { .. }
                | AwsError::HeldByOther { .. }
                | AwsError::EnvTooLarge { .. }
                | AwsError::TooManyLayers { .. }
                | AwsError::BadPlan(_)
        )
    }

    /// True for a conflict or throttling that a later attempt may not meet.
    pub fn is_busy(&self) -> bool {
        matches!(self, AwsError::Api { code, .. } if is_busy_code(code))
    }
}

fn quote_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn refused_suffix(refused: &[String]) -> String {
    if refused.is_empty() {
        String::new()
    } else {
        format!(" (refused: {})", refused.join("; "))
    }
}

/// Codes meaning "busy, try again": Lambda's update conflicts, throttling everywhere, IAM's
/// concurrent modifications.
fn is_busy_code(code: &str) -> bool {
    matches!(
        code,
        "ResourceConflictException"
            | "TooManyRequestsException"
            | "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "ConcurrentModification"
            | "ConcurrentModificationException"
            | "PriorRequestNotComplete"
    )
}

/// Turns an AWS error code and message from `action` on `resource` into an [`AwsError`].
pub(crate) fn classify(
    action: &'static str,
    resource: String,
    code: &str,
    message: &str,
) -> AwsError {
    let message = message.to_string();
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "UnauthorizedException" => AwsError::PermissionDenied {
            action,
            resource,
            message,
        },
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken" => AwsError::BadCredentials {
            action,
            code: code.to_string(),
            message,
        },
        "ResourceNotFoundException" | "NoSuchEntity" | "NotFoundException" => AwsError::NotFound {
            action,
            resource,
            message,
        },
        _ => AwsError::Api {
            action,
            resource,
            code: code.to_string(),
            message,
        },
    }
}

/// Turns an AWS SDK error from `action` (`service:Operation`) on `resource` into an
/// [`AwsError`].
pub(crate) fn sdk<E, R>(
    err: SdkError<E, R>,
    action: &'static str,
    resource: impl Into<String>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let resource = resource.into();
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            classify(
                action,
                resource,
                inner.code().unwrap_or(""),
                inner.message().unwrap_or(""),
            )
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let message = DisplayErrorContext(&err).to_string();
            if message.contains("credentials") || message.contains("identity") {
                AwsError::NoCredentials { detail: message }
            } else {
                AwsError::Unreachable { action, message }
            }
        }
        _ => {
            let message = DisplayErrorContext(&err).to_string();
            if message.contains("failed to load credentials") || message.contains("no credentials")
            {
                AwsError::NoCredentials { detail: message }
            } else {
                AwsError::Api {
                    action,
                    resource,
                    code: String::new(),
                    message,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesError;
    use aws_sdk_iam::operation::put_role_policy::PutRolePolicyError;
    use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service<E>(err: E, status: u16) -> SdkError<E, Response> {
        let status = StatusCode::try_from(status).unwrap_or_else(|_| panic!("status {status}"));
        SdkError::service_error(err, Response::new(status, SdkBody::empty()))
    }

    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[test]
    fn a_refused_lambda_update_names_the_action_and_the_arn() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-Plain";
        let err = UpdateFunctionConfigurationError::generic(meta(
            "AccessDeniedException",
            "User: alice is not authorized",
        ));
        assert_eq!(
            sdk(service(err, 403), "lambda:UpdateFunctionConfiguration", arn).to_string(),
            format!(
                "missing permission lambda:UpdateFunctionConfiguration on {arn}: User: alice is not authorized"
            )
        );
    }

    #[test]
    fn a_refused_role_policy_names_the_role() {
        let err = PutRolePolicyError::generic(meta(
            "AccessDenied",
            "not authorized to perform: iam:PutRolePolicy",
        ));
        assert_eq!(
            sdk(service(err, 403), "iam:PutRolePolicy", "role orders-Role").to_string(),
            "missing permission iam:PutRolePolicy on role orders-Role: not authorized to perform: iam:PutRolePolicy"
        );
    }

    #[test]
    fn a_refused_stack_listing_names_cloudformation() {
        let err = ListStackResourcesError::generic(meta("AccessDenied", "no"));
        assert_eq!(
            sdk(
                service(err, 403),
                "cloudformation:ListStackResources",
                "stack orders"
            )
            .to_string(),
            "missing permission cloudformation:ListStackResources on stack orders: no"
        );
    }

    #[test]
    fn expired_credentials_name_the_fix() {
        let err = PutRolePolicyError::generic(meta(
            "ExpiredToken",
            "The security token included in the request is expired",
        ));
        let text = sdk(service(err, 403), "iam:PutRolePolicy", "role r").to_string();
        assert!(
            text.starts_with("AWS refused the credentials for iam:PutRolePolicy (ExpiredToken: "),
            "{text}"
        );
        assert!(text.contains("aws sso login"), "{text}");
    }

    #[test]
    fn conflicts_and_throttling_are_busy() {
        for code in [
            "ResourceConflictException",
            "TooManyRequestsException",
            "Throttling",
            "ThrottlingException",
        ] {
            let err = UpdateFunctionConfigurationError::generic(meta(code, "later"));
            assert!(
                sdk(service(err, 409), "lambda:UpdateFunctionConfiguration", "f").is_busy(),
                "{code}"
            );
        }
        let err = UpdateFunctionConfigurationError::generic(meta(
            "InvalidParameterValueException",
            "bad",
        ));
        assert!(!sdk(service(err, 400), "lambda:UpdateFunctionConfiguration", "f").is_busy());
    }

    #[test]
    fn missing_region_and_credentials_name_the_fix() {
        assert_eq!(
            AwsError::NoRegion.to_string(),
            "no AWS region: pass --region, set AWS_REGION, or use a profile with a region (--profile)"
        );
        let text = AwsError::NoCredentials {
            detail: "no providers in chain".into(),
        }
        .to_string();
        assert!(
            text.starts_with("no AWS credentials (no providers in chain): pass --profile"),
            "{text}"
        );
    }
}
