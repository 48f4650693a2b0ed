//! The Unix-socket server the agents of one program connect to.

use super::AgentMessage;
use crate::DebuggerError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Identifies one agent connection (one process).
pub type ConnectionId = u64;

type Writers = Arc<Mutex<HashMap<ConnectionId, OwnedWriteHalf>>>;

/// Accepts agent connections and turns their lines into [`AgentMessage`]s.
pub struct AgentListener {
    _dir: tempfile::TempDir,
    path: PathBuf,
    messages: mpsc::UnboundedReceiver<(ConnectionId, AgentMessage)>,
    writers: Writers,
    accept: JoinHandle<()>,
    open: tokio::sync::watch::Receiver<usize>,
}

impl AgentListener {
    /// Binds a socket in a new private (0700) temporary directory.
    pub fn bind() -> Result<AgentListener, DebuggerError> {
        let dir = tempfile::Builder::new()
            .prefix("borescope-")
            .tempdir()
            .map_err(DebuggerError::io("creating the agent channel directory"))?;
        let path = dir.path().join("agent.sock");
        let listener =
            UnixListener::bind(&path).map_err(DebuggerError::io("binding the agent channel"))?;
        let (tx, messages) = mpsc::unbounded_channel();
        let writers: Writers = Arc::new(Mutex::new(HashMap::new()));
        let (open_tx, open) = tokio::sync::watch::channel(0usize);
        let accept = tokio::spawn(accept_loop(listener, tx, writers.clone(), Arc::new(open_tx)));
        Ok(AgentListener {
            _dir: dir,
            path,
            messages,
            writers,
            accept,
            open,
        })
    }

    /// The socket path to give the agent.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next message from any agent.
    pub async fn recv(&mut self) -> Option<(ConnectionId, AgentMessage)> {
        self.messages.recv().await
    }

    /// Messages still in flight after the program exited: everything sent before each agent
    /// connection closed, waiting at most `limit` for connections to close.
    pub async fn drain(&mut self, limit: std::time::Duration) -> Vec<(ConnectionId, AgentMessage)> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut open = self.open.clone();
        let _ = tokio::time::timeout_at(deadline, open.wait_for(|n| *n == 0)).await;
        let mut drained = Vec::new();
        while let Ok(item) = self.messages.try_recv() {
            drained.push(item);
        }
        drained
    }

    /// Sends a request line to every connected agent; returns how many got it.
    pub async fn broadcast(&self, message: &serde_json::Value) -> usize {
        let mut line = message.to_string();
        line.push('\n');
        let writers: Vec<(ConnectionId, OwnedWriteHalf)> = {
            let mut map = self.writers.lock().unwrap_or_else(|e| e.into_inner());
            map.drain().collect()
        };
        let mut sent = 0;
        let mut kept = Vec::new();
        for (id, mut writer) in writers {
            if writer.write_all(line.as_bytes()).await.is_ok() {
                sent += 1;
                kept.push((id, writer));
            }
        }
        self.writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(kept);
        sent
    }

    /// Closes every connection: agents waiting for borescope see end-of-file and go on.
    pub fn close_all(&self) {
        self.writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl Drop for AgentListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(
    listener: UnixListener,
    tx: mpsc::UnboundedSender<(ConnectionId, AgentMessage)>,
    writers: Writers,
    open: Arc<tokio::sync::watch::Sender<usize>>,
) {
    let mut next: ConnectionId = 0;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        next += 1;
        let id = next;
        let (read, write) = stream.into_split();
        writers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, write);
        let tx = tx.clone();
        let open = open.clone();
        open.send_modify(|n| *n += 1);
        tokio::spawn(async move {
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<AgentMessage>(&line) {
                    Ok(message) => {
                        if tx.send((id, message)).is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "unreadable agent message skipped");
                    }
                }
            }
            open.send_modify(|n| *n = n.saturating_sub(1));
        });
    }
}
