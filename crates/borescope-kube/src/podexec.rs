//! Running the in-pod program through the exec API.
//!
//! Nothing is installed or copied into the container: borescope execs a Python interpreter
//! that is already there (`python3`, the container's command, or a target's own
//! `/proc/PID/exe`) with a one-line loader, and streams the program
//! (`borescope_agent/pod.py`) and its request on stdin as length-prefixed frames, so no shell,
//! `tar` or writable file system is needed to start it. The program answers with JSON lines on
//! stdout; a line with `"need"` asks for one more frame (a copy of debugpy), the line with
//! `"final": true` ends the exchange. stdin is never closed (the exec protocol before v5
//! cannot half-close it), which is why every frame carries its length.

use crate::{Cluster, KubeError, PodRef};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Reads the program from stdin and runs it (as `python -I -S -c LOADER`).
pub const LOADER: &str = r#"import sys;r=sys.stdin.buffer;exec(compile(r.read(int(r.readline())),"borescope-pod","exec"))"#;

/// The exec stream's buffer for stdin and stdout.
const STDIN_CHUNK: usize = 256 * 1024;

/// The most of the program's stderr kept for an error message.
const MAX_STDERR: usize = 16 * 1024;

/// One exchange with the in-pod program.
pub struct Exchange<'a> {
    /// The request (its `op` and arguments).
    pub request: Value,
    /// Bytes that follow the request (its `payload_bytes` says how many).
    pub payload: Vec<u8>,
    /// The bytes for a `{"need": "debugpy"}` line, made only when asked for (an empty frame
    /// when `None`).
    pub on_need: Option<futures::future::BoxFuture<'a, Vec<u8>>>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
}

fn program() -> Result<&'static str, KubeError> {
    borescope_pyagent::FILES
        .iter()
        .find(|(path, _)| *path == "borescope_agent/pod.py")
        .map(|(_, text)| *text)
        .ok_or_else(|| KubeError::Pod("this borescope build lacks the in-pod program (borescope_agent/pod.py)".into()))
}

fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut framed = format!("{}\n", bytes.len()).into_bytes();
    framed.extend_from_slice(bytes);
    framed
}

/// Why one interpreter could not run the program.
enum Attempt {
    /// The interpreter is not in the container.
    Missing(String),
    /// The program answered.
    Answered(Value),
}

/// Runs the program with the first of `interpreters` the container has; returns its final
/// object (whose `ok` may be false: the caller knows what each `kind` means).
pub async fn run(cluster: &Cluster, pod: &PodRef, interpreters: &[String], exchange: Exchange<'_>) -> Result<Value, KubeError> {
    let Exchange { request, payload, mut on_need, timeout } = exchange;
    // Without a payload the request travels in the program's text and nothing is streamed:
    // a missing interpreter then fails the exec at once (with stdin open, the runtime waits
    // for stdin to close first).
    let inline = payload.is_empty() && on_need.is_none();
    let request_frame = if inline {
        format!("BORESCOPE_REQUEST = {}\n", borescope_pyagent::jobs::string_literal(&request.to_string())).into_bytes()
    } else {
        let mut framed = frame(request.to_string().as_bytes());
        framed.extend_from_slice(&payload);
        framed
    };
    let mut missing = Vec::new();
    for interpreter in interpreters {
        let attempt = tokio::time::timeout(timeout, attempt(cluster, pod, interpreter, &request_frame, inline, &mut on_need))
            .await
            .map_err(|_| KubeError::Pod(format!("borescope's program in pod {pod} did not answer within {}s", timeout.as_secs())))??;
        match attempt {
            Attempt::Answered(value) => return Ok(value),
            Attempt::Missing(why) => {
                tracing::debug!(%interpreter, %why, "no such interpreter in the container");
                missing.push(interpreter.clone());
            }
        }
    }
    Err(KubeError::Pod(format!(
        "no Python interpreter to run borescope's program in pod {pod} (tried {})\nhint: borescope runs a Python already in the container; name the container that runs Python (`-c CONTAINER`, or `--container` with exec)",
        missing.join(", ")
    )))
}

