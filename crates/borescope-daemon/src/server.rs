//! The socket server: lock, bind, accept, check the peer, answer, exit when idle or signalled.

use crate::handlers::{handle, stop_all, Context};
use crate::registry::Registry;
use borescope_ipc::protocol::{build_identity, Envelope, PROTOCOL_VERSION};
use borescope_ipc::runtime::RuntimePaths;
use borescope_ipc::{ErrorKind, Request, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Mutex};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The runtime directory is unusable.
    #[error(transparent)]
    Runtime(#[from] borescope_ipc::IpcError),
    /// Socket or lock trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Largest request accepted, in bytes (a start request carries the caller's environment).
const MAX_REQUEST: usize = 8 * 1024 * 1024;

/// Runs the daemon until it is idle for `idle`, told to shut down, or signalled. Returns at
/// once (successfully) if another daemon already holds the lock.
pub async fn run(paths: RuntimePaths, idle: Duration) -> Result<(), DaemonError> {
    paths.ensure()?;
    let io = |context: &str| {
        let context = context.to_string();
        move |source| DaemonError::Io { context, source }
    };
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(paths.lock())
        .map_err(io("opening the daemon lock"))?;
    let _lock = match nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err(_) => {
            tracing::info!("another session daemon holds the lock; exiting");
            return Ok(());
        }
    };
    let socket = paths.socket();
    let _ = std::fs::remove_file(&socket); // stale socket from a dead daemon
    let listener = UnixListener::bind(&socket).map_err(io("binding the daemon socket"))?;
    tracing::info!(socket = %socket.display(), pid = std::process::id(), "session daemon listening");
    let _ = std::fs::write(paths.pid(), std::process::id().to_string());
    let ctx = Arc::new(Context {
        registry: Arc::new(Mutex::new(Registry::new(paths.sessions()))),
        cache_dir: borescope_static::cache_dir(),
        runtime: paths.clone(),
    });
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
    let shutdown_tx = Arc::new(shutdown_tx);
    let activity = Arc::new(std::sync::Mutex::new(Instant::now()));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(io("installing the SIGTERM handler"))?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let uid = nix::unistd::getuid().as_raw();
    let build = Arc::new(build_identity());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                touch(&activity);
                let ctx = ctx.clone();
                let shutdown = shutdown_tx.clone();
                let activity = activity.clone();
                let build = build.clone();
                tokio::spawn(async move {
                    serve(stream, uid, &build, &ctx, &shutdown).await;
                    touch(&activity);
                });
            }
            _ = tick.tick() => {
                let idle_for = activity.lock().map(|t| t.elapsed()).unwrap_or_default();
                if idle_for >= idle && ctx.registry.lock().await.len() == 0 {
                    tracing::info!("idle for {}s without sessions; exiting", idle_for.as_secs());
                    break;
                }
            }
            _ = shutdown_rx.changed() => break,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    stop_all(&ctx).await;
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(paths.pid());
    tracing::info!("session daemon stopped");
    Ok(())
}

fn touch(activity: &std::sync::Mutex<Instant>) {
    if let Ok(mut t) = activity.lock() {
        *t = Instant::now();
    }
}

/// Reads one request, answers it, closes.
async fn serve(stream: UnixStream, uid: u32, build: &str, ctx: &Context, shutdown: &watch::Sender<bool>) {
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == uid => {}
        Ok(cred) => {
            tracing::warn!(peer_uid = cred.uid(), "refused a connection from another user");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read peer credentials; refusing");
            return;
        }
    }
    // The first chunk may carry a descriptor (the caller's standard input for `start`).
    let Ok((mut line, fd)) = borescope_ipc::fdpass::recv_first(&stream).await else {
        return;
    };
    let (read, mut write) = stream.into_split();
    if !line.contains(&b'\n') && !line.is_empty() {
        let mut reader = BufReader::new(read.take(MAX_REQUEST.saturating_sub(line.len()) as u64));
        if reader.read_until(b'\n', &mut line).await.is_err() {
            return;
        }
    }
    let response = match line.len() {
        0 => return,
        _ => match serde_json::from_slice::<Envelope>(&line) {
            Ok(Envelope { request: Request::Shutdown, .. }) => {
                let live = ctx.registry.lock().await.all().iter().filter(|s| s.is_alive()).count();
                if live == 0 {
                    let _ = shutdown.send(true);
                    Response::ok(borescope_model::Answer::Sessions { sessions: Vec::new(), other_builds: Vec::new() })
                } else {
                    Response::error(
                        ErrorKind::Failed,
                        format!("the session daemon still has {}; `borescope sessions` lists them and `borescope stop` ends one", borescope_model::wording::counted(live as u64, "live session", "live sessions")),
                    )
                }
            }
            Ok(envelope) if envelope.version != PROTOCOL_VERSION || envelope.build != build => Response::error(
                ErrorKind::Version,
                format!(
                    "the running session daemon comes from another borescope build ({build}, protocol {PROTOCOL_VERSION}) and still has sessions; end them with `borescope stop --session NAME` (`borescope sessions` lists them)"
                ),
            ),
            Ok(envelope) => {
                tracing::debug!(request = ?std::mem::discriminant(&envelope.request), "request");
                handle(ctx, envelope.request, fd).await
            }
            Err(error) => Response::error(ErrorKind::Input, format!("malformed request: {error}")),
        },
    };
    let mut bytes = serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec());
    bytes.push(b'\n');
    let _ = write.write_all(&bytes).await;
    let _ = write.shutdown().await;
}
