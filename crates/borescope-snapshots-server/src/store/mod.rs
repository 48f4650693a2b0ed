//! The database: one [`Store`] over sqlx's `Any` driver, so the same SQL (with `$1..$n`
//! placeholders, numbered in order) serves SQLite and Postgres. Each submodule owns the
//! queries of one table: [`probes`], [`statuses`], [`sources`] (what instances report of a probe's
//! file), [`instances`], [`snapshots`], [`keys`], [`services`] (the list people see and the
//! exception-snapshot setting), and [`retention`] what is deleted when;
//! [`migrations`] embeds the versioned schema of both dialects.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL` (a commit survives the process being
//! killed; only a power loss can lose the last transactions), a busy timeout, and one writer
//! connection, so writes queue in the process instead of sleeping in SQLite's busy handler,
//! while readers use a pool of their own. Postgres uses one pool for both.
//!
//! Every write an answer acknowledges is committed before the answer is sent.
//!
//! Every query reads its rows to the end (`fetch_all`, never `fetch_one`/`fetch_optional`):
//! those drop the SQLite statement before it finishes, and until sqlx's worker resets it the
//! connection keeps an implicit read transaction open on an old WAL snapshot. A pooled reader
//! in that state answers every later query from the past, so a long poll never saw a new
//! probe-set version (seen as agents that never heard of a probe, under load).

pub mod instances;
pub mod keys;
pub mod migrations;
pub mod probes;
pub mod retention;
pub mod services;
pub mod snapshots;
pub mod sources;
pub mod statuses;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back (a JSON column, an unknown status name).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A Postgres server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`, as `GET /api/v1/health` says.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The backend a database URL names, if it is one we serve.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The database, with a pool for writes and one for reads (the same pool on Postgres).
#[derive(Clone, Debug)]
pub struct Store {
    write: AnyPool,
    read: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating it if needed) the SQLite file at `path`.
    pub async fn open_sqlite_file(path: &Path) -> Result<Store, StoreError> {
        use sqlx::ConnectOptions;
        let url = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .to_url_lossy();
        Store::open_url(url.as_str()).await
    }

    /// Opens the database at `url` (`sqlite:...` or `postgres://...`) and brings its schema up
    /// to date.
    pub async fn open_url(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)
            .ok_or_else(|| StoreError::Database(sqlx::Error::Configuration("not a sqlite: or postgres:// URL".into())))?;
        let store = match backend {
            Backend::Sqlite => {
                let write = sqlite_pool(1).connect(url).await?;
                // The schema (and WAL mode, which is stored in the file) before readers open.
                migrations::run(&write, backend).await?;
                let read = sqlite_pool(4).connect(url).await?;
                Store { write, read, backend }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new().max_connections(10).connect(url).await?;
                migrations::run(&pool, backend).await?;
                Store { write: pool.clone(), read: pool, backend }
            }
        };
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool writes go through (one connection on SQLite).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// The pool reads go through.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Closes every connection (on SQLite this checkpoints the WAL into the main file).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Records the server's redaction list; when it differs from the last start's, bumps every
    /// service's version so waiting agents fetch it. True when it changed.
    pub async fn settle_redact_list(&self, redact: &[String]) -> Result<bool, StoreError> {
        let value = serde_json::to_string(redact).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let before = self.setting("redact").await?;
        if before.as_deref() == Some(value.as_str()) || (before.is_none() && redact.is_empty()) {
            return Ok(false);
        }
        sqlx::query("UPDATE services SET version = version + 1").execute(self.writer()).await?;
        self.set_setting("redact", &value).await?;
        Ok(true)
    }

    /// A stored setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1").bind(name).fetch_all(self.reader()).await?.into_iter().next();
        Ok(match row {
            Some(row) => Some(row.try_get("value")?),
            None => None,
        })
    }

    /// Stores a setting.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(value)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

/// A pool of SQLite connections. The writer checkpoints the WAL itself, SQLite's way (every
/// 1000 pages, at the commit that crosses it): measured against larger thresholds with a
/// background checkpointer (`bench/snapshot_ingest.py`), these short, frequent checkpoints gave
/// the steadiest upload latency.
fn sqlite_pool(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                // After a checkpoint lets the WAL start over, keep its file at most 64 MiB.
                conn.execute("PRAGMA journal_size_limit = 67108864").await?;
                Ok(())
            })
        })
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A non-negative count from the database.
pub(crate) fn count(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(column)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// A small non-negative integer (line, pid, limits) from the database.
pub(crate) fn small(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

/// An optional small integer.
pub(crate) fn small_opt(row: &AnyRow, column: &str) -> Result<Option<u32>, StoreError> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{column} {v} is out of range"))))
        .transpose()
}

/// The current probe-set version of a service (0 before its first probe).
pub async fn service_version<'e, E>(executor: E, service: &str) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT version FROM services WHERE name = $1").bind(service).fetch_all(executor).await?.into_iter().next();
    Ok(match row {
        Some(row) => row.try_get("version")?,
        None => 0,
    })
}

/// Bumps a service's probe-set version (creating its row) and returns the new version.
pub(crate) async fn bump_service<'e, E>(executor: E, service: &str) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "INSERT INTO services (name, version) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET version = services.version + 1 RETURNING version",
    )
    .bind(service)
    .fetch_all(executor)
    .await?
    .into_iter()
    .next()
    .ok_or(sqlx::Error::RowNotFound)?;
    Ok(row.try_get("version")?)
}