async fn attempt(
    cluster: &Cluster,
    pod: &PodRef,
    interpreter: &str,
    request_frame: &[u8],
    inline: bool,
    on_need: &mut Option<futures::future::BoxFuture<'_, Vec<u8>>>,
) -> Result<Attempt, KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &pod.namespace);
    let mut params = AttachParams::default().stdin(!inline).stdout(true).stderr(true);
    // Bigger than kube's 1 KiB default: what is streamed in (the agent, a debugpy copy) goes
    // out in fewer, larger WebSocket messages.
    params.max_stdin_buf_size = Some(STDIN_CHUNK);
    params.max_stdout_buf_size = Some(STDIN_CHUNK);
    if let Some(container) = &pod.container {
        params = params.container(container.clone());
    }
    let program = program()?;
    let code = if inline {
        // The request first, then the program (whose `__main__` block runs it).
        format!("{}{program}", String::from_utf8_lossy(request_frame))
    } else {
        LOADER.to_string()
    };
    let command = vec![interpreter.to_string(), "-I".into(), "-S".into(), "-c".into(), code];
    let mut process = api
        .exec(&pod.name, command, &params)
        .await
        .map_err(|e| cluster.error(&format!("run a program in pod `{}` (namespace `{}`)", pod.name, pod.namespace), e))?;
    let broken = |what: &str| KubeError::Pod(format!("the exec stream to pod {pod} has no {what}"));
    let mut stdin = if inline { None } else { Some(process.stdin().ok_or_else(|| broken("stdin"))?) };
    let stdout = process.stdout().ok_or_else(|| broken("stdout"))?;
    let stderr = process.stderr();
    let status = process.take_status();
    let stderr_task = tokio::spawn(async move {
        let mut collected = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                if collected.len() < MAX_STDERR {
                    collected.extend_from_slice(&chunk[..n]);
                }
            }
        }
        String::from_utf8_lossy(&collected).to_string()
    });
    let lost = |e: std::io::Error| KubeError::Pod(format!("the exec stream to pod {pod} failed: {e}"));
    // A missing interpreter fails the exec before stdin is read; writes then fail, and the
    // status says why.
    let written = match stdin.as_mut() {
        Some(stdin) => {
            async {
                stdin.write_all(&frame(program.as_bytes())).await?;
                stdin.write_all(request_frame).await?;
                stdin.flush().await
            }
            .await
        }
        None => Ok(()),
    };
    tracing::debug!(pod = %pod, %interpreter, written = written.is_ok(), "request sent");
    let mut lines = BufReader::new(stdout).lines();
    let mut answer = None;
    if written.is_ok() {
        while let Some(line) = lines.next_line().await.map_err(lost)? {
            tracing::debug!(bytes = line.len(), "a line from the program");
            let Ok(message) = serde_json::from_str::<Value>(line.trim()) else {
                tracing::debug!(%line, "not a message from the program");
                continue;
            };
            if message.get("final").and_then(Value::as_bool) == Some(true) {
                answer = Some(message);
                break;
            }
            if let Some(need) = message.get("need").and_then(Value::as_str) {
                tracing::debug!(%need, "the program asks for more");
                let bytes = match on_need.take() {
                    Some(making) => making.await,
                    None => Vec::new(),
                };
                let Some(stdin) = stdin.as_mut() else { continue };
                tracing::debug!(bytes = bytes.len(), "sending what the program asked for");
                stdin.write_all(&frame(&bytes)).await.map_err(lost)?;
                stdin.flush().await.map_err(lost)?;
            }
        }
    }
    drop(stdin);
    drop(lines);
    if let Some(answer) = answer {
        process.abort();
        return Ok(Attempt::Answered(answer));
    }
    let status = match status {
        Some(status) => tokio::time::timeout(Duration::from_secs(5), status).await.ok().flatten(),
        None => None,
    };
    let stderr = tokio::time::timeout(Duration::from_secs(2), stderr_task).await.ok().and_then(Result::ok).unwrap_or_default();
    let message = status.and_then(|s| s.message).unwrap_or_default();
    if message.contains("executable file not found") || message.contains("no such file or directory") {
        return Ok(Attempt::Missing(message));
    }
    let tail: Vec<&str> = stderr.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
    Err(KubeError::Pod(format!(
        "borescope's program in pod {pod} ended without an answer ({interpreter}){}{}",
        if message.is_empty() { String::new() } else { format!(": {message}") },
        if tail.is_empty() { String::new() } else { format!("\n  {}", tail.join("\n  ")) }
    )))
}
