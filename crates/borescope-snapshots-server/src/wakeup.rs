//! Long-poll wakeups. A waiting request subscribes to a `tokio::sync::watch` channel, then
//! reads the database, then waits; a write that commits sends on the channel. The truth is
//! always the database (probe-set versions, snapshot ids), so a wakeup only says "look again",
//! and a waiter also looks again every `recheck` for changes made by another server on the
//! same database. The web page's event stream waits on snapshots and on probe statuses.
//! Shutdown wakes every waiter, so draining never waits out a long poll.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The channels waiters subscribe to.
pub struct Wakeups {
    services: Mutex<HashMap<String, watch::Sender<i64>>>,
    snapshots: watch::Sender<u64>,
    statuses: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Wakeups {
            services: Mutex::new(HashMap::new()),
            snapshots: watch::Sender::new(0),
            statuses: watch::Sender::new(0),
            shutdown: watch::Sender::new(false),
        }
    }
}

impl Wakeups {
    /// A receiver that changes when `service`'s probe set does.
    pub fn probes(&self, service: &str) -> watch::Receiver<i64> {
        let mut services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        services.entry(service.to_string()).or_insert_with(|| watch::Sender::new(0)).subscribe()
    }

    /// Wakes the waiters on `service`'s probe set.
    pub fn probes_changed(&self, service: &str, version: i64) {
        let services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = services.get(service) {
            sender.send_replace(version);
        }
    }

    /// A receiver that changes when snapshots are stored.
    pub fn snapshots(&self) -> watch::Receiver<u64> {
        self.snapshots.subscribe()
    }

    /// Wakes the waiters on snapshots.
    pub fn snapshots_stored(&self) {
        self.snapshots.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes when what people see of probes changed: an instance reported
    /// statuses or a probe's source, or a probe was created, turned on or off, or deleted.
    pub fn statuses(&self) -> watch::Receiver<u64> {
        self.statuses.subscribe()
    }

    /// Wakes the waiters on probe statuses.
    pub fn statuses_changed(&self) {
        self.statuses.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that turns true at shutdown.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Wakes every waiter for good.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Waits for a change on `changes`, the next recheck, the deadline or shutdown, whichever
    /// comes first. True: look again. False: the deadline passed or the server is shutting
    /// down, so answer with what was read last (a change in the very last moment is seen by
    /// the next poll, which then answers at once).
    pub async fn wait<T>(&self, changes: &mut watch::Receiver<T>, until: Instant, recheck: Duration) -> bool {
        let mut shutdown = self.shutdown.subscribe();
        let now = Instant::now();
        if now >= until || *shutdown.borrow_and_update() {
            return false;
        }
        let nap = (until - now).min(recheck);
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(nap).await;
                }
            }
            () = tokio::time::sleep(nap) => {}
            _ = shutdown.changed() => return false,
        }
        Instant::now() < until
    }
}
