//! The live-snapshot HTTP API (`/api/v1`), as plain serde types shared by `borescope server`,
//! the CLI/MCP client, and (as documented JSON, `docs/snapshots-api.md`) the Python agent.
//!
//! Two audiences use the API with two kinds of credential:
//!
//! * people, the CLI and MCP, with the server's admin token: probes, instances, snapshots, keys
//!   ([`people`]);
//! * agents inside services, with an agent key bound to one service: register, long-poll the
//!   service's probes, upload snapshot batches, report per-probe status ([`agent`]).
//!
//! A snapshot ([`Snapshot`]) reuses `borescope-model`'s frame, variable and source types, so
//! the CLI prints it with the same formatter as a probe's stop.
//!
//! Also here, because the server and the client both need them: [`duration`] (`30s`, `1h`),
//! [`limits`] (defaults and maxima) and [`expr`] (the safe expression subset, checked before a
//! probe is stored; the agent checks it again before use).
//!
//! This crate does no I/O.

#![deny(missing_docs)]

pub mod agent;
pub mod duration;
pub mod expr;
pub mod limits;
pub mod people;
mod snapshot;

pub use snapshot::{
    ChainedException, ExceptionInfo, ExceptionOrigin, FrameLocals, Snapshot, SnapshotData, SnapshotKind, SNAPSHOT_SCHEMA,
};

/// Every path of the API is under this prefix.
pub const API_PREFIX: &str = "/api/v1";

/// The error body of every non-2xx answer: `{"error": "not_found", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiErrorBody {
    /// A stable machine-readable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `too_large`, `internal`.
    pub error: String,
    /// One line for a person, naming the fix where there is one.
    pub message: String,
}
