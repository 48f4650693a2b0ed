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

/// Sends one request to this build's daemon (started on demand) and reads the response.
///
/// Each build has its own daemon directory, so the daemon found there is normally ours. Should
/// it still answer that it comes from another build (two builds whose ids collide), it is
/// replaced only if it has no live sessions (it refuses otherwise) and asked again.
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

/// Makes sure this build's daemon listens, starting `exe daemon` in the background if none
/// does. A daemon that exits at once because another still holds the lock (one that is just
/// exiting after its idle time) is started again until one listens or the time is up.
pub async fn ensure_daemon(paths: &RuntimePaths, exe: &Path) -> Result<(), IpcError> {
    paths.ensure()?;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match start_daemon(paths, exe, deadline).await? {
            Started::Listening => return Ok(()),
            Started::LostTheLock if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Started::LostTheLock => {
                return Err(IpcError::NotStarted {
                    log: paths.log(),
                    message: format!(
                        "another session daemon holds `{}` but did not answer within {}s",
                        paths.lock().display(),
                        START_TIMEOUT.as_secs()
                    ),
                })
            }
        }
    }
}

/// What one attempt to start the daemon came to.
enum Started {
    /// A daemon listens (ours or one that was already there).
    Listening,
    /// Ours exited successfully without listening: another daemon held the lock.
    LostTheLock,
}

async fn start_daemon(paths: &RuntimePaths, exe: &Path, deadline: tokio::time::Instant) -> Result<Started, IpcError> {
    if UnixStream::connect(paths.socket()).await.is_ok() {
        return Ok(Started::Listening);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log())
        .map_err(|source| IpcError::Io {
            path: paths.log(),
            source,
        })?;
    // The running executable's own image (`/proc/self/exe` still reaches it when the file was
    // replaced since this process started), told which build it serves.
    let own_image = Path::new("/proc/self/exe");
    let program = if own_image.exists() { own_image } else { exe };
    let mut command = Command::new(program);
    command
        .arg("daemon")
        .env(borescope_static::EnvVars::BORESCOPE_RUNTIME_DIR, &paths.dir)
        .env(borescope_static::EnvVars::BORESCOPE_DAEMON_BUILD, crate::protocol::build_identity())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|e| IpcError::NotStarted {
        log: paths.log(),
        message: format!("cannot run `{}`: {e}", exe.display()),
    })?;
    loop {
        if UnixStream::connect(paths.socket()).await.is_ok() {
            // The daemon keeps running on its own; reap it in the background when it exits.
            std::thread::spawn(move || child.wait());
            return Ok(Started::Listening);
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another daemon may have won the race for the lock: that is fine if it listens.
            if UnixStream::connect(paths.socket()).await.is_ok() {
                return Ok(Started::Listening);
            }
            if status.success() {
                return Ok(Started::LostTheLock);
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
