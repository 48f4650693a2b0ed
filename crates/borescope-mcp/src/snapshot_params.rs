//! Arguments of the live-snapshot tools. Field docs become the JSON Schema descriptions agents
//! read.

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

/// `create_snapshot`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSnapshotParams {
    /// "FILE:LINE" in the service's code: a path relative to the app ("orders/views.py:88",
    /// matched against the end of each loaded file's path) or absolute.
    pub location: String,
    /// The service whose running instances arm the probe (the name they registered with;
    /// list_instances shows them).
    pub service: String,
    /// Only instances of this environment ("prod", "staging").
    #[serde(default)]
    pub env: Option<String>,
    /// Record only when this safe Python expression is true (names, attributes, subscripts,
    /// literals, comparisons, and/or/not, arithmetic, len/str/int/float/bool/isinstance).
    #[serde(default)]
    pub condition: Option<String>,
    /// Safe expressions recorded with each snapshot.
    #[serde(default)]
    pub captures: Vec<String>,
    /// Record only this message instead of a snapshot (a logpoint); `{expr}` is interpolated.
    #[serde(default)]
    pub log: Option<String>,
    /// Stop after this many snapshots, all instances together.
    #[serde(default)]
    pub max_hits: Option<u32>,
    /// Snapshots per second per instance (default 1; 100 for logpoints).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Lifetime: "30m", "2h" (default 1h, at most 24h).
    #[serde(default)]
    pub ttl: Option<String>,
    /// Capture the locals of this many frames from the innermost (default 1, at most 10).
    #[serde(default)]
    pub frames: Option<u32>,
    /// Seconds to wait for every running instance to report on the probe (default 3, at most
    /// 30).
    #[serde(default)]
    pub wait_secs: Option<f64>,
}

/// `list_snapshots`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSnapshotsParams {
    /// Show this probe in detail (settings and every instance's status) instead of the list.
    #[serde(default)]
    pub probe_id: Option<i64>,
    /// Only this service's probes.
    #[serde(default)]
    pub service: Option<String>,
    /// Also probes that ended (expired, or done after max_hits).
    #[serde(default)]
    pub all: bool,
    /// List exception snapshots instead of probes (of `service` when given), oldest first:
    /// each with the exception, where it was seen, its occurrences and every traceback frame's
    /// locals. Turn them on with set_exception_snapshots.
    #[serde(default)]
    pub exceptions: bool,
    /// With `exceptions`: only those after this cursor (the `next` of the previous answer).
    #[serde(default)]
    pub after: Option<i64>,
    /// With `exceptions`: at most this many (default 5, at most 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `set_exception_snapshots`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetExceptionSnapshotsParams {
    /// The service (list_instances shows the names).
    pub service: String,
    /// true: turn exception snapshots on; false: off; omit to read the setting.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `wait_for_snapshot`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitForSnapshotParams {
    /// The probe (create_snapshot's id).
    pub probe_id: i64,
    /// Only snapshots after this cursor: the `next` of the previous answer. Omit to get the
    /// first ones the probe took (returned at once if any are stored).
    #[serde(default)]
    pub after: Option<i64>,
    /// Seconds to wait when none is there yet (default 30, at most 120).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// At most this many snapshots (default 1, at most 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `delete_snapshot`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteSnapshotParams {
    /// The probe to delete.
    pub probe_id: i64,
}

/// `list_instances`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInstancesParams {
    /// Only this service's instances.
    #[serde(default)]
    pub service: Option<String>,
}
