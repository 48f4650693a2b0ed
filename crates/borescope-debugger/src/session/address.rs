//! Debug servers reached by address (`borescope attach HOST:PORT`): the address, the TCP
//! connection, and which protocol the server speaks.
//!
//! Nothing that would confuse a DAP server is ever sent to one: debugpy's adapter speaks first
//! (a DAP message the moment it accepts), so the first connection just listens a moment. A
//! server that stays silent gets a DAP `initialize`: a debugpy serving DAP from inside the
//! program answers it (and that connection becomes the session's), while Node's inspector
//! answers HTTP (400, a WebSocket was expected); only then is it asked `GET /json/version`
//! and `/json/list`, which name the WebSocket to connect to. (An HTTP request sent to
//! debugpy's adapter first leaves it unable to take the next client.)

use crate::DebuggerError;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server that speaks first (debugpy's adapter) may take to do so.
const SPEAKS_FIRST: Duration = Duration::from_secs(1);
/// How long a server may take to answer a probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest HTTP answer read from an inspector.
const MAX_HTTP: usize = 256 * 1024;

/// `HOST:PORT` of a debug server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Host name or IP address (without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Address {
    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (which means 127.0.0.1).
    pub fn parse(text: &str) -> Result<Address, String> {
        let bad = || format!("`{text}` is not HOST:PORT (examples: `127.0.0.1:5678`, `:5678`, `[::1]:9229`)");
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => inner,
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(bad)?;
        let host = if host.is_empty() { "127.0.0.1" } else { host };
        if host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad());
        }
        Ok(Address { host: host.to_string(), port })
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What listens at an address.
#[derive(Debug)]
pub(crate) enum Listener {
    /// A DAP server, on a connection the session can use.
    Dap {
        /// The connection.
        stream: TcpStream,
        /// True when `initialize` was sent on it already (its answer is still to be read and
        /// is left for the client to skip).
        initialized: bool,
    },
    /// Node's inspector, with the WebSocket of its (first) target.
    Node {
        /// `ws://HOST:PORT/UUID`.
        ws_url: String,
    },
}

