//! Writing results to stdout: text or JSON. A closed pipe (`| head`) is not an error.

use serde::Serialize;
use std::io::Write;

/// Prints text as-is (it already ends with a newline).
pub fn text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Prints a value as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    let mut out = std::io::stdout().lock();
    if serde_json::to_writer_pretty(&mut out, value).is_ok() {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Prints text on stderr (a program's own error output that a command passes on).
pub fn error_text(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}
