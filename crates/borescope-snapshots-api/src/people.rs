//! What people, the CLI and MCP send and receive (admin token: `Authorization: Bearer TOKEN`).
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/v1/probes` | [`NewProbe`] | 201 [`ProbeView`] |
//! | `GET /api/v1/probes?service=S&all=true` | | [`ProbeList`] (`all`: also ended probes) |
//! | `GET /api/v1/probes/{id}` | | [`ProbeView`] |
//! | `PATCH /api/v1/probes/{id}` | [`ProbePatch`] | [`ProbeView`] |
//! | `DELETE /api/v1/probes/{id}` | | 204 |
//! | `GET /api/v1/probes/{id}/source` | | [`ProbeSourceView`] |
//! | `GET /api/v1/instances?service=S` | | [`InstanceList`] |
//! | `GET /api/v1/snapshots?probe=ID&service=S&kind=K&since_ms=T&until_ms=T&after=CURSOR&limit=N&wait=SECS` | | [`SnapshotPage`] (`kind`: `probe` or `exception`) |
//! | `GET /api/v1/snapshots/{id}` | | [`crate::Snapshot`] |
//! | `POST /api/v1/keys` | [`NewKey`] | 201 [`CreatedKey`] (the key is shown once) |
//! | `GET /api/v1/keys` | | [`KeyList`] |
//! | `DELETE /api/v1/keys/{id}` | | 204 |
//! | `GET /api/v1/services` | | [`ServiceList`] |
//! | `PUT /api/v1/services/{name}/exceptions` | [`ExceptionSwitch`] | [`ServiceInfo`] |
//! | `GET /api/v1/health` (no token) | | [`Health`] |
//!
//! `GET /api/v1/snapshots` with `wait=SECS` (at most 30) long-polls: when nothing newer than
//! `after` matches, the answer comes as soon as something does, or empty after `wait`.

use serde::{Deserialize, Serialize};

/// Schema name of [`ProbeView`] in `--json` output.
pub const PROBE_SCHEMA: &str = "borescope.snap-probe/1";

/// A probe to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewProbe {
    /// The service whose instances arm it.
    pub service: String,
    /// Only instances registered with this environment (`prod`, `staging`); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Source file as the user names it: an absolute path, or a path relative to the app
    /// (`orders/views.py`), matched against the end of each loaded module's real path.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Take a snapshot only when this safe expression is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Safe expressions evaluated and stored with each snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<String>,
    /// A logpoint: `order {order.id} costs {total}`; only the rendered message is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Stop after this many snapshots in total (all instances together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hits: Option<u32>,
    /// Snapshots per second per instance (default 1 for snapshots, 100 for logpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Seconds until the probe expires (default 3600, at most 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// How many frames, from the innermost, get their locals captured (default 1, at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames_with_locals: Option<u32>,
}

/// Where a probe stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeState {
    /// Agents arm it.
    Active,
    /// Turned off by a person; agents disarm it. `PATCH {"enabled": true}` turns it back on.
    Disabled,
    /// `max_hits` snapshots arrived; agents disarm it.
    Done,
    /// Its time ran out; agents disarm it.
    Expired,
}

/// A stored probe as people see it, with each instance's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeView {
    /// `borescope.snap-probe/1`.
    #[serde(default)]
    pub schema: String,
    /// The probe's id.
    pub id: i64,
    /// Service.
    pub service: String,
    /// Environment filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// File as given.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Capture expressions.
    #[serde(default)]
    pub captures: Vec<String>,
    /// Logpoint template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Hit limit, all instances together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hits: Option<u32>,
    /// Snapshots per second per instance.
    pub rate: f64,
    /// Frames whose locals are captured.
    pub frames_with_locals: u32,
    /// Created, Unix milliseconds.
    pub created_ms: i64,
    /// Expires, Unix milliseconds.
    pub expires_ms: i64,
    /// Where it stands.
    pub state: ProbeState,
    /// Snapshots stored so far.
    pub hits: u64,
    /// One entry per instance of the service that reported on this probe.
    #[serde(default)]
    pub statuses: Vec<InstanceProbeStatus>,
}

/// One instance's report on one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProbeStatus {
    /// The instance.
    pub instance_id: String,
    /// Its host name.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Where the probe stands there.
    pub status: crate::agent::ProbeStatus,
    /// Why (errors), or what is waited for (pending), or what was dropped (rate-limited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Times the line ran there with the condition true.
    #[serde(default)]
    pub hits: u64,
    /// Hits not captured there because of a rate limit.
    #[serde(default)]
    pub rate_limited: u64,
    /// When it last reported, Unix milliseconds.
    pub updated_ms: i64,
}

/// `GET /api/v1/probes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeList {
    /// Newest first.
    pub probes: Vec<ProbeView>,
}

