//! The versioned schema, embedded in the binary: one SQL file per version and dialect under
//! `migrations/{sqlite,postgres}/`, applied in order at start by sqlx's migrator (which records
//! what ran in `_sqlx_migrations`, checks that applied files did not change, and on Postgres
//! holds an advisory lock so two servers starting together do not both migrate).
//!
//! To change the schema, add a file with the next version to both directories and a line to
//! both lists below; never edit a released file.

use super::{Backend, StoreError};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// (version, description, SQL) for SQLite.
const SQLITE: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "exceptions", include_str!("../../migrations/sqlite/0002_exceptions.sql")),
    (3, "probe sources", include_str!("../../migrations/sqlite/0003_probe_sources.sql")),
    (4, "upload batches", include_str!("../../migrations/sqlite/0004_upload_batches.sql")),
];

/// (version, description, SQL) for Postgres.
const POSTGRES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "exceptions", include_str!("../../migrations/postgres/0002_exceptions.sql")),
    (3, "probe sources", include_str!("../../migrations/postgres/0003_probe_sources.sql")),
    (4, "upload batches", include_str!("../../migrations/postgres/0004_upload_batches.sql")),
];

/// The embedded migrations of one dialect.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Applies the migrations the database has not run yet.
pub async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let source = match backend {
        Backend::Sqlite => Embedded(SQLITE),
        Backend::Postgres => Embedded(POSTGRES),
    };
    let migrator = Migrator::new(source).await.map_err(|e| StoreError::Database(e.into()))?;
    migrator.run(pool).await.map_err(|e| StoreError::Database(e.into()))?;
    Ok(())
}
