//! The agent debugger capability: one-shot probes and the backends of interactive sessions.
//!
//! * [`probe`] runs a program until a line runs and reports (Python through the embedded agent,
//!   Node through CDP).
//! * [`session`] holds one interactive debuggee (Python through debugpy/DAP, Node through CDP)
//!   and answers session commands with model types.
//! * Shared pieces: [`command`] (what to run, which language), [`locate`] (checking
//!   `FILE:LINE`), [`process`] (process groups and output capture), [`frames`] (user vs library
//!   frames), [`source`] (source context), [`agent`] (the channel to the Python agent).
//!
//! Nothing here prints; results are `borescope-model` values for the front doors to render.

#![deny(missing_docs)]

pub mod agent;
pub mod command;
mod error;
pub mod frames;
pub mod locate;
pub mod node;
pub mod output;
mod parent_death;
pub mod preflight;
pub mod probe;
pub mod process;
mod redact;
pub mod session;
pub mod debugpy;
pub mod source;

pub use error::{DebuggerError, LocationProblem};
pub use probe::{probe, ProbeRequest};
