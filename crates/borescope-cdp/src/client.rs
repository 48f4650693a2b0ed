//! The WebSocket client: one reader task, results matched by `id`, events streamed.

use crate::commands::Command;
use crate::CdpError;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// At most 500 bytes of a message, for trace logs.
fn truncate(text: &str) -> &str {
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A CDP event: method and params.
#[derive(Debug, Clone)]
pub struct Event {
    /// e.g. `Debugger.paused`.
    pub method: String,
    /// The params object.
    pub params: Value,
}

type Pending = Arc<Mutex<HashMap<u64, (String, oneshot::Sender<Result<Value, String>>)>>>;
type Sink = SplitSink<WebSocketStream<QuickAck>, Message>;

/// A TCP stream that acknowledges every read at once. V8's inspector writes an event and the
/// reply to a command as separate segments without TCP_NODELAY, so with our kernel's delayed
/// ACK each such reply waited ~40 ms; quick ACKs (re-armed after every read, since Linux
/// clears the flag) remove that wait.
struct QuickAck(TcpStream);

impl AsyncRead for QuickAck {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.0).poll_read(cx, buf);
        if polled.is_ready() {
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A connection to an inspector (`ws://127.0.0.1:PORT/UUID`).
pub struct CdpClient {
    sink: tokio::sync::Mutex<Sink>,
    pending: Pending,
    next_id: AtomicU64,
}

impl CdpClient {
    /// Connects; returns the client and the stream of events (ending when the socket closes).
    pub async fn connect(url: &str) -> Result<(CdpClient, mpsc::UnboundedReceiver<Event>), CdpError> {
        let authority = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| CdpError::WebSocket(format!("not a ws:// URL: {url}")))?;
        let tcp = TcpStream::connect(authority)
            .await
            .map_err(|e| CdpError::WebSocket(e.to_string()))?;
        // Small request/response messages: never hold one back for coalescing.
        tcp.set_nodelay(true).map_err(|e| CdpError::WebSocket(e.to_string()))?;
        let (socket, _) = tokio_tungstenite::client_async_with_config(url, QuickAck(tcp), None)
            .await
            .map_err(|e| CdpError::WebSocket(e.to_string()))?;
        let (sink, mut stream) = socket.split();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let (tx, rx) = mpsc::unbounded_channel();
        let reader_pending = pending.clone();
        tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                let text = match message {
                    Ok(Message::Text(text)) => text.to_string(),
                    Ok(Message::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                let value: Value = match serde_json::from_str(&text) {
                    Ok(value) => value,
                    Err(error) => {
                        tracing::warn!(%error, "undecodable CDP message skipped");
                        continue;
                    }
                };
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let waiter = reader_pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    if let Some((_, sender)) = waiter {
                        let result = match value.get("error") {
                            Some(error) => Err(error
                                .get("message")
                                .and_then(Value::as_str)
                                .unwrap_or("unknown error")
                                .to_string()),
                            None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = sender.send(result);
                    }
                } else if let Some(method) = value.get("method").and_then(Value::as_str) {
                    let event = Event {
                        method: method.to_string(),
                        params: value.get("params").cloned().unwrap_or(Value::Null),
                    };
                    tracing::trace!(method = %event.method, params = %truncate(&event.params.to_string()), "cdp event");
                    let _ = tx.send(event);
                }
            }
            reader_pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        });
        Ok((
            CdpClient {
                sink: tokio::sync::Mutex::new(sink),
                pending,
                next_id: AtomicU64::new(1),
            },
            rx,
        ))
    }

    /// Sends a command and waits for its result.
    pub async fn call<C: Command>(&self, params: C::Params) -> Result<C::Result, CdpError> {
        let value = self.call_raw(C::METHOD, serde_json::to_value(params)?).await?;
        Ok(serde_json::from_value(value)?)
    }

    /// Sends a command by name with raw params.
    pub async fn call_raw(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (method.to_string(), tx));
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        tracing::trace!(method, id, "cdp command");
        let sent = self.sink.lock().await.send(Message::text(text)).await;
        if let Err(error) = sent {
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            return Err(CdpError::WebSocket(error.to_string()));
        }
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(CdpError::Failed {
                method: method.to_string(),
                message,
            }),
            Err(_) => Err(CdpError::Closed(method.to_string())),
        }
    }

    /// Closes the connection (a Node program waiting for the debugger to disconnect then exits).
    pub async fn close(&self) {
        let mut sink = self.sink.lock().await;
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
    }
}
