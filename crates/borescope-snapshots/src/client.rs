//! The HTTP client: one HTTP/1.1 connection per request (hyper), JSON bodies, the admin token
//! as a bearer token, bounded answers and timeouts, and every non-2xx answer turned into a
//! [`SnapError`] that says what to do.

use crate::{ServerUrl, SnapError};
use borescope_snapshots_api::{ApiErrorBody, API_PREFIX};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an ordinary request may take once connected (long polls add their wait).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (a page of 500 snapshots of up to 64 KB each fits).
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// A client for one borescope server.
#[derive(Debug, Clone)]
pub struct Client {
    url: ServerUrl,
    token: Option<String>,
}

impl Client {
    /// A client for `url`, sending `token` (the server's admin token) when given.
    pub fn new(url: ServerUrl, token: Option<String>) -> Client {
        Client { url, token: token.filter(|t| !t.is_empty()) }
    }

    /// The server's URL.
    pub fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// `GET` an API path (`/probes?service=api`) and decode the answer.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<T, SnapError> {
        let (status, body) = self.request(Method::GET, path, None, timeout).await?;
        decode(&self.url, self.token.is_some(), status, &body)
    }

    /// Sends `body` as JSON with `method` and decodes the answer.
    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(&self, method: Method, path: &str, body: &B) -> Result<T, SnapError> {
        let json = serde_json::to_vec(body).map_err(|e| SnapError::input(format!("cannot encode the request: {e}")))?;
        let (status, answer) = self.request(method, path, Some(json), REQUEST_TIMEOUT).await?;
        decode(&self.url, self.token.is_some(), status, &answer)
    }

    /// `DELETE` an API path; the answer has no body.
    pub(crate) async fn delete(&self, path: &str) -> Result<(), SnapError> {
        let (status, body) = self.request(Method::DELETE, path, None, REQUEST_TIMEOUT).await?;
        check(&self.url, self.token.is_some(), status, &body)
    }

    async fn request(&self, method: Method, path: &str, body: Option<Vec<u8>>, timeout: Duration) -> Result<(StatusCode, Bytes), SnapError> {
        let url = self.url.to_string();
        let transport = |why: String| SnapError::Transport { url: url.clone(), why };
        let target = format!("{}{API_PREFIX}{path}", self.url.prefix);
        tracing::debug!(%method, %target, "snapshot server request");
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((self.url.host.as_str(), self.url.port)))
            .await
            .map_err(|_| SnapError::Unreachable { url: url.clone(), why: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()) })?
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => SnapError::NoServer { url: url.clone() },
                _ => SnapError::Unreachable { url: url.clone(), why: e.to_string() },
            })?;
        let _ = stream.set_nodelay(true);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(e.to_string()))?;
        let driver = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "snapshot server connection ended");
            }
        });
        let mut builder = Request::builder()
            .method(method)
            .uri(&target)
            .header(HOST, self.url.host_header())
            .header(USER_AGENT, concat!("borescope/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, "application/json");
        if let Some(token) = &self.token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| SnapError::input(format!("cannot build the request for `{target}`: {e}")))?;
        let exchange = async {
            let response = sender.send_request(request).await.map_err(|e| transport(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        let answer = tokio::time::timeout(timeout, exchange).await;
        driver.abort();
        answer.map_err(|_| transport(format!("no answer within {} s", timeout.as_secs())))?
    }
}

/// Decodes a 2xx answer as `T`, or turns any other into an error.
pub(crate) fn decode<T: DeserializeOwned>(url: &ServerUrl, had_token: bool, status: StatusCode, body: &[u8]) -> Result<T, SnapError> {
    check(url, had_token, status, body)?;
    serde_json::from_slice(body).map_err(|e| SnapError::Server {
        url: url.to_string(),
        status: status_line(status),
        detail: format!("an answer this borescope cannot read ({e}); are client and server the same version?"),
    })
}

/// Ok for 2xx; the matching error otherwise.
pub(crate) fn check(url: &ServerUrl, had_token: bool, status: StatusCode, body: &[u8]) -> Result<(), SnapError> {
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::UNAUTHORIZED {
        return Err(SnapError::Unauthorized { url: url.to_string(), had_token });
    }
    if let Ok(error) = serde_json::from_slice::<ApiErrorBody>(body) {
        return Err(SnapError::Refused { status: status.as_u16(), code: error.error, message: error.message });
    }
    let text = String::from_utf8_lossy(body);
    let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    let detail = match first.char_indices().nth(200) {
        _ if first.is_empty() => "no message".to_string(),
        Some((end, _)) => format!("{}...", &first[..end]),
        None => first.to_string(),
    };
    Err(SnapError::Server { url: url.to_string(), status: status_line(status), detail })
}

fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// `?key=value&...` from the pairs that have a value, values percent-encoded.
pub(crate) fn query(pairs: &[(&str, Option<String>)]) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", utf8_percent_encode(v, VALUE))))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borescope_snapshots_api::people::ProbeList;

    fn url() -> ServerUrl {
        ServerUrl::parse("http://127.0.0.1:7300").unwrap()
    }

    #[test]
    fn the_servers_own_message_is_passed_through() {
        let body = br#"{"error":"bad_request","message":"condition: calls to open() are not allowed"}"#;
        let error = check(&url(), true, StatusCode::BAD_REQUEST, body).unwrap_err();
        assert_eq!(error.to_string(), "condition: calls to open() are not allowed");
        assert!(error.is_input_error());
        let error = check(&url(), true, StatusCode::INTERNAL_SERVER_ERROR, br#"{"error":"internal","message":"database is locked"}"#).unwrap_err();
        assert!(!error.is_input_error());
    }

    #[test]
    fn a_401_names_the_token_setting() {
        let without = check(&url(), false, StatusCode::UNAUTHORIZED, b"").unwrap_err().to_string();
        assert!(without.contains("needs its admin token: pass --token TOKEN or set BORESCOPE_TOKEN"), "{without}");
        let wrong = check(&url(), true, StatusCode::UNAUTHORIZED, b"").unwrap_err().to_string();
        assert!(wrong.contains("refused the admin token"), "{wrong}");
    }

    #[test]
    fn answers_that_are_not_the_api_are_described() {
        let error = check(&url(), true, StatusCode::BAD_GATEWAY, b"\n<html>upstream down</html>\n").unwrap_err();
        assert_eq!(error.to_string(), "the borescope server at http://127.0.0.1:7300 answered 502 Bad Gateway: <html>upstream down</html>");
        let error = decode::<ProbeList>(&url(), true, StatusCode::OK, b"{\"probes\": 3}").unwrap_err().to_string();
        assert!(error.contains("cannot read"), "{error}");
        let list: ProbeList = decode(&url(), true, StatusCode::OK, br#"{"probes": []}"#).unwrap();
        assert!(list.probes.is_empty());
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(query(&[("service", Some("my api".into())), ("all", None), ("limit", Some("5".into()))]), "?service=my%20api&limit=5");
        assert_eq!(query(&[("all", None)]), "");
    }

    #[tokio::test]
    async fn a_closed_port_is_no_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = Client::new(ServerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap(), None);
        let error = client.get::<ProbeList>("/probes", REQUEST_TIMEOUT).await.unwrap_err();
        assert!(matches!(error, SnapError::NoServer { .. }), "{error:?}");
        assert!(error.to_string().starts_with(&format!("no borescope server at http://127.0.0.1:{port} (start one with `borescope server`")));
    }
}
