//! `Content-Length` framing. Unknown headers are ignored; a missing or absurd length is an error.

use crate::DapError;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest message body accepted (64 MiB): large enough for any variables reply, small enough
/// that a corrupt length cannot exhaust memory.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Reads one framed message body. `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, DapError> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            if saw_header {
                return Err(DapError::Frame("stream ended inside a header".into()));
            }
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if !saw_header {
                continue; // tolerate stray blank lines between messages
            }
            break;
        }
        saw_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length") {
                let parsed: usize = value
                    .trim()
                    .parse()
                    .map_err(|_| DapError::Frame(format!("bad Content-Length `{}`", value.trim())))?;
                length = Some(parsed);
            }
    }
    let length = length.ok_or_else(|| DapError::Frame("header without Content-Length".into()))?;
    if length > MAX_BODY {
        return Err(DapError::Frame(format!("Content-Length {length} exceeds {MAX_BODY}")));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Writes one framed message (header and body in a single write).
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> Result<(), DapError> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn frames(input: &[u8]) -> Vec<Result<Option<Vec<u8>>, String>> {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        loop {
            match read_frame(&mut reader).await {
                Ok(Some(body)) => out.push(Ok(Some(body))),
                Ok(None) => {
                    out.push(Ok(None));
                    break;
                }
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn reads_consecutive_frames_and_ignores_other_headers() {
        let input = b"Content-Length: 2\r\nX-Other: 1\r\n\r\n{}Content-Length: 4\r\n\r\nnull";
        let got = frames(input).await;
        assert_eq!(got[0], Ok(Some(b"{}".to_vec())));
        assert_eq!(got[1], Ok(Some(b"null".to_vec())));
        assert_eq!(got[2], Ok(None));
    }

    #[tokio::test]
    async fn rejects_bad_lengths() {
        let got = frames(b"Content-Length: x\r\n\r\n{}").await;
        assert!(matches!(&got[0], Err(e) if e.contains("bad Content-Length")));
        let got = frames(b"Content-Length: 999999999999\r\n\r\n").await;
        assert!(matches!(&got[0], Err(e) if e.contains("exceeds")));
        let got = frames(b"X: 1\r\n\r\n{}").await;
        assert!(matches!(&got[0], Err(e) if e.contains("without Content-Length")));
    }

    #[tokio::test]
    async fn truncated_body_is_an_error() {
        let got = frames(b"Content-Length: 10\r\n\r\n{}").await;
        assert!(got[0].is_err());
    }
}
