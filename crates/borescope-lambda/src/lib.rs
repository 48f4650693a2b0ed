//! Lambda live debugging: the invocations of a deployed stack's Python functions run on the
//! developer's machine, under a borescope session.
//!
//! - [`aws`]: the control plane with the caller's credentials (the AWS SDK for Rust): the
//!   stack's functions, instrumenting them (layer, exec wrapper, timeout, relay policy) with the
//!   originals recorded in a local state file and in each function's own environment, and
//!   restoring them exactly.
//! - [`relay`]: the MQTT-over-WebSocket side on the developer's machine: sealed messages
//!   (`docs/lambda-relay.md`), chunks, the IoT Core endpoint and its SigV4-presigned URL.
//! - [`worker`]: the local Python worker that runs handlers, reached over a Unix socket.
//! - [`template`]: handlers, code directories and environments from SAM or CloudFormation
//!   templates, for `lambda invoke`.

pub mod aws;
pub mod relay;
pub mod template;
pub mod worker;
