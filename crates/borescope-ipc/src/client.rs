//! The client side: one request per connection, starting the daemon on first use.

use crate::protocol::{build_identity, Envelope, ErrorKind, Request, Response, PROTOCOL_VERSION};
use crate::runtime::RuntimePaths;
use crate::IpcError;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long a freshly started daemon may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one request and reads the response. A daemon from another build that has no live
/// sessions is shut down, replaced by one of ours (`exe daemon`) and asked again.
pub async fn call(paths: &RuntimePaths, exe: &Path, request: &Request) -> Result<Response, IpcError> {
    call_with_fd(paths, exe, request, None).await
}

/// Like [`call`], handing `fd` (the caller's standard input) to the daemon with the request.
pub async fn call_with_fd(
    paths: &RuntimePaths,
    exe: &Path,
    request: &Request,
    fd: Option<BorrowedFd<'_>>,
) -> Result<Response, IpcError> {
    ensure_daemon(paths, exe).await?;
    let response = send(paths, request, fd).await?;
    if let Response::Error { kind: ErrorKind::Version, .. } = &response
        && let Response::Ok { .. } = call_once(paths, &Request::Shutdown).await? {
            wait_gone(paths).await;
            ensure_daemon(paths, exe).await?;
            return send(paths, request, fd).await;
        }
    Ok(response)
}

/// Waits (up to 5 s) until the daemon socket stops accepting.
async fn wait_gone(paths: &RuntimePaths) {
    for _ in 0..500 {
        if UnixStream::connect(paths.socket()).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends one request to whatever daemon listens, without starting or replacing one.
pub async fn call_once(paths: &RuntimePaths, request: &Request) -> Result<Response, IpcError> {
    send(paths, request, None).await
}

async fn send(paths: &RuntimePaths, request: &Request, fd: Option<BorrowedFd<'_>>) -> Result<Response, IpcError> {
    let socket = paths.socket();
    let io = |source| IpcError::Io {
        path: socket.clone(),
        source,
    };
    let stream = UnixStream::connect(&socket).await.map_err(io)?;
    let mut line = serde_json::to_vec(&Envelope {
        version: PROTOCOL_VERSION,
        build: build_identity(),
        request: request.clone(),
    })?;
    line.push(b'\n');
    let sent = match fd {
        Some(fd) => crate::fdpass::send_first_with_fd(&stream, &line, fd).await.map_err(io)?,
        None => 0,
    };
    let (read, mut write) = stream.into_split();
    write.write_all(&line[sent..]).await.map_err(io)?;
    write.flush().await.map_err(io)?;
    let mut reader = BufReader::new(read);
    let mut answer = String::new();
    let n = reader.read_line(&mut answer).await.map_err(io)?;
    if n == 0 {
        return Err(IpcError::NoAnswer(paths.log()));
    }
    Ok(serde_json::from_str(&answer)?)
}

/// Makes sure a daemon listens, starting `exe daemon` in the background if none does.
pub async fn ensure_daemon(paths: &RuntimePaths, exe: &Path) -> Result<(), IpcError> {
    paths.ensure()?;
    if UnixStream::connect(paths.socket()).await.is_ok() {
        return Ok(());
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log())
        .map_err(|source| IpcError::Io {
            path: paths.log(),
            source,
        })?;
    let mut command = Command::new(exe);
    command
        .arg("daemon")
        .env(borescope_static::EnvVars::BORESCOPE_RUNTIME_DIR, &paths.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|e| IpcError::NotStarted {
        log: paths.log(),
        message: format!("cannot run `{}`: {e}", exe.display()),
    })?;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if UnixStream::connect(paths.socket()).await.is_ok() {
            // The daemon keeps running on its own; reap it in the background when it exits.
            std::thread::spawn(move || child.wait());
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another daemon may have won the race for the lock: that is fine if it listens.
            if UnixStream::connect(paths.socket()).await.is_ok() {
                return Ok(());
            }
            return Err(IpcError::NotStarted {
                log: paths.log(),
                message: format!("it exited with {status}"),
            });
        }
        if tokio::time::Instant::now() > deadline {
            return Err(IpcError::NotStarted {
                log: paths.log(),
                message: format!("no answer within {}s", START_TIMEOUT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
