//! What the `snap` commands print with `--json`, and MCP returns as structured content: one
//! object each, its `schema` naming the shape (documented in `docs/json.md`).

use borescope_snapshots_api::people::{CreatedKey, Instance, KeyInfo, ProbeView};
use borescope_snapshots_api::Snapshot;
use serde::{Deserialize, Serialize};

/// Schema of [`ProbeListing`].
pub const PROBES_SCHEMA: &str = "borescope.snap-probes/1";
/// Schema of [`InstanceListing`].
pub const INSTANCES_SCHEMA: &str = "borescope.snap-instances/1";
/// Schema of [`KeyCreated`].
pub const KEY_SCHEMA: &str = "borescope.snap-key/1";
/// Schema of [`KeyListing`].
pub const KEYS_SCHEMA: &str = "borescope.snap-keys/1";
/// Schema of [`Deleted`].
pub const DELETED_SCHEMA: &str = "borescope.snap-deleted/1";
/// Schema of [`SnapshotListing`].
pub const SNAPSHOTS_SCHEMA: &str = "borescope.snapshots/1";

/// `snap add`: the stored probe (`borescope.snap-probe/1`) with each live instance's report,
/// plus the instances it was waited for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeAdded {
    /// The probe, with the statuses that arrived while waiting.
    #[serde(flatten)]
    pub probe: ProbeView,
    /// The live instances of the service (and environment) the probe applies to.
    pub instances: Vec<Instance>,
    /// How long the command waited for their reports.
    pub waited_ms: u64,
    /// True when every one of them reported before the wait ended.
    pub complete: bool,
}

/// `snap list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeListing {
    /// [`PROBES_SCHEMA`].
    pub schema: String,
    /// Newest first.
    pub probes: Vec<ProbeView>,
}

/// `snap agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceListing {
    /// [`INSTANCES_SCHEMA`].
    pub schema: String,
    /// Most recently seen first, gone ones included.
    pub instances: Vec<Instance>,
}

/// `snap key add`: the new key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    /// [`KEY_SCHEMA`].
    pub schema: String,
    /// The key.
    #[serde(flatten)]
    pub key: CreatedKey,
}

/// `snap key list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyListing {
    /// [`KEYS_SCHEMA`].
    pub schema: String,
    /// Oldest first; secrets are never listed.
    pub keys: Vec<KeyInfo>,
}

/// What `snap rm` and `snap key rm` deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// [`DELETED_SCHEMA`].
    pub schema: String,
    /// `probe` or `key`.
    pub kind: String,
    /// Its id.
    pub id: i64,
}

impl Deleted {
    /// A deleted probe or key.
    pub fn new(kind: &str, id: i64) -> Deleted {
        Deleted { schema: DELETED_SCHEMA.into(), kind: kind.into(), id }
    }
}

/// `snap hits` (and MCP `list_snapshots`/`wait_for_snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotListing {
    /// [`SNAPSHOTS_SCHEMA`].
    pub schema: String,
    /// Oldest first.
    pub snapshots: Vec<Snapshot>,
    /// The cursor for what comes after these (`--after`); absent when nothing was found and
    /// there was nothing before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// True when more snapshots matched than the limit let through.
    pub more: bool,
}
