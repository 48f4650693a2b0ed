//! Output budgets: how much of a program's state a report may show.

use serde::{Deserialize, Serialize};

/// Limits applied when capturing and rendering values. Defaults keep a report near 8 KB, which
/// fits comfortably in an agent's context; every cut is announced with the flag that lifts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Longest value text shown, in characters (`--max-value`).
    pub max_value: usize,
    /// Most variables listed per scope (`--max-vars`).
    pub max_vars: usize,
    /// How deep nested containers and objects are expanded (`--depth`).
    pub depth: u32,
    /// Largest rendered report, in bytes (`--max-output`).
    pub max_bytes: usize,
    /// Whether values of secret-looking names are hidden (`--no-redact` turns it off).
    pub redact: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_value: 200,
            max_vars: 50,
            depth: 2,
            max_bytes: 8 * 1024,
            redact: true,
        }
    }
}
