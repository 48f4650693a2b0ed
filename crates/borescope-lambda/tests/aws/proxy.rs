//! A tiny loopback HTTP proxy in front of moto that answers chosen requests with a real AWS
//! error (moto never returns `ResourceConflictException`, nor refuses a permission) and
//! forwards everything else. One request per connection (`Connection: close` both ways).

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Answer the `nth` (1-based) request whose method is `method` and whose path contains
/// `path_part` with `status` and an error of type `error_type`.
#[derive(Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_part: &'static str,
    pub nth: usize,
    pub status: u16,
    pub error_type: &'static str,
    pub message: &'static str,
}

pub struct Proxy {
    pub url: String,
    /// How many requests matched each fault's method and path so far.
    pub seen: Arc<Mutex<Vec<usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let seen = Arc::new(Mutex::new(vec![0; faults.len()]));
        let counts = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let upstream = upstream.clone();
                let faults = faults.clone();
                let counts = counts.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &faults, &counts).await;
                });
            }
        });
        Proxy { url, seen, task }
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    faults: &[Fault],
    counts: &Mutex<Vec<usize>>,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let first = head.lines().next().unwrap_or_default().to_string();
    let mut parts = first.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut fault = None;
    {
        let mut counts = counts.lock().expect("counts");
        for (i, f) in faults.iter().enumerate() {
            if f.method == method && path.contains(f.path_part) {
                counts[i] += 1;
                if counts[i] == f.nth {
                    fault = Some(f.clone());
                }
            }
        }
    }
    if let Some(f) = fault {
        let body = serde_json::json!({"Type": "User", "message": f.message}).to_string();
        let answer = format!(
            "HTTP/1.1 {} Error\r\nContent-Type: application/json\r\nX-Amzn-ErrorType: {}\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            f.status,
            f.error_type,
            body.len()
        );
        client.write_all(answer.as_bytes()).await?;
        return client.shutdown().await;
    }
    let mut forwarded: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(forwarded.as_bytes()).await?;
    up.write_all(&body).await?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await?;
    client.write_all(&answer).await?;
    client.shutdown().await
}

/// The request head (up to the blank line, without it) and its body (Content-Length).
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}
