//! The async DAP client: one reader task, responses matched by `request_seq`, events streamed.

use crate::codec::{read_frame, write_frame};
use crate::requests::Request;
use crate::DapError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{mpsc, oneshot};

/// A DAP event: its name and body (decode the body with the types in [`crate::events`]).
#[derive(Debug, Clone)]
pub struct Event {
    /// The `event` field.
    pub event: String,
    /// The `body` field (`null` when absent).
    pub body: Value,
}

struct RawResponse {
    success: bool,
    message: Option<String>,
    body: Value,
}

/// Requests awaiting their response; `None` once the connection has closed, so a request sent
/// after that fails at once instead of waiting for an answer that cannot come.
type Pending = Arc<Mutex<Option<Waiters>>>;

/// Request seq → (command, where its response goes).
type Waiters = HashMap<i64, (String, oneshot::Sender<RawResponse>)>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// A DAP connection. Cheap to share behind an `Arc`; requests may be sent concurrently.
pub struct DapClient {
    writer: tokio::sync::Mutex<Writer>,
    pending: Pending,
    seq: AtomicI64,
}

/// A request that was sent; await [`PendingResponse::wait`] for its body.
pub struct PendingResponse<T> {
    command: &'static str,
    receiver: oneshot::Receiver<RawResponse>,
    _body: PhantomData<T>,
}

impl<T: DeserializeOwned> PendingResponse<T> {
    /// Waits for the response and decodes its body.
    pub async fn wait(self) -> Result<T, DapError> {
        let raw = self
            .receiver
            .await
            .map_err(|_| DapError::Closed(self.command.to_string()))?;
        if !raw.success {
            return Err(DapError::Failed {
                command: self.command.to_string(),
                message: raw.message.unwrap_or_else(|| "no reason given".into()),
            });
        }
        Ok(serde_json::from_value(raw.body)?)
    }
}

