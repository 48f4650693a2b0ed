//! The web page's login session: a stateless signed cookie and the CSRF token derived from it.
//!
//! Logging in with the admin token sets `borescope_session=1.EXPIRES_MS.NONCE.MAC`, where MAC
//! is HMAC-SHA256 over the version, expiry and nonce, keyed by a key derived from the admin
//! token's digest. Nothing is stored: any replica on the same database with the same token
//! accepts the cookie, and changing the token logs every browser out. The cookie is
//! `HttpOnly; SameSite=Strict; Path=/` with a 12-hour `Max-Age`; it is not `Secure` because
//! the server speaks plain HTTP (meant for loopback, or behind a TLS proxy).
//!
//! Requests the page makes that change something carry `X-Borescope-CSRF`: HMAC of the
//! session's nonce under the same key, which the page reads from `GET /session` (a cross-site
//! page can neither read it nor, with `SameSite=Strict`, send the cookie). `Origin` and
//! `Sec-Fetch-Site` are checked too when the browser sends them. Logging out clears the
//! cookie in this browser; a copied cookie stays valid until it expires or the token changes.

use crate::error::ApiError;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The cookie's name.
pub const COOKIE_NAME: &str = "borescope_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-borescope-csrf";
/// How long a login lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long a wrong token waits before its answer (failed logins queue one at a time).
pub const WRONG_TOKEN_DELAY: Duration = Duration::from_secs(1);

const VERSION: &str = "1";

/// The signing key and the queue failed logins wait in.
pub struct Sessions {
    key: [u8; 32],
    /// Held while a wrong token's answer is delayed: at most one guess per delay per server.
    pub failed_logins: tokio::sync::Mutex<()>,
}

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// When it ends, Unix milliseconds.
    pub expires_ms: i64,
    nonce: String,
}

impl Sessions {
    /// The sessions of a server whose admin token has this SHA-256 digest.
    pub fn new(token_digest: &[u8; 32]) -> Sessions {
        let key = mac_of(token_digest, &[b"borescope web session key", VERSION.as_bytes()]);
        Sessions { key, failed_logins: tokio::sync::Mutex::new(()) }
    }

    /// A new session from `now_ms`: its cookie value and the session.
    pub fn issue(&self, now_ms: i64) -> Result<(String, Session), getrandom::Error> {
        let nonce = crate::auth::random_base62(22)?;
        let lifetime = i64::try_from(LIFETIME.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = now_ms.saturating_add(lifetime);
        let mac = hex(&self.sign(expires_ms, &nonce));
        Ok((format!("{VERSION}.{expires_ms}.{nonce}.{mac}"), Session { expires_ms, nonce }))
    }

    /// The session a cookie value holds, if it is this server's, untampered and not expired.
    pub fn verify(&self, value: &str, now_ms: i64) -> Option<Session> {
        let mut parts = value.split('.');
        let (version, expires, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || version != VERSION || nonce.is_empty() || nonce.len() > 64 {
            return None;
        }
        let expires_ms: i64 = expires.parse().ok()?;
        if !equal(hex(&self.sign(expires_ms, nonce)).as_bytes(), mac.as_bytes()) || expires_ms <= now_ms {
            return None;
        }
        Some(Session { expires_ms, nonce: nonce.to_string() })
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &Session) -> String {
        hex(&mac_of(&self.key, &[b"csrf", session.nonce.as_bytes()]))
    }

    /// Refuses a state-changing request made with the session cookie unless it carries the
    /// session's CSRF token and, when the browser says, comes from this origin.
    pub fn check_csrf(&self, session: &Session, headers: &HeaderMap) -> Result<(), ApiError> {
        same_origin(headers)?;
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if sent.is_empty() || !equal(sent.as_bytes(), self.csrf(session).as_bytes()) {
            tracing::debug!("a cookie request without a valid CSRF token");
            return Err(ApiError::Forbidden(format!(
                "this request needs the page's CSRF token in `{CSRF_HEADER}` (reload the page), or use `Authorization: Bearer` with the admin token"
            )));
        }
        Ok(())
    }

    fn sign(&self, expires_ms: i64, nonce: &str) -> [u8; 32] {
        mac_of(&self.key, &[b"session", VERSION.as_bytes(), expires_ms.to_string().as_bytes(), nonce.as_bytes()])
    }
}

/// Refuses a request that the browser says comes from another site or origin.
pub fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || ApiError::Forbidden("cross-site request refused: use the page this server serves".into());
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str().unwrap_or_default(), "same-origin" | "none")
    {
        return Err(refused());
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
        if host.is_empty() || authority != Some(host) {
            return Err(refused());
        }
    }
    Ok(())
}

/// The session cookie's value in a request, if sent.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(value: &str) -> HeaderValue {
    let text = format!("{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", LIFETIME.as_secs());
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("borescope_session=; Path=/; Max-Age=0"))
}

/// `Set-Cookie` that removes the session.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("borescope_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

fn mac_of(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return [0; 32] };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_verify_only_untampered_unexpired_and_under_the_same_token() {
        let sessions = Sessions::new(&crate::auth::digest("token-one-123456"));
        let (cookie, session) = sessions.issue(1_000).unwrap();
        assert_eq!(sessions.verify(&cookie, 2_000), Some(session.clone()));
        assert_eq!(sessions.verify(&cookie, session.expires_ms), None, "expired");
        let tampered = cookie.replacen(&session.expires_ms.to_string(), &(session.expires_ms + 1).to_string(), 1);
        assert_eq!(sessions.verify(&tampered, 2_000), None);
        let other = Sessions::new(&crate::auth::digest("token-two-123456"));
        assert_eq!(other.verify(&cookie, 2_000), None, "another token's server");
        assert_ne!(sessions.csrf(&session), other.csrf(&session));
        assert_eq!(sessions.verify("garbage", 0), None);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; borescope_session=1.2.x.y; b=2"));
        assert_eq!(cookie(&headers), Some("1.2.x.y"));
    }
}
