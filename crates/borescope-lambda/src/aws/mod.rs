//! The AWS control plane of Lambda live debugging, with the caller's own credentials:
//!
//! - [`account`]: connecting (region, credentials, who the caller is) and the service clients;
//! - [`stack`]: a stack's functions, nested stacks included, non-Python ones refused;
//! - [`attach`] / [`detach`] / [`status`]: instrumenting functions, restoring them exactly,
//!   and saying what is instrumented by whom; [`deployed`]: a function's handler and
//!   environment for a local run;
//! - [`record`]: the `BORESCOPE_LAMBDA` record each instrumented function carries
//!   (docs/lambda-relay.md §1), [`state`]: the local state file;
//! - [`layer`]: borescope's layer zip and its publication, [`policy`]: the relay policy on
//!   the functions' roles;
//! - `functions` and `retry`: reading and updating one function, waiting and retrying.
//!
//! Every failure is an [`AwsError`] naming the missing permission, resource or setting.

pub mod account;
pub mod attach;
pub mod deployed;
pub mod detach;
pub mod error;
mod functions;
pub mod layer;
pub mod policy;
pub mod record;
pub mod report;
mod retry;
pub mod stack;
pub mod state;
pub mod status;

pub use account::{Aws, AwsOptions};
pub use attach::{AttachPlan, RelaySettings, attach};
pub use deployed::{DeployedFunction, deployed_function};
pub use detach::detach;
pub use error::AwsError;
pub use layer::LayerZip;
pub use report::{
    AttachReport, AttachedFunction, DetachReport, DetachedFunction, FunctionStatus, LocalAttach,
    Progress, ProgressFn, RestoreSource, StatusReport,
};
pub use stack::{RefusedFunction, StackFunction, StackFunctions, stack_functions};
pub use status::status;
