//! The developer's side of the relay (`docs/lambda-relay.md`): sealed messages, chunks, the
//! MQTT-over-WebSocket connection (AWS IoT Core with a presigned URL, or any broker), and the
//! loop that joins it to the local worker.

pub mod chunk;
pub mod connection;
pub mod messages;
pub mod presign;
pub mod seal;
pub mod serve;

pub use connection::{Publisher, Relay, RelayConfig, RelayError, RelayStats, down_topic, up_topic};
pub use messages::{Invoke, Outcome};
pub use serve::{ServeEnd, ServeEvent, serve};
