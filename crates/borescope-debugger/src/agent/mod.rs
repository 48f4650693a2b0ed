//! The channel between borescope and its Python agent: message types and the socket listener.
//!
//! The agent connects to a Unix socket in a private (0700) temporary directory whose path it
//! gets from `BORESCOPE_AGENT_CHANNEL`, and writes one JSON object per line. Every Python
//! process of the program connects separately (children inherit the variables), so a probe can
//! catch a line that runs in a subprocess. borescope may write requests back (`threads`).

mod listener;
mod messages;

pub use listener::{AgentListener, ConnectionId};
pub use messages::{
    AgentException, AgentFrame, AgentMessage, AgentStop, BadExpression, BadLocation,
    ConditionError, Hello, LineCount, Summary, ThreadFrames,
};
