//! Arguments of `borescope lambda ...`: live debugging of deployed AWS Lambda functions
//! (attach, detach, status) and local runs of one function with an event (invoke).

use borescope_static::EnvVars;
use clap::{Args, Subcommand};
use std::path::PathBuf;

const LAMBDA_AFTER_HELP: &str = "\
While `lambda attach` runs, every invocation of the stack's Python functions in AWS runs on \
this machine instead, from your local code, under the borescope session `lambda`; the answer \
goes back to AWS as the function's. Drive it like any session:
  borescope lambda attach --stack orders-api          keep it running (Ctrl-C restores everything)
  borescope break src/orders/app.py:42 --session lambda
  borescope continue --session lambda                 after an invocation stopped there
  borescope vars --session lambda; borescope eval 'event[\"body\"]' --session lambda
  borescope lambda detach --stack orders-api          after a crash, or from another machine
  borescope lambda invoke CreateOrder --event event.json --template template.yaml --break src/orders/app.py:42

API Gateway stops waiting after 29-30 s whatever the function's timeout: pause behind it and the \
caller gets a 504 while the invocation still finishes here.";

/// `borescope lambda`.
#[derive(Debug, Args)]
#[command(after_help = LAMBDA_AFTER_HELP)]
pub struct LambdaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LambdaCommand,
}

/// Every `lambda` subcommand.
#[derive(Debug, Subcommand)]
pub enum LambdaCommand {
    /// Relay every invocation of a stack's Python functions to this machine and run it here,
    /// under a borescope session, until Ctrl-C (which restores every function exactly).
    Attach(LambdaAttachArgs),
    /// Restore a stack's functions as they were before `attach` (idempotent; works after a crash
    /// and from another machine).
    Detach(LambdaDetachArgs),
    /// Show which functions are attached, by whom and since when.
    Status(LambdaStatusArgs),
    /// Run one function locally with an event (handler, code and environment from a SAM or
    /// CloudFormation template, no AWS needed; or from the deployed function with --stack; or
    /// --code and --handler), optionally under the debugger.
    Invoke(LambdaInvokeArgs),
}

/// AWS account and region (the standard credential chain: env, profiles, SSO; `AWS_ENDPOINT_URL`
/// honoured).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// The region (else AWS_REGION, AWS_DEFAULT_REGION or the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The profile in ~/.aws/config (else AWS_PROFILE or `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// `borescope lambda attach`.
#[derive(Debug, Args)]
pub struct LambdaAttachArgs {
    /// The CloudFormation (or SAM) stack whose functions to attach; nested stacks included.
    #[arg(long, value_name = "NAME")]
    pub stack: String,
    /// Only this function (logical id or name; repeatable). Default: every Python function.
    #[arg(long = "function", value_name = "NAME")]
    pub functions: Vec<String>,
    /// The local code the handlers are imported from (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub code: Option<PathBuf>,
    /// The functions' timeout while attached, in seconds (1-900): time to pause at breakpoints.
    /// A longer original timeout is kept.
    #[arg(long, value_name = "SECS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=900))]
    pub timeout: u32,
    /// The session invocations run under.
    #[arg(long, short = 's', value_name = "NAME", default_value = "lambda")]
    pub session: String,
    /// Instead of a borescope session, run the invocations under debugpy listening at
    /// [HOST:]PORT for an editor (prints the VS Code launch.json entry).
    #[arg(long, value_name = "[HOST:]PORT")]
    pub listen: Option<String>,
    /// The relay's MQTT-over-WebSocket URL (default: the account's AWS IoT Core endpoint).
    #[arg(long, value_name = "URL", env = EnvVars::BORESCOPE_LAMBDA_RELAY)]
    pub relay: Option<String>,
    /// Take over functions another developer attached (their session stops receiving).
    #[arg(long)]
    pub force: bool,
    /// The Python that runs the handlers locally (default: python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Seconds between "idle" lines when nothing arrives.
    #[arg(long, value_name = "SECS", default_value_t = 60, hide = true)]
    pub heartbeat: u64,
    /// Account and region.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `borescope lambda detach`.
#[derive(Debug, Args)]
pub struct LambdaDetachArgs {
    /// The stack to restore.
    #[arg(long, value_name = "NAME")]
    pub stack: String,
    /// Account and region.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `borescope lambda status`.
#[derive(Debug, Args)]
pub struct LambdaStatusArgs {
    /// Only this stack (default: every stack this machine attached).
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Account and region.
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `borescope lambda invoke`.
#[derive(Debug, Args)]
pub struct LambdaInvokeArgs {
    /// The function: its logical id or FunctionName in the template.
    #[arg(value_name = "FUNCTION")]
    pub function: String,
    /// The event, a JSON file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub event: PathBuf,
    /// The SAM or CloudFormation template (default: template.yaml or template.yml here, when
    /// there is one).
    #[arg(long, value_name = "FILE", conflicts_with = "stack")]
    pub template: Option<PathBuf>,
    /// Take the handler, timeout, memory and environment from the function as deployed in this
    /// stack (its code from --code); the run uses your own AWS credentials, not its role's.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// The code directory (default: the template's CodeUri).
    #[arg(long, value_name = "DIR")]
    pub code: Option<PathBuf>,
    /// The handler, `module.function` (default: the template's).
    #[arg(long, value_name = "MODULE.FUNC")]
    pub handler: Option<String>,
    /// Environment variable for the function (repeatable), over the template's.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Stop at this line (repeatable): the run becomes a session (`--session`) that prints the
    /// stop; `borescope continue` finishes it and its output shows the result.
    #[arg(long = "break", value_name = "FILE:LINE")]
    pub breakpoints: Vec<String>,
    /// The session a run with --break becomes.
    #[arg(long, short = 's', value_name = "NAME", default_value = "lambda")]
    pub session: String,
    /// The Python that runs the handler (default: python3 on PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Seconds to wait for the first stop, or for the result.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Account and region (with --stack).
    #[command(flatten)]
    pub aws: AwsArgs,
}
