//! What agents send and receive (agent key: `Authorization: Bearer bsk_...`, bound to one
//! service; a body naming another service is refused with 403).
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `POST /api/v1/agent/register` | [`Register`] | [`Registered`] |
//! | `GET /api/v1/agent/probes?instance=ID&since=VERSION&wait=SECS` | | [`ProbeSet`] |
//! | `POST /api/v1/agent/snapshots` | [`Upload`] (may be gzip: `Content-Encoding: gzip`) | [`Uploaded`] |
//! | `POST /api/v1/agent/status` | [`StatusReport`] | 204 |
//! | `POST /api/v1/agent/bye` | [`Bye`] | 204 |
//!
//! `GET .../probes` is a long poll and the agent's heartbeat: it answers at once when the
//! service's probe set (or redaction list, or its exception-snapshot setting) changed after
//! `since`, otherwise as soon as it does,
//! or unchanged after `wait` seconds (at most 30). Every call marks the instance as seen.

use serde::{Deserialize, Serialize};

/// An agent starting (or a forked worker starting over as its own instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// Random, chosen by the agent (32 hex characters).
    pub instance_id: String,
    /// Must be the key's service.
    pub service: String,
    /// Environment (`prod`); probes with an `env` only reach instances with the same one.
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
    /// `monitoring` or `rewrite`.
    pub engine: String,
}

/// The answer to [`Register`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    /// Echoed.
    pub instance_id: String,
    /// Pass as `since=0` on the first poll.
    pub version: i64,
}

/// A probe as an agent needs it. Expressions were checked by the server; the agent checks them
/// again before compiling them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentProbe {
    /// Probe id.
    pub id: i64,
    /// File as the user named it (see `NewProbe::file`).
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
    /// Snapshots per second in this instance.
    pub rate: f64,
    /// Hits still allowed, all instances together, when limited (the agent stops there; the
    /// server stores no more than the limit either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits_left: Option<u64>,
    /// Frames whose locals are captured.
    pub frames_with_locals: u32,
    /// Expiry, Unix milliseconds: the agent disarms the probe then, even without a new poll.
    pub expires_ms: i64,
    /// The server has no source for this probe yet: attach a [`ProbeSource`] to this probe's
    /// next status entry once its file is found (for the web page).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub want_source: bool,
}

/// The answer to a probe poll: the whole current set for this instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSet {
    /// Pass as `since` on the next poll.
    pub version: i64,
    /// Every active probe for this instance's service and environment.
    pub probes: Vec<AgentProbe>,
    /// Extra names to redact, on top of the agent's built-in list (`--redact` on the server).
    #[serde(default)]
    pub redact: Vec<String>,
    /// Process-wide snapshot limit per second.
    pub global_rate: f64,
    /// The service's exception-snapshot setting and its limits (off when absent).
    #[serde(default)]
    pub exceptions: ExceptionSettings,
}

/// Exception snapshots as an agent applies them: hooks installed only while `enabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionSettings {
    /// Take exception snapshots (`borescope snap exceptions --service NAME on`).
    pub enabled: bool,
    /// At most one snapshot per (type, location) in this many seconds; later occurrences are
    /// counted (`occurrences`).
    pub every_secs: u32,
    /// At most this many exception snapshots per minute, all locations together.
    pub per_minute: u32,
    /// Traceback frames recorded (the innermost), each with its locals.
    pub max_frames: u32,
}

impl Default for ExceptionSettings {
    fn default() -> Self {
        ExceptionSettings {
            enabled: false,
            every_secs: crate::limits::DEFAULT_EXCEPTION_EVERY_SECS,
            per_minute: crate::limits::DEFAULT_EXCEPTIONS_PER_MINUTE,
            max_frames: crate::limits::DEFAULT_EXCEPTION_FRAMES,
        }
    }
}

/// Occurrences of one failure the agent suppressed (deduplicated) after its last snapshot was
/// uploaded: the server adds `count` to that snapshot's `exception.occurrences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrences {
    /// The exception's type, as in its snapshot.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Where it was raised, as in its snapshot.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// Occurrences since the last report.
    pub count: u64,
}

/// A batch of snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// The uploading instance.
    pub instance_id: String,
    /// Snapshots captured since the last upload, oldest first.
    pub snapshots: Vec<crate::SnapshotData>,
    /// Snapshots this instance dropped since it started because its queue was full (the
    /// server was unreachable); a running total.
    #[serde(default)]
    pub dropped: u64,
    /// Suppressed exception occurrences since the last upload (sent once every snapshot before
    /// them was acknowledged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<Occurrences>,
    /// The agent's id for this batch (1 to 64 letters, digits, `_`, `-`). A batch sent again
    /// with the same id (after a lost answer, maybe to another replica) is answered as it was
    /// stored the first time and not stored twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

/// The answer to [`Upload`]. Everything counted as `accepted` is stored durably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// Stored.
    pub accepted: u64,
    /// Refused: unknown probe, another service's probe, or past the probe's hit limit.
    pub rejected: u64,
}

/// Where one probe stands in one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    /// Received; the file is not imported yet (armed when it is).
    Pending,
    /// The line is hooked.
    Installed,
    /// It cannot be armed, or its condition/expression failed (see the message).
    Error,
    /// Snapshots are being taken.
    Emitting,
    /// Hits were dropped by the per-probe or process-wide rate limit.
    RateLimited,
    /// Its time ran out (or its hit limit was reached) and it was disarmed.
    Expired,
}

/// One probe's status in a [`StatusReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeStatusEntry {
    /// Probe id.
    pub probe_id: i64,
    /// Status.
    pub status: ProbeStatus,
    /// Why, for `error` (`no code at line 12; nearest lines with code: 11, 14`), what is waited
    /// for, for `pending`, the last condition error, and so on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Times the line ran with the condition true, in this instance, since armed.
    #[serde(default)]
    pub hits: u64,
    /// Of those, not captured because of a rate limit.
    #[serde(default)]
    pub rate_limited: u64,
    /// The file's lines around the probe line, when the probe set asked (`want_source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ProbeSource>,
}

/// Source lines around a probe line, as an instance read them (at most
/// [`crate::limits::MAX_SOURCE_LINES`] lines of at most [`crate::limits::MAX_SOURCE_LINE_CHARS`]
/// characters, [`crate::limits::MAX_SOURCE_BYTES`] bytes in all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSource {
    /// The file's real path in the instance.
    pub path: String,
    /// The 1-based number of `lines[0]`.
    pub first_line: u32,
    /// The lines, without line endings (longer ones cut, ending in `…`).
    pub lines: Vec<String>,
}

/// `POST /api/v1/agent/status`: sent when a status changes, and at most every few seconds while
/// counts move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The reporting instance.
    pub instance_id: String,
    /// One entry per probe that changed.
    pub statuses: Vec<ProbeStatusEntry>,
}

/// `POST /api/v1/agent/bye`: the process is exiting, or the agent was detached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bye {
    /// The instance.
    pub instance_id: String,
}
