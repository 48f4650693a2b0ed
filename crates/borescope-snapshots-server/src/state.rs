//! What every handler shares: the store, the upload writer, the settings that shape answers,
//! the wakeups, and the web page's sessions.

use crate::cache::Cache;
use crate::ingest::Ingest;
use crate::session::Sessions;
use crate::store::Store;
use crate::wakeup::Wakeups;
use std::sync::Arc;
use std::time::Duration;

/// The handlers' state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Fixed settings.
    pub settings: Arc<Settings>,
    /// Long-poll wakeups and the shutdown signal.
    pub wakeups: Arc<Wakeups>,
    /// The upload writer (group commit).
    pub ingest: Arc<Ingest>,
    /// Recently used agent keys and instances.
    pub cache: Arc<Cache>,
    /// The web page's session key and login throttle.
    pub sessions: Arc<Sessions>,
    /// How many sweeps the server's own retention task has run (see [`crate::Server::own_sweeps`]).
    pub sweeps_run: Arc<tokio::sync::watch::Sender<u64>>,
}

/// Settings fixed at start.
pub struct Settings {
    /// SHA-256 of the admin token (compared in constant time).
    pub token_digest: [u8; 32],
    /// Extra names agents redact.
    pub redact: Vec<String>,
    /// Process-wide snapshot rate agents allow.
    pub global_rate: f64,
    /// How often a waiting long-poll re-reads the database.
    pub recheck: Duration,
    /// Snapshots older than this are deleted.
    pub retention: Duration,
    /// Snapshots kept per probe.
    pub snapshots_per_probe: u64,
}
