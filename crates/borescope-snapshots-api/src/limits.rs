//! Defaults and maxima, shared by the server (which enforces them) and the client (which
//! explains them).

/// A probe's default lifetime: one hour.
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// The longest a probe may live: a day.
pub const MAX_TTL_SECS: u64 = 86_400;
/// Snapshots per second per probe per instance, by default.
pub const DEFAULT_SNAPSHOT_RATE: f64 = 1.0;
/// Logpoint messages per second per probe per instance, by default.
pub const DEFAULT_LOG_RATE: f64 = 100.0;
/// The highest per-probe rate accepted.
pub const MAX_RATE: f64 = 1000.0;
/// Snapshots per second per process, all probes together.
pub const DEFAULT_GLOBAL_RATE: f64 = 100.0;
/// Frames with locals, by default and at most.
pub const DEFAULT_FRAMES_WITH_LOCALS: u32 = 1;
/// See [`DEFAULT_FRAMES_WITH_LOCALS`].
pub const MAX_FRAMES_WITH_LOCALS: u32 = 10;
/// Capture expressions per probe, at most.
pub const MAX_CAPTURES: usize = 20;
/// Length of one expression or template, at most.
pub const MAX_EXPRESSION_LEN: usize = 1000;
/// Longest long-poll wait, seconds.
pub const MAX_WAIT_SECS: u64 = 30;
/// Largest request body the server reads (after gzip decoding for uploads).
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Snapshots per page, at most (and by default).
pub const MAX_PAGE: u32 = 500;
/// Snapshots kept per probe; the oldest go first.
pub const DEFAULT_SNAPSHOTS_PER_PROBE: u64 = 10_000;
/// Snapshots older than this are deleted: seven days.
pub const DEFAULT_RETENTION_SECS: u64 = 7 * 86_400;
/// An instance not heard from for this long is taken for dead even without a goodbye (agents
/// poll at least every 30 s).
pub const SILENT_AFTER_MS: i64 = 120_000;
/// Exception snapshots: at most one per (type, location) per instance in this many seconds.
pub const DEFAULT_EXCEPTION_EVERY_SECS: u32 = 60;
/// Exception snapshots: at most this many per instance per minute, all locations together.
pub const DEFAULT_EXCEPTIONS_PER_MINUTE: u32 = 30;
/// Exception snapshots: traceback frames recorded (the innermost ones), each with its locals.
pub const DEFAULT_EXCEPTION_FRAMES: u32 = 30;
/// Lines each side of a probe line an agent reports as the probe's source.
pub const SOURCE_CONTEXT: u32 = 15;
/// Lines in a probe's reported source, at most (`SOURCE_CONTEXT` each side and the line).
pub const MAX_SOURCE_LINES: usize = 2 * SOURCE_CONTEXT as usize + 1;
/// Characters of one reported source line, at most (longer lines are cut).
pub const MAX_SOURCE_LINE_CHARS: usize = 240;
/// Bytes of a probe's reported source (its lines together), at most.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024;