/// A connection to `address`, and whether it is on this machine (loopback).
pub(crate) async fn connect(address: &Address) -> Result<(TcpStream, bool), DebuggerError> {
    let authority = address.to_string();
    let candidates: Vec<SocketAddr> = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(&authority))
        .await
        .map_err(|_| DebuggerError::Timeout(format!("resolving `{}` took longer than {}s", address.host, CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| DebuggerError::BadCommand(format!("cannot resolve host `{}`: {e}", address.host)))?
        .collect();
    let mut last = None;
    for candidate in candidates {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(candidate)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true).map_err(DebuggerError::io("preparing the debugger connection"))?;
                return Ok((stream, candidate.ip().is_loopback()));
            }
            Ok(Err(error)) => last = Some(error),
            Err(_) => {
                return Err(DebuggerError::Timeout(format!(
                    "{address} did not accept a connection within {}s (a firewall, or the wrong host?)",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
    }
    Err(match last {
        Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => not_listening(address),
        Some(error) => DebuggerError::Io { context: format!("connecting to {address}"), source: error },
        None => DebuggerError::BadCommand(format!("host `{}` has no address", address.host)),
    })
}

/// True when every address the host resolves to is on this machine.
pub(crate) async fn is_loopback(address: &Address) -> bool {
    match tokio::net::lookup_host(address.to_string()).await {
        Ok(addresses) => {
            let addresses: Vec<SocketAddr> = addresses.collect();
            !addresses.is_empty() && addresses.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// The error for a port nothing listens on, with how to make something listen there.
fn not_listening(address: &Address) -> DebuggerError {
    DebuggerError::BadCommand(format!(
        "nothing listens on {address}\n\
         hint: start the program with debugpy listening there: `python -m debugpy --listen {address} app.py` \
         (add `--wait-for-client` to wait for borescope), or call `debugpy.listen((\"{host}\", {port}))` in its code\n\
         hint: for Node: `node --inspect={address} app.js`",
        host = address.host,
        port = address.port,
    ))
}

/// Which protocol the server at `address` speaks.
pub(crate) async fn identify(address: &Address) -> Result<Listener, DebuggerError> {
    let (mut stream, _) = connect(address).await?;
    let mut initialized = false;
    let mut first = peek(&stream, SPEAKS_FIRST).await;
    if first.is_empty() {
        let initialize = serde_json::json!({
            "seq": 1,
            "type": "request",
            "command": "initialize",
            "arguments": borescope_dap::requests::InitializeArguments::borescope("debugpy"),
        });
        let body = serde_json::to_vec(&initialize).map_err(|e| DebuggerError::Protocol(e.to_string()))?;
        borescope_dap::codec::write_frame(&mut stream, &body).await?;
        initialized = true;
        first = peek(&stream, PROBE_TIMEOUT).await;
    }
    if first.starts_with(b"Conte") {
        return Ok(Listener::Dap { stream, initialized });
    }
    if first.is_empty() {
        return Err(neither(address, "nothing"));
    }
    if !first.starts_with(b"HTTP/") {
        return Err(neither(address, "an unknown protocol"));
    }
    drop(stream);
    let version = http_json(&http_get(address, "/json/version").await?);
    let is_node = version
        .as_ref()
        .and_then(|v| v.get("Browser"))
        .and_then(|b| b.as_str())
        .is_some_and(|b| b.starts_with("node.js"));
    if !is_node {
        return Err(neither(address, "an HTTP server"));
    }
    let list = http_json(&http_get(address, "/json/list").await?).unwrap_or_default();
    let ws_url = list
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|target| target.get("webSocketDebuggerUrl").and_then(|u| u.as_str()))
        .ok_or_else(|| DebuggerError::Protocol(format!("Node's inspector at {address} lists no debug target")))?;
    Ok(Listener::Node { ws_url: ws_url.to_string() })
}

/// The first bytes the server sent (without consuming them), or nothing within `wait`.
async fn peek(stream: &TcpStream, wait: Duration) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 16];
    loop {
        match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) if n >= 5 || n == 0 => return buf[..n].to_vec(),
            Ok(Ok(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
            Ok(Err(_)) | Err(_) => return Vec::new(),
        }
    }
}

/// The error for a server that is neither debugpy nor Node's inspector.
pub(crate) fn neither(address: &Address, what: &str) -> DebuggerError {
    DebuggerError::BadCommand(format!(
        "{address} speaks neither DAP (debugpy) nor Node's inspector protocol ({what} answered)\n\
         hint: give the port debugpy listens on (`--listen`) or Node's inspector (`--inspect`); \
         `borescope attach PID` attaches to a local Python 3.9+ process without any port"
    ))
}

/// Sends `GET path` to an HTTP server and reads its answer: the headers, then `Content-Length`
/// bytes of body (or to the end when there is none; the inspector may keep the connection open).
async fn http_get(address: &Address, path: &str) -> Result<Vec<u8>, DebuggerError> {
    let (mut stream, _) = connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let context = format!("asking {address} for {path}");
    stream.write_all(request.as_bytes()).await.map_err(DebuggerError::io(context.clone()))?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + PROBE_TIMEOUT;
    while !http_complete(&answer) && answer.len() < MAX_HTTP {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
            Ok(Err(error)) => return Err(DebuggerError::Io { context, source: error }),
            Err(_) => {
                return Err(DebuggerError::Timeout(format!(
                    "{address} did not answer `GET {path}` within {}s",
                    PROBE_TIMEOUT.as_secs()
                )));
            }
        }
    }
    Ok(answer)
}

/// True once an HTTP answer with a `Content-Length` has all of its body.
fn http_complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .is_some_and(|length| body.len() >= length)
}

/// The JSON body of an HTTP answer.
fn http_json(answer: &[u8]) -> Option<serde_json::Value> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.") || !head.lines().next().is_some_and(|l| l.contains(" 200")) {
        return None;
    }
    serde_json::from_str(body.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(Address::parse(":5678").unwrap(), Address { host: "127.0.0.1".into(), port: 5678 });
        assert_eq!(Address::parse("db.example:9229").unwrap().to_string(), "db.example:9229");
        let v6 = Address::parse("[::1]:9229").unwrap();
        assert_eq!((v6.host.as_str(), v6.to_string()), ("::1", "[::1]:9229".to_string()));
        for bad in ["5678", "host:", "host:0", "host:70000", "::1:9229", "a b:1", ":x"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inspector_answers_are_read() {
        let answer = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Browser\": \"node.js/v20\"}";
        assert_eq!(http_json(answer).unwrap()["Browser"], "node.js/v20");
        assert!(http_json(b"HTTP/1.0 404 Not Found\r\n\r\n{}").is_none());
        assert!(http_complete(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
        assert!(!http_complete(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n{}"));
    }
}
