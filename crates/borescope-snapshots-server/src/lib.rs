//! `borescope server`: the live-snapshot server. People, the CLI and MCP create probes and read
//! snapshots with the admin token; agents inside services register, long-poll their service's
//! probes, upload snapshot batches and report per-probe status with an agent key bound to that
//! service. The HTTP API is the one `borescope-snapshots-api` types (documented in
//! `docs/snapshots-api.md`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), borescope_snapshots_server::ServerError> {
//! use borescope_snapshots_server::{DatabaseConfig, Server, ServerConfig};
//! let server = Server::open(ServerConfig::new(DatabaseConfig::DataDir("/var/lib/borescope".into()))).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7300").await.map_err(borescope_snapshots_server::ServerError::Serve)?;
//! server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! Modules, one job each: [`config`] (settings, the admin token), [`error`] (API and start-up
//! errors), `auth` (admin and agent-key extractors), `extract` (JSON/gzip bodies, queries, ids),
//! `validate` (input limits), [`store`] (SQLite or Postgres through sqlx `Any`), `routes` (the
//! endpoints, and the web page at `/`), `session` (the page's login cookie and CSRF token),
//! `wakeup` (long-poll and event-stream wakeups), `replicas` (wakeups across servers on one
//! Postgres: LISTEN/NOTIFY), `retention` (the sweep task), `ingest` (group commit of uploads),
//! `cache` (recently used keys and instances).
//!
//! This crate prints nothing: the binary says where it listens and shows a generated token.

#![deny(missing_docs)]

mod auth;
mod cache;
pub mod config;
pub mod error;
mod extract;
mod ingest;
mod replicas;
mod retention;
mod routes;
mod session;
mod state;
pub mod store;
mod validate;
mod wakeup;

pub use config::{AdminToken, DatabaseConfig, ServerConfig, TokenOrigin};
pub use error::ServerError;
pub use store::retention::Swept;
pub use store::Backend;

use axum::serve::ListenerExt;
use state::{AppState, Settings};
use std::future::Future;
use std::sync::Arc;
use store::Store;

/// A server with its database open and its admin token settled, ready to serve. Clones share
/// the database and wakeups (keep one to call [`Server::sweep`] while another serves).
#[derive(Clone)]
pub struct Server {
    state: AppState,
    token: AdminToken,
    database: String,
    /// The Postgres URL, for the replicas' LISTEN connection.
    postgres: Option<String>,
}

impl Server {
    /// Opens the database (creating the data directory, the SQLite file and the schema as
    /// needed) and settles the admin token (given, stored, or generated now).
    pub async fn open(config: ServerConfig) -> Result<Server, ServerError> {
        if config.retention.is_zero() {
            return Err(ServerError::Config("the retention period must be longer than 0 seconds".into()));
        }
        // A given token is checked before anything is created.
        let given = config.token.as_deref().map(|token| AdminToken::resolve(Some(token), None)).transpose()?;
        let (store, token, database) = match &config.database {
            DatabaseConfig::DataDir(dir) => {
                config::prepare_data_dir(dir)?;
                let file = dir.join(config::DATABASE_FILE);
                let database = format!("sqlite {}", file.display());
                let store = Store::open_sqlite_file(&file)
                    .await
                    .map_err(|source| ServerError::Database { database: database.clone(), source })?;
                // Only once the database opened: a token generated for a server that then
                // failed to start would be stored but never shown.
                let token = match given {
                    Some(token) => token,
                    None => AdminToken::resolve(None, Some(dir))?,
                };
                (store, token, database)
            }
            DatabaseConfig::Url(url) => {
                let database = config::redact_url(url);
                if Backend::of_url(url).is_none() {
                    return Err(ServerError::Config(format!(
                        "`{database}` is not a database URL borescope serves: use postgres://USER:PASSWORD@HOST/DB or sqlite:PATH"
                    )));
                }
                let token = match given {
                    Some(token) => token,
                    None => AdminToken::resolve(None, None)?,
                };
                let store = Store::open_url(url)
                    .await
                    .map_err(|source| ServerError::Database { database: database.clone(), source })?;
                (store, token, database)
            }
        };
        let redact_changed = store
            .settle_redact_list(&config.redact)
            .await
            .map_err(|source| ServerError::Database { database: database.clone(), source })?;
        if redact_changed {
            tracing::info!("the redaction list changed: agents will fetch it on their next poll");
        }
        let settings = Settings {
            token_digest: auth::digest(token.secret()),
            redact: config.redact.clone(),
            global_rate: config.global_rate,
            recheck: config.recheck,
            retention: config.retention,
            snapshots_per_probe: config.snapshots_per_probe,
        };
        let ingest = Arc::new(ingest::Ingest::start(store.clone()));
        let postgres = match (&config.database, store.backend()) {
            (DatabaseConfig::Url(url), Backend::Postgres) => Some(url.clone()),
            _ => None,
        };
        let sessions = Arc::new(session::Sessions::new(&settings.token_digest));
        let state = AppState { store, settings: Arc::new(settings), wakeups: Arc::default(), ingest, cache: Arc::default(), sessions, sweeps_run: Arc::default() };
        Ok(Server { state, token, database, postgres })
    }

    /// The admin token, and whether it was generated now (then show it once).
    pub fn admin_token(&self) -> &AdminToken {
        &self.token
    }

    /// The database, for people: `sqlite /path/snapshots.db`, or the URL without password.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Which database it is.
    pub fn backend(&self) -> Backend {
        self.state.store.backend()
    }

    /// The API as an axum router (for serving it yourself, or calling it in-process).
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Runs one retention sweep now (the server also runs them by itself while serving).
    pub async fn sweep(&self) -> Result<Swept, ServerError> {
        retention::sweep(&self.state)
            .await
            .map_err(|source| ServerError::Database { database: self.database.clone(), source })
    }

    /// Waits until the serving server's own retention task has run `count` sweeps (the first
    /// runs at start), so a caller knows what that sweep saw: e.g. data written after it waits
    /// for the next one, a minute later at most.
    pub async fn own_sweeps(&self, count: u64) {
        let mut runs = self.state.sweeps_run.subscribe();
        let _ = runs.wait_for(|done| *done >= count).await;
    }

    /// Serves the API on `listener` until `shutdown` completes; then stops accepting, answers
    /// waiting long-polls at once, lets requests in flight finish, and closes the database.
    /// On Postgres it first listens for the wakeups of other servers on the same database
    /// (replicas), and publishes its own.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state.clone();
        let replicas = match &self.postgres {
            Some(url) => Some(
                replicas::Replicas::start(url, state.store.writer().clone(), state.wakeups.clone())
                    .await
                    .map_err(|source| ServerError::Database { database: self.database.clone(), source: source.into() })?,
            ),
            None => None,
        };
        let sweeper = tokio::spawn(retention::run(state.clone()));
        let wakeups = state.wakeups.clone();
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                shutdown.await;
                wakeups.shut_down();
            })
            .await;
        state.wakeups.shut_down();
        if let Err(error) = sweeper.await {
            tracing::warn!(%error, "the retention task ended badly");
        }
        if let Some(replicas) = replicas {
            replicas.join().await;
        }
        state.store.close().await;
        served.map_err(ServerError::Serve)
    }
}
