//! Long-poll wakeups. A waiting request subscribes to a `tokio::sync::watch` channel, then
//! reads the database, then waits; a write that commits sends on the channel. The truth is
//! always the database (probe-set versions, snapshot ids), so a wakeup only says "look again",
//! and a waiter also looks again every `recheck`, as a safety net. Shutdown wakes every
//! waiter, so draining never waits out a long poll. The web page's event stream waits on
//! snapshots and on probe statuses.
//!
//! Every wake is a [`Wake`]. Handlers call the typed methods after their write committed; each
//! wakes the local waiters and, when replicas are wired in (`replicas`, on Postgres), is also
//! published to the other servers on the database, which turn it back into local wakes
//! ([`Wakeups::wake_local`]). A new kind of wake is a [`Wake`] variant (with its text form) and
//! a method pair here.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// One wake, as it travels between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Wake {
    /// `service`'s probe set changed to `version`.
    Probes {
        /// The service.
        service: String,
        /// Its new probe-set version.
        version: i64,
    },
    /// Snapshots were stored.
    Snapshots,
    /// What people see of probes changed (statuses, a reported source, a probe switched).
    Statuses,
    /// Everything: notifications may have been missed (the listener reconnected).
    All,
}

impl Wake {
    /// The text form: `KIND` or `KIND ARG...` (`probes VERSION SERVICE`, `snapshots`).
    pub fn encode(&self) -> String {
        match self {
            Wake::Probes { service, version } => format!("probes {version} {service}"),
            Wake::Snapshots => "snapshots".into(),
            Wake::Statuses => "statuses".into(),
            Wake::All => "all".into(),
        }
    }

    /// Reads the text form; `None` for a kind this server does not know (a newer replica's).
    pub fn decode(text: &str) -> Option<Wake> {
        let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
        match kind {
            "probes" => {
                let (version, service) = rest.split_once(' ')?;
                Some(Wake::Probes { service: service.to_string(), version: version.parse().ok()? })
            }
            "snapshots" => Some(Wake::Snapshots),
            "statuses" => Some(Wake::Statuses),
            "all" => Some(Wake::All),
            _ => None,
        }
    }
}

/// The channels waiters subscribe to.
pub struct Wakeups {
    services: Mutex<HashMap<String, watch::Sender<i64>>>,
    snapshots: watch::Sender<u64>,
    statuses: watch::Sender<u64>,
    shutdown: watch::Sender<bool>,
    /// Where wakes go to reach the other replicas (set when serving on Postgres).
    publish: OnceLock<mpsc::UnboundedSender<Wake>>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Wakeups {
            services: Mutex::new(HashMap::new()),
            snapshots: watch::Sender::new(0),
            statuses: watch::Sender::new(0),
            shutdown: watch::Sender::new(false),
            publish: OnceLock::new(),
        }
    }
}

impl Wakeups {
    /// Sends every wake from now on to `publish` too (once; later calls are ignored).
    pub fn publish_to(&self, publish: mpsc::UnboundedSender<Wake>) {
        let _ = self.publish.set(publish);
    }

    fn publish(&self, wake: Wake) {
        if let Some(publish) = self.publish.get() {
            let _ = publish.send(wake);
        }
    }

    /// Wakes the local waiters only (a wake that came from another replica).
    pub fn wake_local(&self, wake: &Wake) {
        match wake {
            Wake::Probes { service, version } => self.local_probes_changed(service, *version),
            Wake::Snapshots => self.local_snapshots_stored(),
            Wake::Statuses => self.local_statuses_changed(),
            Wake::All => {
                let services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                for sender in services.values() {
                    sender.send_modify(|_| {});
                }
                drop(services);
                self.local_snapshots_stored();
                self.local_statuses_changed();
            }
        }
    }

    /// A receiver that changes when `service`'s probe set does.
    pub fn probes(&self, service: &str) -> watch::Receiver<i64> {
        let mut services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        services.entry(service.to_string()).or_insert_with(|| watch::Sender::new(0)).subscribe()
    }

    /// Wakes the waiters on `service`'s probe set, here and on the other replicas.
    pub fn probes_changed(&self, service: &str, version: i64) {
        self.local_probes_changed(service, version);
        self.publish(Wake::Probes { service: service.to_string(), version });
    }

    fn local_probes_changed(&self, service: &str, version: i64) {
        let services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = services.get(service) {
            sender.send_replace(version);
        }
    }

    /// A receiver that changes when snapshots are stored.
    pub fn snapshots(&self) -> watch::Receiver<u64> {
        self.snapshots.subscribe()
    }

    /// Wakes the waiters on snapshots, here and on the other replicas.
    pub fn snapshots_stored(&self) {
        self.local_snapshots_stored();
        self.publish(Wake::Snapshots);
    }

    fn local_snapshots_stored(&self) {
        self.snapshots.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes when what people see of probes changed: an instance reported
    /// statuses or a probe's source, or a probe was created, turned on or off, or deleted.
    pub fn statuses(&self) -> watch::Receiver<u64> {
        self.statuses.subscribe()
    }

    /// Wakes the waiters on probe statuses, here and on the other replicas.
    pub fn statuses_changed(&self) {
        self.local_statuses_changed();
        self.publish(Wake::Statuses);
    }

    fn local_statuses_changed(&self) {
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

#[cfg(test)]
mod tests {
    use super::Wake;

    #[test]
    fn wakes_read_back_what_they_write() {
        for wake in [Wake::Probes { service: "api".into(), version: 42 }, Wake::Snapshots, Wake::Statuses, Wake::All] {
            assert_eq!(Wake::decode(&wake.encode()), Some(wake));
        }
        assert_eq!(Wake::decode("tea api"), None, "a newer replica's kind is ignored");
        assert_eq!(Wake::decode("probes x api"), None);
    }
}
