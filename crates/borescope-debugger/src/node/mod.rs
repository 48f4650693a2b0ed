//! The Node.js backend: probes and sessions through V8's inspector (CDP over WebSocket).
//!
//! * [`launch`](self::launch): `node --inspect-brk=127.0.0.1:0`, the inspector URL from stderr.
//! * [`session`](self::session): [`NodeSession`], the same commands as the Python backend.
//! * [`probe`](self::probe): a probe built on a session (breakpoints, conditions, hit counts).
//! * `entry`: a program held at its first line until the first run command.
//! * `evaluate`: `eval` in a paused frame, answered in the same shape as Python's.
//! * `report`, `values`, `breakpoints`, `urls`: V8 pauses, values, breakpoints and script URLs
//!   turned into borescope's model.

mod breakpoints;
mod entry;
mod evaluate;
mod events;
mod functions;
mod launch;
mod listing;
mod probe;
mod remote;
mod report;
mod session;
mod urls;
mod values;

pub(crate) use probe::probe;
pub use session::{NodePause, NodeSession};
