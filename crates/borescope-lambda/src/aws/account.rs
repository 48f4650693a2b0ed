//! The connection to one AWS account and region with the caller's own credentials: the
//! standard chain (profiles, SSO, environment, `AWS_ENDPOINT_URL` honoured), checked up front
//! with STS `GetCallerIdentity` so a missing region or credential is reported before anything
//! else runs, and one client per service the control plane uses.

use super::error::{AwsError, sdk};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

/// Where to connect: everything defaults to the standard chain (`AWS_REGION`, `AWS_PROFILE`,
/// `AWS_ENDPOINT_URL`, config files).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// One endpoint for every service instead of AWS's (what `AWS_ENDPOINT_URL` does; tests
    /// point it at moto without touching the process environment).
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the chain (tests).
    pub credentials: Option<Credentials>,
}

/// A checked connection: who the caller is, where, and the service clients.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    region: String,
    account: String,
    caller: String,
    partition: String,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) cfn: aws_sdk_cloudformation::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    iot: aws_sdk_iot::Client,
}

impl Aws {
    /// Loads the configuration, resolves credentials and asks STS who the caller is.
    pub async fn connect(opts: &AwsOptions) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &opts.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &opts.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let config = loader.load().await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or(AwsError::NoRegion)?;
        credentials_of(&config).await?;
        let sts = aws_sdk_sts::Client::new(&config);
        let identity = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk(e, "sts:GetCallerIdentity", "the caller"))?;
        let account = identity.account().unwrap_or_default().to_string();
        let caller = identity.arn().unwrap_or_default().to_string();
        let partition = caller
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_string();
        tracing::debug!(%region, %account, %caller, "connected to AWS");
        Ok(Aws {
            lambda: aws_sdk_lambda::Client::new(&config),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            iot: aws_sdk_iot::Client::new(&config),
            config,
            region,
            account,
            caller,
            partition,
        })
    }

    /// The region every call goes to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The caller's account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The caller's ARN (`arn:aws:iam::123456789012:user/alice`, an assumed role, ...).
    pub fn caller(&self) -> &str {
        &self.caller
    }

    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The SDK configuration (for other clients, e.g. the relay's signer).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Fresh credentials from the chain (for presigning the relay's WebSocket URL).
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        credentials_of(&self.config).await
    }

    /// The account's IoT Core data endpoint (`DescribeEndpoint`, `iot:Data-ATS`), a host name.
    pub async fn iot_data_endpoint(&self) -> Result<String, AwsError> {
        let out = self
            .iot
            .describe_endpoint()
            .endpoint_type("iot:Data-ATS")
            .send()
            .await
            .map_err(|e| {
                sdk(
                    e,
                    "iot:DescribeEndpoint",
                    format!("account {}", self.account),
                )
            })?;
        out.endpoint_address()
            .map(str::to_string)
            .ok_or_else(|| AwsError::Api {
                action: "iot:DescribeEndpoint",
                resource: format!("account {}", self.account),
                code: String::new(),
                message: "the answer had no endpoint address".into(),
            })
    }

    /// The IoT resource ARN prefix of this account and region: `arn:P:iot:R:A:`.
    pub(crate) fn iot_arn(&self, rest: &str) -> String {
        format!(
            "arn:{}:iot:{}:{}:{rest}",
            self.partition, self.region, self.account
        )
    }
}

/// Credentials from a configuration's chain, or why there are none.
async fn credentials_of(config: &SdkConfig) -> Result<Credentials, AwsError> {
    let provider = config.credentials_provider().ok_or_else(|| AwsError::NoCredentials {
        detail: "no credential provider is configured".into(),
    })?;
    provider.provide_credentials().await.map_err(|e| AwsError::NoCredentials {
        detail: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
    })
}
