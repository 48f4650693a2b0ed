//! Wakeups across replicas: several servers on one Postgres database. Every wake this server
//! makes (after its write committed) is published with `NOTIFY borescope_wakeups` through the
//! pool; one dedicated `LISTEN` connection per server turns the other servers' notifications
//! back into local wakes. Each payload starts with the publishing server's random id, so a
//! server skips its own. When the listening connection is lost it is opened again with backoff
//! (0.1 s doubling to 10 s), and since notifications sent meanwhile are gone, every local waiter
//! is then woken to look again (the database is the truth; a wake only says "look again").
//! Published wakes that are the same are sent once.

use crate::wakeup::{Wake, Wakeups};
use sqlx::postgres::PgListener;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The notification channel.
pub const CHANNEL: &str = "borescope_wakeups";
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The publishing and listening tasks; they end when the server shuts down.
pub struct Replicas {
    tasks: [JoinHandle<()>; 2],
}

impl Replicas {
    /// Listens (waiting until `LISTEN` is in place, so no wake of another server made after
    /// this returns is missed), then wires this server's wakes to `NOTIFY`.
    pub async fn start(url: &str, pool: AnyPool, wakeups: Arc<Wakeups>) -> Result<Replicas, sqlx::Error> {
        let origin = crate::auth::random_base62(12).map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        let listener = connect(url).await?;
        let (publish, published) = mpsc::unbounded_channel();
        wakeups.publish_to(publish);
        let listening = tokio::spawn(listen(url.to_string(), listener, origin.clone(), wakeups.clone()));
        let publishing = tokio::spawn(publish_wakes(pool, origin, published, wakeups));
        Ok(Replicas { tasks: [listening, publishing] })
    }

    /// Waits for both tasks to end (after shutdown).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a replica wakeup task ended badly");
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Turns other servers' notifications into local wakes until shutdown.
async fn listen(url: String, mut listener: PgListener, origin: String, wakeups: Arc<Wakeups>) {
    let mut shutdown = wakeups.shutdown_signal();
    let mut backoff = FIRST_BACKOFF;
    loop {
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                _ = shutdown.wait_for(|down| *down) => return,
            };
            match received {
                Ok(Some(notification)) => {
                    backoff = FIRST_BACKOFF;
                    let Some((from, text)) = notification.payload().split_once(' ') else { continue };
                    if from == origin {
                        continue;
                    }
                    match Wake::decode(text) {
                        Some(wake) => wakeups.wake_local(&wake),
                        None => tracing::debug!(payload = text, "a wake of a kind this server does not know"),
                    }
                }
                Ok(None) => {
                    tracing::warn!("the replica wakeup connection was lost; reconnecting");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "the replica wakeup connection failed; reconnecting");
                    break;
                }
            }
        }
        drop(listener);
        listener = loop {
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let connected = tokio::select! {
                connected = connect(&url) => connected,
                _ = shutdown.wait_for(|down| *down) => return,
            };
            match connected {
                Ok(listener) => break listener,
                Err(error) => tracing::warn!(%error, "cannot listen for other replicas' wakeups yet; retrying"),
            }
        };
        tracing::info!("listening for other replicas' wakeups again");
        // What was notified while away is lost: every waiter looks again.
        wakeups.wake_local(&Wake::All);
    }
}

/// Publishes this server's wakes until shutdown, each distinct wake waiting at a time once.
async fn publish_wakes(pool: AnyPool, origin: String, mut published: mpsc::UnboundedReceiver<Wake>, wakeups: Arc<Wakeups>) {
    let mut shutdown = wakeups.shutdown_signal();
    let mut failing = false;
    loop {
        let first = tokio::select! {
            wake = published.recv() => match wake { Some(wake) => wake, None => return },
            _ = shutdown.wait_for(|down| *down) => return,
        };
        let mut batch = vec![first];
        while let Ok(wake) = published.try_recv() {
            if !batch.contains(&wake) {
                batch.push(wake);
            }
        }
        for wake in batch {
            let payload = format!("{origin} {}", wake.encode());
            match sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&pool).await {
                Ok(_) => failing = false,
                Err(error) if !failing => {
                    // Other replicas still see the change at their next recheck.
                    failing = true;
                    tracing::warn!(%error, "cannot notify the other replicas");
                }
                Err(_) => {}
            }
        }
    }
}
