//! The one text formatter every front door uses: `probe`, every session command, live
//! snapshots (`snap`), and MCP.
//!
//! Reports are written for a reader with a small context window (often an LLM): a one-line
//! headline saying exactly why the program stopped, then source, stack, locals and evaluated
//! expressions, each bounded by a [`Budget`](borescope_model::Budget). Whatever is cut is
//! announced once at the end with the flag that shows more. Non-user frames are collapsed into
//! one line per run so the user's own code stays visible.
//!
//! This crate only builds strings; it never prints and never touches the program.

#![deny(missing_docs)]

mod answer;
mod paths;
mod probe;
mod kube;
mod process;
mod snap;
mod stop;
mod text;

pub use answer::render_answer;
pub use paths::PathStyle;
pub use probe::render_probe;
pub use kube::render_pods;
pub use process::{render_exec, render_listen, render_ps};
pub use snap::{
    render_snap_added, render_snap_attach, render_snap_instances, render_snap_key_created, render_snap_keys,
    render_snap_probe, render_snap_probes, render_snap_service, render_snapshot, render_snapshots, snapshot_stop,
};
pub use stop::render_stop;

use borescope_model::Budget;

/// What a renderer needs besides the data.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Budgets for values, variables, depth and total size.
    pub budget: Budget,
    /// How paths are shown.
    pub paths: PathStyle,
}

impl RenderContext {
    /// Default budgets, paths relative to `cwd`.
    pub fn new(budget: Budget, paths: PathStyle) -> RenderContext {
        RenderContext { budget, paths }
    }
}
