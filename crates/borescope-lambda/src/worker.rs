//! The local worker's socket (`docs/lambda-relay.md` §7): the CLI listens on a Unix socket in
//! a private directory, the worker (`python -m borescope_agent.lambda_worker`, the program of a
//! borescope session) connects once and says `hello`; invocations go down and answers come
//! back as length-prefixed JSON frames.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{Mutex, mpsc};

/// The largest frame either side sends (an invocation is bounded by Lambda's 6 MB).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Why the worker could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The socket could not be created.
    #[error("cannot listen for the local worker at {path}: {source}")]
    Listen {
        /// The socket path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The worker did not connect in time.
    #[error("the local Python worker did not connect within {0} s (see the session's output: `borescope output --session NAME`)")]
    NoHello(u64),
    /// The worker's connection broke.
    #[error("the local Python worker's connection closed")]
    Gone,
}

/// A socket the worker will connect to.
pub struct WorkerListener {
    path: PathBuf,
    listener: UnixListener,
}

impl WorkerListener {
    /// Listens on `dir/worker.sock` (`dir` should be private to the user).
    pub fn bind(dir: &Path) -> Result<WorkerListener, WorkerError> {
        let path = dir.join("worker.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(|source| WorkerError::Listen { path: path.clone(), source })?;
        Ok(WorkerListener { path, listener })
    }

    /// The socket's path, for `BORESCOPE_LAMBDA_WORKER_SOCKET`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the worker's connection and its `hello`.
    pub async fn accept(self, timeout: Duration) -> Result<(WorkerLink, serde_json::Value), WorkerError> {
        let accepted = tokio::time::timeout(timeout, async {
            let (stream, _) = self.listener.accept().await.ok()?;
            let (mut read, write) = stream.into_split();
            let hello = read_frame(&mut read).await?;
            Some((read, write, hello))
        })
        .await;
        let _ = std::fs::remove_file(&self.path);
        let Ok(Some((mut read, write, hello))) = accepted else {
            return Err(WorkerError::NoHello(timeout.as_secs()));
        };
        let (tx, answers) = mpsc::channel(256);
        tokio::spawn(async move {
            while let Some(frame) = read_frame(&mut read).await {
                if tx.send(frame).await.is_err() {
                    break;
                }
            }
        });
        Ok((WorkerLink { write: Mutex::new(write), answers: Mutex::new(answers) }, hello))
    }
}

async fn read_frame(read: &mut tokio::net::unix::OwnedReadHalf) -> Option<serde_json::Value> {
    let mut len = [0u8; 4];
    read.read_exact(&mut len).await.ok()?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        tracing::warn!("the worker sent a frame of {len} bytes; closing");
        return None;
    }
    let mut body = vec![0u8; len];
    read.read_exact(&mut body).await.ok()?;
    match serde_json::from_slice(&body) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!("the worker sent a frame that is not JSON: {e}");
            None
        }
    }
}

/// The connected worker.
pub struct WorkerLink {
    write: Mutex<OwnedWriteHalf>,
    answers: Mutex<mpsc::Receiver<serde_json::Value>>,
}

impl WorkerLink {
    /// Sends one frame (an `invoke` or `bye`).
    pub async fn send(&self, message: &serde_json::Value) -> Result<(), WorkerError> {
        let body = serde_json::to_vec(message).map_err(|_| WorkerError::Gone)?;
        let mut write = self.write.lock().await;
        write.write_all(&(body.len() as u32).to_be_bytes()).await.map_err(|_| WorkerError::Gone)?;
        write.write_all(&body).await.map_err(|_| WorkerError::Gone)
    }

    /// The next answer (`result` or `error`); `None` once the worker is gone.
    pub async fn next_answer(&self) -> Option<serde_json::Value> {
        self.answers.lock().await.recv().await
    }
}
