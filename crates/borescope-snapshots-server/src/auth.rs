//! Who may call: [`Admin`] (the server's admin token, for people, the CLI and MCP, or the web
//! page's session cookie) and [`Agent`] (an agent key, `bsk_...`, bound to one service), both
//! extractors, so a handler cannot be written without its check. Keys are random, shown once,
//! and stored as SHA-256 hashes; the admin token is compared by digest in constant time.
//!
//! A request with `Authorization` is judged by it alone. Without it, the session cookie
//! (see `session`) stands for the admin token: enough for GET and HEAD; anything else also
//! needs the session's CSRF token.

use crate::error::ApiError;
use crate::session;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::Method;
use sha2::{Digest, Sha256};

/// Every agent key starts with this.
pub const KEY_PREFIX: &str = "bsk_";
/// Random base-62 characters after the prefix (about 256 bits).
pub const KEY_RANDOM_LEN: usize = 43;
/// Characters of a key kept in clear, to tell keys apart.
pub const KEY_SHOWN_LEN: usize = 8;

const HOW_TO_KEY: &str = "create one with `borescope snap key add --service NAME`";

/// A request made with the admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

/// A request made with an agent key.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The key's id.
    pub key_id: i64,
    /// The one service the key serves.
    pub service: String,
}

impl Agent {
    /// Refuses a body that names another service than the key's.
    pub fn check_service(&self, named: &str) -> Result<(), ApiError> {
        if named == self.service {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "this agent key belongs to service `{}`, not `{named}`: use a key made for `{named}`",
            self.service
        )))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, ApiError> {
        if !parts.headers.contains_key(AUTHORIZATION)
            && let Some(cookie) = session::cookie(&parts.headers)
        {
            let Some(session) = state.sessions.verify(cookie, crate::store::now_ms()) else {
                return Err(ApiError::Unauthorized(
                    "the web session ended (expired, or the admin token changed): log in again at /login".into(),
                ));
            };
            if !matches!(parts.method, Method::GET | Method::HEAD) {
                state.sessions.check_csrf(&session, &parts.headers)?;
            }
            return Ok(Admin);
        }
        let token = bearer(parts, "the admin token")?;
        if constant_time_eq(&digest(token), &state.settings.token_digest) {
            return Ok(Admin);
        }
        if token.starts_with(KEY_PREFIX) {
            tracing::debug!("agent key used on an admin endpoint");
            return Err(ApiError::Forbidden(
                "agent keys can only use /api/v1/agent/ endpoints: people, the CLI and MCP use the server's admin token".into(),
            ));
        }
        tracing::debug!("wrong admin token");
        Err(ApiError::Unauthorized(
            "wrong admin token: use the one `borescope server` printed at its first start (or its --token)".into(),
        ))
    }
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Agent, ApiError> {
        let key = bearer(parts, "an agent key")?;
        if !key.starts_with(KEY_PREFIX) {
            return Err(ApiError::Unauthorized(format!(
                "this endpoint takes an agent key (`{KEY_PREFIX}...`), not the admin token: {HOW_TO_KEY}"
            )));
        }
        let hash = hash_key(key);
        if let Some(info) = state.cache.key(&hash) {
            return Ok(Agent { key_id: info.id, service: info.service });
        }
        match state.store.key_by_hash(&hash).await? {
            Some(info) => {
                state.cache.put_key(&hash, &info);
                Ok(Agent { key_id: info.id, service: info.service })
            }
            None => {
                tracing::debug!("unknown agent key");
                Err(ApiError::Unauthorized(format!("unknown agent key (deleted, or made for another server): {HOW_TO_KEY}")))
            }
        }
    }
}

/// The bearer credential of a request.
fn bearer<'a>(parts: &'a Parts, what: &str) -> Result<&'a str, ApiError> {
    let missing = || ApiError::Unauthorized(format!("this endpoint needs {what}: send `Authorization: Bearer ...`"));
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, credential) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
        return Err(missing());
    }
    Ok(credential.trim())
}

/// A new agent key: the secret, and the prefix shown later.
pub fn new_key() -> Result<(String, String), getrandom::Error> {
    let key = format!("{KEY_PREFIX}{}", random_base62(KEY_RANDOM_LEN)?);
    let shown = key.chars().take(KEY_SHOWN_LEN).collect();
    Ok((key, shown))
}

/// The stored form of an agent key: lowercase hex SHA-256.
pub fn hash_key(key: &str) -> String {
    digest(key).iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a credential.
pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Compares two digests in constant time.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `len` random characters from `[0-9A-Za-z]`, uniformly (rejection sampling).
pub fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for byte in buf {
            // 248 = 4 * 62: bytes above it would favour the first characters.
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let (key, shown) = new_key().unwrap();
        assert!(key.starts_with("bsk_"));
        assert_eq!(key.len(), 4 + 43);
        assert!(key[4..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(shown, key[..8]);
        assert_ne!(new_key().unwrap().0, key);
        assert_eq!(hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(&digest("x"), &digest("x")));
        assert!(!constant_time_eq(&digest("x"), &digest("y")));
    }
}
