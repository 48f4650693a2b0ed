//! A bounded buffer of a program's output lines, readable by cursor.
//!
//! Every line gets a sequence number (the cursor). The buffer keeps the newest
//! [`OutputBuffer::CAPACITY`] lines; readers asking for older ones are told how many were
//! dropped. Long lines are cut so a program printing megabytes on one line cannot exhaust memory.

use borescope_model::{OutputChunk, OutputLine, OutputStream, OutputTail};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<OutputLine>,
    /// Sequence number of `lines[0]`.
    first: u64,
    /// Lines the runtime printed about the debugger itself, kept apart from program output.
    diverted: Vec<String>,
}

/// Decides whether a stderr line is the runtime talking about the debugger (e.g. Node's
/// "Debugger listening on ws://..."), which is not program output.
pub type DivertRule = fn(&str) -> bool;

/// Shared, cloneable handle to one program's output.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer {
    inner: Arc<Mutex<Inner>>,
    divert: Option<DivertRule>,
}

impl OutputBuffer {
    /// Lines kept.
    pub const CAPACITY: usize = 10_000;
    /// Longest line kept, in bytes.
    pub const MAX_LINE: usize = 8 * 1024;

    /// An empty buffer.
    pub fn new() -> OutputBuffer {
        OutputBuffer::default()
    }

    /// An empty buffer that sets aside stderr lines matching `rule`.
    pub fn diverting(rule: DivertRule) -> OutputBuffer {
        OutputBuffer {
            inner: Arc::default(),
            divert: Some(rule),
        }
    }

    /// The lines set aside so far.
    pub fn diverted(&self) -> Vec<String> {
        self.lock().diverted.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line.
    pub fn push(&self, stream: OutputStream, text: String) {
        let mut inner = self.lock();
        if stream == OutputStream::Stderr && self.divert.is_some_and(|rule| rule(&text)) {
            inner.diverted.push(text);
            return;
        }
        inner.lines.push_back(OutputLine { stream, text });
        while inner.lines.len() > Self::CAPACITY {
            inner.lines.pop_front();
            inner.first += 1;
        }
    }

    /// The cursor after the newest line.
    pub fn end(&self) -> u64 {
        let inner = self.lock();
        inner.first + inner.lines.len() as u64
    }

    /// Lines from `cursor` on, at most `max`.
    pub fn since(&self, cursor: u64, max: usize) -> OutputChunk {
        let inner = self.lock();
        let start = cursor.max(inner.first);
        let dropped = start - cursor;
        let skip = (start - inner.first) as usize;
        let lines: Vec<OutputLine> = inner.lines.iter().skip(skip).take(max).cloned().collect();
        let next = start + lines.len() as u64;
        OutputChunk {
            cursor,
            next_cursor: next,
            dropped,
            lines,
        }
    }

    /// The last `max` lines since `cursor`, as a tail (older lines counted, not returned).
    pub fn tail_since(&self, cursor: u64, max: usize) -> OutputTail {
        let inner = self.lock();
        let start = cursor.max(inner.first);
        let end = inner.first + inner.lines.len() as u64;
        let count = (end - start) as usize;
        let keep = count.min(max);
        let skip = (end - inner.first) as usize - keep;
        OutputTail {
            lines: inner.lines.iter().skip(skip).cloned().collect(),
            omitted: (end.saturating_sub(cursor)) - keep as u64,
        }
    }

    /// Copies a stream into the buffer line by line until it ends.
    pub async fn collect<R: AsyncRead + Unpin>(self, mut reader: R, stream: OutputStream) {
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&chunk[..n]);
            while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=pos).collect();
                self.push(stream, decode_line(&line[..line.len() - 1]));
            }
            if pending.len() > Self::MAX_LINE {
                let line: Vec<u8> = std::mem::take(&mut pending);
                self.push(stream, decode_line(&line));
            }
        }
        if !pending.is_empty() {
            self.push(stream, decode_line(&pending));
        }
    }
}

fn decode_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if text.len() > OutputBuffer::MAX_LINE {
        let mut end = OutputBuffer::MAX_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("... [line cut]");
    }
    text
}

/// Output that arrives in pieces (a debugger relaying a program's writes: `print(x)` is the
/// text, then the newline), put back together into whole lines.
#[derive(Debug, Default)]
pub struct PartialLines {
    stdout: String,
    stderr: String,
}

/// Longest unfinished line held back before it is passed on anyway.
const MAX_PENDING: usize = OutputBuffer::MAX_LINE;

impl PartialLines {
    /// Adds a piece of `stream`; returns the lines it completed.
    pub fn feed(&mut self, stream: OutputStream, text: &str) -> Vec<String> {
        let pending = match stream {
            OutputStream::Stdout => &mut self.stdout,
            OutputStream::Stderr => &mut self.stderr,
        };
        pending.push_str(text);
        let mut lines = Vec::new();
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            lines.push(line.trim_end_matches(['\n', '\r']).to_string());
        }
        if pending.len() > MAX_PENDING {
            lines.push(std::mem::take(pending));
        }
        lines
    }

    /// What is left unfinished, when the output ends.
    pub fn finish(self) -> Vec<(OutputStream, String)> {
        [(OutputStream::Stdout, self.stdout), (OutputStream::Stderr, self.stderr)]
            .into_iter()
            .filter(|(_, text)| !text.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_become_lines() {
        let mut partial = PartialLines::default();
        assert!(partial.feed(OutputStream::Stdout, "42").is_empty());
        assert_eq!(partial.feed(OutputStream::Stdout, "\n"), ["42"]);
        assert_eq!(partial.feed(OutputStream::Stderr, "a\r\nb\nc"), ["a", "b"]);
        assert_eq!(partial.finish(), [(OutputStream::Stderr, "c".to_string())]);
    }

    #[tokio::test]
    async fn collects_lines_and_reads_by_cursor() {
        let buffer = OutputBuffer::new();
        buffer
            .clone()
            .collect(&b"one\r\ntwo\nthree"[..], OutputStream::Stdout)
            .await;
        let chunk = buffer.since(1, 10);
        let texts: Vec<&str> = chunk.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["two", "three"]);
        assert_eq!(chunk.next_cursor, 3);
        let tail = buffer.tail_since(0, 2);
        assert_eq!(tail.omitted, 1);
        assert_eq!(tail.lines.len(), 2);
    }

    #[test]
    fn old_lines_are_dropped_and_counted() {
        let buffer = OutputBuffer::new();
        for i in 0..OutputBuffer::CAPACITY + 5 {
            buffer.push(OutputStream::Stderr, i.to_string());
        }
        let chunk = buffer.since(0, 1);
        assert_eq!(chunk.dropped, 5);
        assert_eq!(chunk.lines[0].text, "5");
    }
}
