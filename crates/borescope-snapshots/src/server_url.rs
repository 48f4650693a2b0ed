//! The server's URL as this client understands it: `http://HOST[:PORT][/PREFIX]`, and lists of
//! them (`URL1,URL2`: replicas of one server on one database, [`ServerUrl::parse_list`]).
//!
//! Only plain HTTP is spoken in this version. An `https://` URL is refused with a one-line
//! explanation (reach the server over loopback, through a tunnel if it runs elsewhere), so a
//! token is never sent in clear text by surprise to a remote host that expected TLS.

use crate::SnapError;
use std::fmt;

/// A parsed `http://` server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when the URL names none).
    pub port: u16,
    /// Path prefix the API lives under, without a trailing `/` (empty for the root).
    pub prefix: String,
}

impl ServerUrl {
    /// Parses `http://HOST[:PORT][/PREFIX]`. Empty text (an empty `BORESCOPE_SERVER`) means
    /// the default server, `http://127.0.0.1:7300`.
    pub fn parse(text: &str) -> Result<ServerUrl, SnapError> {
        let trimmed = match text.trim() {
            "" => borescope_static::DEFAULT_SNAPSHOT_SERVER,
            trimmed => trimmed,
        };
        let bad = |why: &str| {
            SnapError::BadUrl(format!(
                "--server `{trimmed}` is not a server URL: {why} (example: http://127.0.0.1:7300)"
            ))
        };
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Err(bad("it has no `http://`"));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "http" => {}
            "https" => {
                return Err(SnapError::BadUrl(format!(
                    "--server `{trimmed}`: https is not supported yet; reach the server over plain http on loopback (for a remote server, a tunnel: `ssh -L 7300:127.0.0.1:7300 HOST`, then --server http://127.0.0.1:7300)"
                )));
            }
            _ => return Err(bad(&format!("the scheme `{scheme}` is not http"))),
        }
        if rest.contains(['?', '#']) {
            return Err(bad("a server URL has no query or fragment"));
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("credentials go in --token, not in the URL"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("the host or port is not valid"))?;
        if host.is_empty() {
            return Err(bad("it names no host"));
        }
        Ok(ServerUrl {
            host,
            port,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    /// Parses a comma-separated list of server URLs (replicas of one server); empty text means
    /// the default server.
    pub fn parse_list(text: &str) -> Result<Vec<ServerUrl>, SnapError> {
        let parts: Vec<&str> = text.split(',').map(str::trim).filter(|part| !part.is_empty()).collect();
        if parts.is_empty() {
            return Ok(vec![ServerUrl::default()]);
        }
        parts.into_iter().map(ServerUrl::parse).collect()
    }

    /// The first of `servers` that accepts a TCP connection within a second, else the first
    /// (whose error then tells what is wrong). People's commands use it on `--server URL1,URL2`.
    pub fn first_reachable(servers: &[ServerUrl]) -> Option<ServerUrl> {
        use std::net::{TcpStream, ToSocketAddrs};
        let reachable = |url: &&ServerUrl| {
            (url.host.as_str(), url.port).to_socket_addrs().is_ok_and(|mut addrs| {
                addrs.any(|addr| TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_ok())
            })
        };
        match servers {
            [one] => Some(one.clone()),
            _ => servers.iter().find(reachable).or(servers.first()).cloned(),
        }
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == 80 { host } else { format!("{host}:{}", self.port) }
    }

    /// True when the host is this machine (a name or address of loopback).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl Default for ServerUrl {
    /// `http://127.0.0.1:7300`, where `borescope server` listens by default.
    fn default() -> ServerUrl {
        ServerUrl { host: "127.0.0.1".into(), port: 7300, prefix: String::new() }
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`; the port defaults to 80.
fn split_host_port(authority: &str) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => 80,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host.to_string(), port.parse().ok()?)),
        Some(_) => None,
        None => Some((authority.to_string(), 80)),
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_http_urls() {
        let url = ServerUrl::parse("http://127.0.0.1:7300").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.prefix.as_str()), ("127.0.0.1", 7300, ""));
        assert!(url.is_loopback());
        assert_eq!(url.to_string(), "http://127.0.0.1:7300");
        let url = ServerUrl::parse("HTTP://snap.internal/borescope/").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.prefix.as_str()), ("snap.internal", 80, "/borescope"));
        assert_eq!(url.to_string(), "http://snap.internal/borescope");
        assert!(!url.is_loopback());
        let url = ServerUrl::parse("http://[::1]:7300").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 7300));
        assert_eq!(url.host_header(), "[::1]:7300");
    }

    #[test]
    fn reads_lists_of_replicas() {
        let list = ServerUrl::parse_list("http://10.0.0.1:7300, http://10.0.0.2:7300/").unwrap();
        assert_eq!(list.iter().map(ToString::to_string).collect::<Vec<_>>(), ["http://10.0.0.1:7300", "http://10.0.0.2:7300"]);
        assert_eq!(ServerUrl::parse_list("").unwrap(), [ServerUrl::default()]);
        let error = ServerUrl::parse_list("http://a:1,b:2").unwrap_err().to_string();
        assert!(error.contains("--server `b:2` is not a server URL"), "{error}");
        // A dead one is passed over for one that answers.
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_port = dead.local_addr().unwrap().port();
        drop(dead);
        let list = ServerUrl::parse_list(&format!("http://127.0.0.1:{dead_port},http://127.0.0.1:{}", live.local_addr().unwrap().port())).unwrap();
        assert_eq!(ServerUrl::first_reachable(&list), Some(list[1].clone()));
    }

    #[test]
    fn refuses_https_with_the_fix() {
        let error = ServerUrl::parse("https://snap.example.com").unwrap_err().to_string();
        assert!(error.contains("https is not supported yet"), "{error}");
        assert!(error.contains("ssh -L"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn refuses_what_is_not_a_server_url() {
        assert_eq!(ServerUrl::parse(" ").unwrap(), ServerUrl::default());
        assert_eq!(ServerUrl::default().to_string(), borescope_static::DEFAULT_SNAPSHOT_SERVER);
        for text in ["127.0.0.1:7300", "ftp://x", "http://", "http://h:port", "http://u:p@h", "http://h/?q", "http://a:b:1"] {
            let error = ServerUrl::parse(text).unwrap_err();
            assert!(error.is_input_error(), "{text}");
            assert!(error.to_string().contains("example: http://127.0.0.1:7300"), "{text}: {error}");
        }
    }
}
