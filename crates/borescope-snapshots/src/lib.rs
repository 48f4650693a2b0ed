//! Live snapshots, client side: everything the CLI (`borescope snap`, `borescope run`) and MCP
//! do with a `borescope server`, over its HTTP API (`borescope-snapshots-api`).
//!
//! * [`ServerUrl`] and [`Client`]: plain `http://` only in this version (https is refused with
//!   the fix: loopback or a tunnel), the admin token as a bearer token, bounded answers, and
//!   typed errors ([`SnapError`]) that say what to do: no server there, token missing or
//!   wrong, the server's own message for a refused request.
//! * [`input`]: checks on what the user typed (`FILE:LINE`, names, durations, limits, the safe
//!   expression subset) before any request is sent.
//! * [`probes`]: create a probe and wait until every live instance of the service reported on
//!   it; list, show, delete, enable and disable. [`instances`]: the agents the server knows.
//!   [`keys`]: agent keys. [`services`]: the services and their exception-snapshot setting.
//! * [`hits`]: snapshots, a bounded list across pages, or followed as they arrive (the
//!   server's long poll).
//! * [`job`]: what the agent inside a service is told, for `borescope run` (its environment)
//!   and `snap attach` (the PEP 768 jobs; the binary runs them with `borescope-attach`).
//! * [`reports`]: the `--json` objects.
//!
//! Text rendering lives in `borescope-render` (`snapshots`); nothing here prints.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Reason: everything here reads what a server (or something else on its port) sent.

mod client;
mod error;
pub mod hits;
pub mod input;
pub mod instances;
pub mod job;
pub mod keys;
pub mod probes;
pub mod reports;
mod server_url;
pub mod services;

pub use client::Client;
pub use error::SnapError;
pub use input::ProbeInput;
pub use job::AgentJob;
pub use server_url::ServerUrl;

/// Now, in Unix milliseconds (the unit of every time in the API).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
