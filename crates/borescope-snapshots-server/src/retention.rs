//! The retention task: a sweep at start and then every `min(retention / 2, 1 min)` (at least
//! every second), deleting what is older than `--retention` and snapshots past the per-probe
//! cap (see `store::retention`). A failed sweep is logged and tried again next time.

use crate::state::AppState;
use crate::store::retention::Swept;
use crate::store::{now_ms, StoreError};
use std::time::Duration;

/// Runs one sweep now.
pub async fn sweep(state: &AppState) -> Result<Swept, StoreError> {
    let retention_ms = i64::try_from(state.settings.retention.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms().saturating_sub(retention_ms);
    let swept = state.store.sweep(cutoff, state.settings.snapshots_per_probe).await?;
    if swept != Swept::default() {
        tracing::info!(?swept, "retention sweep");
    }
    Ok(swept)
}

/// How long between sweeps.
pub fn interval(retention: Duration) -> Duration {
    (retention / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Sweeps until shutdown.
pub async fn run(state: AppState) {
    let mut shutdown = state.wakeups.shutdown_signal();
    let every = interval(state.settings.retention);
    loop {
        if let Err(error) = sweep(&state).await {
            tracing::warn!(%error, "retention sweep failed");
        }
        state.sweeps_run.send_modify(|runs| *runs += 1);
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|down| *down) => return,
        }
    }
}
