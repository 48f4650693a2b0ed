//! The attach loop on the developer's machine: invocations from the relay go to the local
//! worker at once (each acknowledged first, so the shim knows someone is there), answers go
//! back to the execution environment that asked, and every finished invocation, idle period
//! and lost part is reported to the caller as a [`ServeEvent`].

use super::connection::{Relay, RelayError};
use super::messages::{Outcome, ack, now_ms};
use crate::worker::WorkerLink;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// Something the attach loop reports (one line each in the CLI).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServeEvent {
    /// An invocation started locally.
    Started {
        /// The function.
        function: String,
        /// The Lambda request id.
        request_id: String,
        /// Milliseconds from the shim's send to its arrival here.
        relay_ms: i64,
    },
    /// An invocation finished and its answer went back.
    Finished {
        /// The function.
        function: String,
        /// The Lambda request id.
        request_id: String,
        /// Milliseconds from its arrival here to its answer.
        duration_ms: u64,
        /// Ok, or the error's type and message.
        #[serde(flatten)]
        outcome: Outcome,
    },
    /// Nothing arrived for a while; the relay is still connected.
    Idle {
        /// Seconds since the last invocation (or since the start).
        idle_secs: u64,
        /// Invocations served so far.
        served: u64,
    },
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServeEnd {
    /// The caller asked (Ctrl-C, `detach`).
    Shutdown,
    /// The local worker's session ended.
    WorkerGone,
}

struct Pending {
    worker: String,
    function: String,
    arrived: Instant,
}

/// Runs until `shutdown` completes or the worker goes away.
pub async fn serve(
    mut relay: Relay,
    worker: WorkerLink,
    heartbeat: Duration,
    shutdown: impl Future<Output = ()>,
    mut on_event: impl FnMut(ServeEvent),
) -> Result<ServeEnd, RelayError> {
    let publisher = relay.publisher();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut served = 0u64;
    let mut last = Instant::now();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    tokio::pin!(shutdown);
    let end = loop {
        tokio::select! {
            () = &mut shutdown => break ServeEnd::Shutdown,
            invoke = relay.next_invoke() => {
                let invoke = invoke?;
                if let Err(e) = publisher.send(&invoke.w, &ack(&invoke.id)).await {
                    tracing::warn!("cannot acknowledge {}: {e}", invoke.id);
                }
                on_event(ServeEvent::Started { function: invoke.function.clone(), request_id: invoke.id.clone(), relay_ms: now_ms() - invoke.ts });
                pending.insert(invoke.id.clone(), Pending { worker: invoke.w.clone(), function: invoke.function.clone(), arrived: Instant::now() });
                let frame = match serde_json::to_value(&invoke) { Ok(frame) => frame, Err(_) => continue };
                if worker.send(&frame).await.is_err() {
                    break ServeEnd::WorkerGone;
                }
                last = Instant::now();
            }
            answer = worker.next_answer() => {
                let Some(answer) = answer else { break ServeEnd::WorkerGone };
                let Some(id) = answer.get("id").and_then(|id| id.as_str()).map(str::to_string) else { continue };
                let Some(done) = pending.remove(&id) else { continue };
                if let Err(e) = publisher.send(&done.worker, &answer).await {
                    tracing::warn!("cannot send the answer for {id}: {e}");
                }
                served += 1;
                last = Instant::now();
                on_event(ServeEvent::Finished { function: done.function, request_id: id, duration_ms: done.arrived.elapsed().as_millis() as u64, outcome: Outcome::of(&answer) });
            }
            _ = ticker.tick() => {
                if last.elapsed() >= heartbeat {
                    on_event(ServeEvent::Idle { idle_secs: last.elapsed().as_secs(), served });
                }
            }
        }
    };
    // Invocations still running locally get an answer now, rather than waiting in Lambda until
    // their deadline.
    for (id, left) in pending {
        let message = serde_json::json!({
            "t": "error", "id": id, "ts": now_ms(), "type": "Borescope.Detached",
            "message": "the developer's borescope stopped while this invocation ran on their machine", "stack": []
        });
        let _ = publisher.send(&left.worker, &message).await;
    }
    Ok(end)
}
