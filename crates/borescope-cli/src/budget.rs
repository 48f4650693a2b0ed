//! Output budget flags, accepted by every command.

use clap::Args;

/// How much of a program's state a report may show. Every cut is announced with the flag that
/// lifts it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output budget")]
pub struct BudgetArgs {
    /// Longest value shown, in characters.
    #[arg(long, global = true, value_name = "N", default_value_t = 200)]
    pub max_value: usize,
    /// Most variables listed.
    #[arg(long, global = true, value_name = "N", default_value_t = 50)]
    pub max_vars: usize,
    /// How deep nested values are expanded.
    #[arg(long, global = true, value_name = "N", default_value_t = 2)]
    pub depth: u32,
    /// Largest report, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 8192)]
    pub max_output: usize,
    /// Show values of secret-looking names (password, token, ...) instead of `<redacted>`.
    #[arg(long, global = true)]
    pub no_redact: bool,
}
