//! Chunks (`docs/lambda-relay.md` §4): a sealed message over 100 000 bytes travels as several
//! MQTT publishes (IoT Core refuses payloads over 128 KB); the receiver puts them back together,
//! bounded in size and time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The first bytes of a chunk.
pub const CHUNK_MAGIC: &[u8; 3] = b"BC1";
/// The largest part one chunk carries.
pub const CHUNK_PART: usize = 100_000;
/// The largest message reassembled (Lambda's own bound is 6 MB).
pub const MAX_MESSAGE: usize = 7 * 1024 * 1024;
/// A message whose chunks do not all arrive within this is dropped.
pub const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(30);
const HEADER: usize = 3 + 16 + 2 + 2;

/// Splits a sealed message into MQTT payloads: itself when small, else chunks.
pub fn split(sealed: Vec<u8>, message_id: [u8; 16]) -> Vec<Vec<u8>> {
    if sealed.len() <= CHUNK_PART {
        return vec![sealed];
    }
    let parts: Vec<&[u8]> = sealed.chunks(CHUNK_PART).collect();
    let count = parts.len() as u16;
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let mut chunk = Vec::with_capacity(HEADER + part.len());
            chunk.extend_from_slice(CHUNK_MAGIC);
            chunk.extend_from_slice(&message_id);
            chunk.extend_from_slice(&(index as u16).to_be_bytes());
            chunk.extend_from_slice(&count.to_be_bytes());
            chunk.extend_from_slice(part);
            chunk
        })
        .collect()
}

struct Partial {
    started: Instant,
    parts: Vec<Option<Vec<u8>>>,
    size: usize,
}

/// Puts chunks back together; whole messages pass straight through.
#[derive(Default)]
pub struct Reassembler {
    partial: HashMap<[u8; 16], Partial>,
    /// Messages given up (too big, malformed, or timed out).
    pub dropped: u64,
}

impl Reassembler {
    /// Takes one MQTT payload; returns a whole sealed message when one is complete.
    pub fn push(&mut self, payload: &[u8], now: Instant) -> Option<Vec<u8>> {
        self.expire(now);
        if payload.len() < HEADER || &payload[..3] != CHUNK_MAGIC {
            return Some(payload.to_vec());
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&payload[3..19]);
        let index = u16::from_be_bytes([payload[19], payload[20]]) as usize;
        let count = u16::from_be_bytes([payload[21], payload[22]]) as usize;
        let part = &payload[HEADER..];
        if count == 0 || index >= count || count * CHUNK_PART > MAX_MESSAGE + CHUNK_PART {
            self.dropped += 1;
            return None;
        }
        let entry = self.partial.entry(id).or_insert_with(|| Partial { started: now, parts: vec![None; count], size: 0 });
        if entry.parts.len() != count {
            self.partial.remove(&id);
            self.dropped += 1;
            return None;
        }
        if entry.parts[index].is_none() {
            entry.size += part.len();
            entry.parts[index] = Some(part.to_vec());
        }
        if entry.size > MAX_MESSAGE {
            self.partial.remove(&id);
            self.dropped += 1;
            return None;
        }
        if entry.parts.iter().all(Option::is_some) {
            let whole = self.partial.remove(&id)?;
            return Some(whole.parts.into_iter().flatten().flatten().collect());
        }
        None
    }

    fn expire(&mut self, now: Instant) {
        let before = self.partial.len();
        self.partial.retain(|_, p| now.duration_since(p.started) < REASSEMBLY_TIMEOUT);
        self.dropped += (before - self.partial.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_pass_whole() {
        let parts = split(vec![1; 10], [0; 16]);
        assert_eq!(parts, vec![vec![1; 10]]);
        assert_eq!(Reassembler::default().push(&parts[0], Instant::now()), Some(vec![1; 10]));
    }

    #[test]
    fn a_megabyte_comes_back_in_any_order() {
        let message: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
        let mut parts = split(message.clone(), [9; 16]);
        assert_eq!(parts.len(), 11);
        parts.reverse();
        let mut re = Reassembler::default();
        let now = Instant::now();
        let mut out = None;
        for part in &parts {
            out = re.push(part, now).or(out);
        }
        assert_eq!(out, Some(message));
    }

    #[test]
    fn incomplete_messages_expire() {
        let parts = split(vec![3; 250_000], [1; 16]);
        let mut re = Reassembler::default();
        let start = Instant::now();
        assert_eq!(re.push(&parts[0], start), None);
        assert_eq!(re.push(&parts[1], start + REASSEMBLY_TIMEOUT + Duration::from_secs(1)), None);
        assert_eq!(re.dropped, 1);
    }
}
