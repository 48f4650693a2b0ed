//! Arguments of `borescope source`.

use clap::Args;

/// `borescope source`.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The line to show, FILE:LINE; without it, the line of the selected frame of the paused
    /// session (`borescope frame N` selects another).
    #[arg(value_name = "FILE:LINE")]
    pub location: Option<String>,
    /// Lines shown on each side of the line (at most 500).
    #[arg(long, short = 'C', value_name = "N", default_value_t = 10)]
    pub context: u32,
    /// The session (used without FILE:LINE).
    #[command(flatten)]
    pub session: crate::SessionArg,
}