/// `PATCH /api/v1/probes/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbePatch {
    /// Turn the probe on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A running process with the agent, as the server knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Chosen by the agent at start (and again in each forked worker).
    pub instance_id: String,
    /// Service.
    pub service: String,
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// `3.12.4`.
    pub python: String,
    /// The agent's version.
    pub agent_version: String,
    /// How lines are hooked there: `monitoring` (3.12+) or `rewrite` (3.9-3.11).
    pub engine: String,
    /// Registered, Unix milliseconds.
    pub started_ms: i64,
    /// Last heard from, Unix milliseconds.
    pub last_seen_ms: i64,
    /// True once the process said goodbye (it exited, or the agent was detached).
    #[serde(default)]
    pub gone: bool,
}

/// `GET /api/v1/instances`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceList {
    /// Most recently seen first.
    pub instances: Vec<Instance>,
}

/// `GET /api/v1/snapshots`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPage {
    /// Oldest first.
    pub snapshots: Vec<crate::Snapshot>,
    /// Pass as `after=` for the next page (or to wait for newer ones); absent when the page is
    /// empty and nothing came before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// `POST /api/v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    /// The one service this key may read probes of and write snapshots for.
    pub service: String,
}

/// The answer to `POST /api/v1/keys`: the only time the key is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// Key id (for `DELETE`).
    pub id: i64,
    /// Its service.
    pub service: String,
    /// The secret: `bsk_` and 43 base-62 characters. Stored only as a hash.
    pub key: String,
}

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Key id.
    pub id: i64,
    /// Its service.
    pub service: String,
    /// The first characters of the key, to tell keys apart (`bsk_3fA9`).
    pub prefix: String,
    /// Created, Unix milliseconds.
    pub created_ms: i64,
}

/// `GET /api/v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyList {
    /// Oldest first.
    pub keys: Vec<KeyInfo>,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when it answers.
    pub status: String,
    /// The server's borescope version.
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

/// Schema name of [`ServiceInfo`] in `--json` output.
pub const SERVICE_SCHEMA: &str = "borescope.snap-service/1";

/// A service as the server knows it: any name with an agent key, an instance, a probe or a
/// setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// `borescope.snap-service/1` (set by the client for `--json`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub schema: String,
    /// Its name.
    pub name: String,
    /// True when its instances take exception snapshots.
    pub exceptions: bool,
    /// Instances registered (gone ones included, until retention removes them).
    pub instances: u64,
    /// Of those, the ones not gone and heard from in the last two minutes.
    pub live_instances: u64,
    /// Probes that are active or disabled (not ended).
    pub probes: u64,
}

/// `GET /api/v1/services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceList {
    /// By name.
    pub services: Vec<ServiceInfo>,
}

/// `PUT /api/v1/services/{name}/exceptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionSwitch {
    /// Turn exception snapshots on or off for the service's instances.
    pub enabled: bool,
}

/// `GET /api/v1/probes/{id}/source`: the lines around the probe line, as the first instance
/// that found the file reported them (`source` is absent until one did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSourceView {
    /// The probe.
    pub probe_id: i64,
    /// The probe's line.
    pub line: u32,
    /// The lines, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::agent::ProbeSource>,
    /// The instance that reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// When, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_ms: Option<i64>,
}
