//! Sealed relay messages (`docs/lambda-relay.md` §3): BLAKE2b-keyed counter-mode encryption
//! and an HMAC-SHA256 tag bound to the topic, so only holders of the per-attach secret can read
//! an invocation or answer one; plus the replay window every receiver keeps.

use base64::Engine as _;
use blake2::digest::{FixedOutput, KeyInit, Update};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashSet, VecDeque};

/// The first bytes of every sealed message.
pub const SEALED_MAGIC: &[u8; 3] = b"BL1";
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;
/// Messages whose `ts` is further than this from our clock are refused (milliseconds).
pub const CLOCK_WINDOW_MS: i64 = 300_000;
const SEEN_CAPACITY: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// Why a message was dropped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Too short or without the magic bytes.
    #[error("not a sealed borescope message")]
    Malformed,
    /// The tag does not verify (wrong secret, wrong topic, tampered).
    #[error("the message's tag does not verify")]
    BadTag,
    /// The secret in the environment is not 32 bytes of base64url.
    #[error("the relay secret is not 32 bytes of base64url")]
    BadSecret,
}

/// The two keys derived from a per-attach secret.
#[derive(Clone)]
pub struct SealKeys {
    enc: [u8; 32],
    mac: [u8; 32],
}

impl std::fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKeys(..)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        Mac::update(&mut mac, part);
    }
    mac.finalize().into_bytes().into()
}

impl SealKeys {
    /// Keys from the raw 32-byte secret.
    pub fn new(secret: &[u8; 32]) -> SealKeys {
        SealKeys { enc: hmac(secret, &[b"borescope-lambda enc"]), mac: hmac(secret, &[b"borescope-lambda mac"]) }
    }

    /// Keys from the secret as it travels (base64url, no padding).
    pub fn from_b64(secret: &str) -> Result<SealKeys, SealError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(secret.trim_end_matches('=')).map_err(|_| SealError::BadSecret)?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| SealError::BadSecret)?;
        Ok(SealKeys::new(&raw))
    }

    fn keystream_xor(&self, nonce: &[u8], data: &mut [u8]) {
        for (counter, block) in data.chunks_mut(64).enumerate() {
            let mut prf = <blake2::Blake2bMac512 as KeyInit>::new_from_slice(&self.enc).unwrap_or_else(|_| unreachable!());
            Update::update(&mut prf, nonce);
            Update::update(&mut prf, &(counter as u64).to_le_bytes());
            let stream = prf.finalize_fixed();
            for (byte, key) in block.iter_mut().zip(stream.iter()) {
                *byte ^= key;
            }
        }
    }

    /// Seals `plaintext` for `topic` with the given nonce (random in production).
    pub fn seal_with_nonce(&self, topic: &str, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        let mut body = plaintext.to_vec();
        self.keystream_xor(&nonce, &mut body);
        let tag = hmac(&self.mac, &[topic.as_bytes(), &[0], &nonce, &body]);
        let mut out = Vec::with_capacity(3 + NONCE_LEN + TAG_LEN + body.len());
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&body);
        out
    }

    /// Seals `plaintext` for `topic` with a fresh random nonce.
    pub fn seal(&self, topic: &str, plaintext: &[u8]) -> Vec<u8> {
        self.seal_with_nonce(topic, plaintext, random_bytes())
    }

    /// Opens a sealed message that arrived on `topic`.
    pub fn open(&self, topic: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 3 + NONCE_LEN + TAG_LEN || &sealed[..3] != SEALED_MAGIC {
            return Err(SealError::Malformed);
        }
        let nonce = &sealed[3..3 + NONCE_LEN];
        let tag = &sealed[3 + NONCE_LEN..3 + NONCE_LEN + TAG_LEN];
        let body = &sealed[3 + NONCE_LEN + TAG_LEN..];
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac).unwrap_or_else(|_| unreachable!());
        for part in [topic.as_bytes(), &[0], nonce, body] {
            Mac::update(&mut mac, part);
        }
        mac.verify_slice(tag).map_err(|_| SealError::BadTag)?;
        let mut plain = body.to_vec();
        self.keystream_xor(nonce, &mut plain);
        Ok(plain)
    }
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; fall back to a time-based
    // fill would be unsafe for a secret, so that case aborts the relay setup upstream instead.
    if getrandom::fill(&mut out).is_err() {
        tracing::error!("the operating system gave no random bytes");
    }
    out
}

/// A new per-attach secret, base64url without padding.
pub fn new_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A new per-attach topic prefix: 32 hex characters.
pub fn new_prefix() -> String {
    random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Remembers the last messages seen (by type and request id) and the clock window.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl ReplayGuard {
    /// Accepts a message once, within the clock window of `now_ms`.
    pub fn accept(&mut self, kind: &str, id: &str, ts: i64, now_ms: i64) -> bool {
        if (now_ms - ts).abs() > CLOCK_WINDOW_MS {
            return false;
        }
        let key = format!("{kind}\u{0}{id}");
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SealKeys {
        SealKeys::new(&[7u8; 32])
    }

    #[test]
    fn round_trip_and_topic_binding() {
        let sealed = keys().seal("borescope/p/up", b"{\"t\":\"invoke\"}");
        assert_eq!(keys().open("borescope/p/up", &sealed).as_deref(), Ok(&b"{\"t\":\"invoke\"}"[..]));
        assert_eq!(keys().open("borescope/p/down/w", &sealed), Err(SealError::BadTag));
        assert_eq!(SealKeys::new(&[8u8; 32]).open("borescope/p/up", &sealed), Err(SealError::BadTag));
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let mut sealed = keys().seal("t", &[1u8; 300]);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(keys().open("t", &sealed), Err(SealError::BadTag));
        assert_eq!(keys().open("t", b"BL1short"), Err(SealError::Malformed));
    }

    #[test]
    fn ciphertext_hides_the_plaintext() {
        let plain = vec![b'a'; 200];
        let sealed = keys().seal_with_nonce("t", &plain, [0; 16]);
        assert!(!sealed.windows(8).any(|w| w == b"aaaaaaaa"));
    }

    #[test]
    fn known_vector_matches_the_python_side() {
        // The same inputs in python/tests check the same bytes (hashlib.blake2b, hmac).
        let sealed = SealKeys::new(&[1u8; 32]).seal_with_nonce("borescope/x/up", b"hello", [2u8; 16]);
        let hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
        insta::assert_snapshot!(hex);
    }

    #[test]
    fn replay_and_clock_window() {
        let mut guard = ReplayGuard::default();
        assert!(guard.accept("invoke", "r1", 1_000_000, 1_000_000));
        assert!(!guard.accept("invoke", "r1", 1_000_000, 1_000_000));
        assert!(guard.accept("ack", "r1", 1_000_000, 1_000_000));
        assert!(!guard.accept("invoke", "r2", 0, 1_000_000));
    }

    #[test]
    fn secrets_decode() {
        let secret = new_secret();
        assert_eq!(secret.len(), 43);
        assert!(SealKeys::from_b64(&secret).is_ok());
        assert_eq!(SealKeys::from_b64("c2hvcnQ").err(), Some(SealError::BadSecret));
        assert_eq!(new_prefix().len(), 32);
    }
}