impl DapClient {
    /// Starts a client over a reader and writer; returns it with the stream of events. The
    /// event stream ends when the connection closes.
    pub fn new<R, W>(reader: R, writer: W) -> (DapClient, mpsc::UnboundedReceiver<Event>)
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let client = DapClient {
            writer: tokio::sync::Mutex::new(Box::new(writer)),
            pending: pending.clone(),
            seq: AtomicI64::new(1),
        };
        tokio::spawn(read_loop(BufReader::new(reader), pending, events_tx));
        (client, events_rx)
    }

    /// Connects over TCP.
    pub async fn connect_tcp(
        addr: std::net::SocketAddr,
    ) -> Result<(DapClient, mpsc::UnboundedReceiver<Event>), DapError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(DapClient::new(reader, writer))
    }

    /// Sends a request without waiting for its response.
    pub async fn send<R: Request>(
        &self,
        arguments: R::Arguments,
    ) -> Result<PendingResponse<R::Response>, DapError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        match self.lock_pending().as_mut() {
            Some(pending) => pending.insert(seq, (R::COMMAND.to_string(), tx)),
            None => return Err(DapError::Closed(R::COMMAND.to_string())),
        };
        let message = json!({
            "seq": seq,
            "type": "request",
            "command": R::COMMAND,
            "arguments": arguments,
        });
        let body = serde_json::to_vec(&message)?;
        tracing::trace!(command = R::COMMAND, seq, "dap request");
        let mut writer = self.writer.lock().await;
        if let Err(error) = write_frame(&mut *writer, &body).await {
            if let Some(pending) = self.lock_pending().as_mut() {
                pending.remove(&seq);
            }
            return Err(error);
        }
        Ok(PendingResponse {
            command: R::COMMAND,
            receiver: rx,
            _body: PhantomData,
        })
    }

    /// Sends a request and waits for its response.
    pub async fn request<R: Request>(&self, arguments: R::Arguments) -> Result<R::Response, DapError> {
        self.send::<R>(arguments).await?.wait().await
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Option<Waiters>> {
        // A poisoned lock only means another task panicked mid-insert; the map is still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    pending: Pending,
    events: mpsc::UnboundedSender<Event>,
) {
    loop {
        let body = match read_frame(&mut reader).await {
            Ok(Some(body)) => body,
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(%error, "dap connection ended");
                break;
            }
        };
        let message: Value = match serde_json::from_slice(&body) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "undecodable DAP message skipped");
                continue;
            }
        };
        match message.get("type").and_then(Value::as_str) {
            Some("response") => {
                let Some(request_seq) = message.get("request_seq").and_then(Value::as_i64) else {
                    continue;
                };
                let waiter = pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_mut()
                    .and_then(|p| p.remove(&request_seq));
                if let Some((command, tx)) = waiter {
                    tracing::trace!(%command, request_seq, "dap response");
                    let raw = RawResponse {
                        success: message.get("success").and_then(Value::as_bool).unwrap_or(false),
                        message: message
                            .get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        body: message.get("body").cloned().unwrap_or(Value::Null),
                    };
                    let _ = tx.send(raw);
                }
            }
            Some("event") => {
                let event = Event {
                    event: message
                        .get("event")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    body: message.get("body").cloned().unwrap_or(Value::Null),
                };
                tracing::trace!(event = %event.event, "dap event");
                // Nobody may listen for events any more; responses are still served.
                let _ = events.send(event);
            }
            Some("request") => {
                // Reverse requests (runInTerminal, startDebugging) never come from an in-process
                // pydevd; borescope starts programs itself.
                tracing::debug!(command = ?message.get("command"), "reverse request ignored");
            }
            _ => tracing::warn!("DAP message without a known type skipped"),
        }
    }
    // Dropping the senders wakes every waiter with `Closed`; later requests fail at once.
    pending.lock().unwrap_or_else(|e| e.into_inner()).take();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{Evaluate, EvaluateArguments};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

    /// A scripted adapter: answers the first request with the given body, then sends an event
    /// and closes.
    #[tokio::test]
    async fn matches_responses_and_streams_events() {
        let (client_side, adapter_side) = tokio::io::duplex(4096);
        let (client_read, client_write) = tokio::io::split(client_side);
        let (client, mut events) = DapClient::new(client_read, client_write);
        let adapter = tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(adapter_side);
            let mut read = BufReader::new(read);
            let body = read_frame(&mut read).await.unwrap().unwrap();
            let request: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(request["command"], "evaluate");
            let seq = request["seq"].as_i64().unwrap();
            let event = json!({"seq": 1, "type": "event", "event": "output", "body": {"output": "hi"}});
            write_frame(&mut write, &serde_json::to_vec(&event).unwrap()).await.unwrap();
            let response = json!({"seq": 2, "type": "response", "request_seq": seq, "success": true,
                "command": "evaluate", "body": {"result": "42", "variablesReference": 0}});
            write_frame(&mut write, &serde_json::to_vec(&response).unwrap()).await.unwrap();
            write.shutdown().await.unwrap();
            let mut rest = String::new();
            let _ = read.read_line(&mut rest).await;
        });
        let response = client
            .request::<Evaluate>(EvaluateArguments {
                expression: "6*7".into(),
                frame_id: None,
                context: "repl".into(),
                format: None,
            })
            .await
            .unwrap();
        assert_eq!(response.result, "42");
        let event = events.recv().await.unwrap();
        assert_eq!(event.event, "output");
        assert!(events.recv().await.is_none(), "stream ends when the connection closes");
        drop(client);
        adapter.await.unwrap();
    }

    #[tokio::test]
    async fn failed_and_unanswered_requests_are_errors() {
        let (client_side, adapter_side) = tokio::io::duplex(4096);
        let (client_read, client_write) = tokio::io::split(client_side);
        let (client, _events) = DapClient::new(client_read, client_write);
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(adapter_side);
            let mut read = BufReader::new(read);
            let body = read_frame(&mut read).await.unwrap().unwrap();
            let request: Value = serde_json::from_slice(&body).unwrap();
            let response = json!({"seq": 1, "type": "response", "request_seq": request["seq"],
                "success": false, "command": "evaluate", "message": "name 'x' is not defined"});
            write_frame(&mut write, &serde_json::to_vec(&response).unwrap()).await.unwrap();
            let _ = read_frame(&mut read).await; // second request arrives, then we hang up
        });
        let args = || EvaluateArguments { expression: "x".into(), frame_id: None, context: "repl".into(), format: None };
        let err = client.request::<Evaluate>(args()).await.unwrap_err();
        assert!(matches!(err, DapError::Failed { ref message, .. } if message.contains("not defined")));
        let err = client.request::<Evaluate>(args()).await.unwrap_err();
        assert!(matches!(err, DapError::Closed(_)), "{err}");
        // After the hang-up, a request fails at once, even though writing it may succeed
        // (the other side's socket can still take bytes after its process went away).
        let err = tokio::time::timeout(std::time::Duration::from_secs(5), client.request::<Evaluate>(args()))
            .await
            .expect("a request after the hang-up must not wait for an answer")
            .unwrap_err();
        assert!(matches!(err, DapError::Closed(_)), "{err}");
    }
}
