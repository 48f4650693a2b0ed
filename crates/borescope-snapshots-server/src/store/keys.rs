//! The `agent_keys` table: agent keys, stored only as SHA-256 hashes with a short prefix to
//! tell them apart, each bound to one service.

use super::{now_ms, Store, StoreError};
use borescope_snapshots_api::people::KeyInfo;
use sqlx::any::AnyRow;
use sqlx::Row;

impl Store {
    /// Stores a key's hash; returns the stored key's description.
    pub async fn create_key(&self, service: &str, hash: &str, prefix: &str) -> Result<KeyInfo, StoreError> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO agent_keys (service, hash, prefix, created_ms) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(service)
        .bind(hash)
        .bind(prefix)
        .bind(now)
        .fetch_all(self.writer())
        .await?
        .into_iter()
        .next()
        .ok_or(sqlx::Error::RowNotFound)?;
        Ok(KeyInfo { id: row.try_get("id")?, service: service.to_string(), prefix: prefix.to_string(), created_ms: now })
    }

    /// Every key, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = sqlx::query("SELECT id, service, prefix, created_ms FROM agent_keys ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(key).collect()
    }

    /// Deletes a key; false when there is none with this id.
    pub async fn delete_key(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM agent_keys WHERE id = $1").bind(id).execute(self.writer()).await?;
        Ok(done.rows_affected() > 0)
    }

    /// The key with this hash: its id and service.
    pub async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError> {
        let row = sqlx::query("SELECT id, service, prefix, created_ms FROM agent_keys WHERE hash = $1")
            .bind(hash)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        row.as_ref().map(key).transpose()
    }
}

fn key(row: &AnyRow) -> Result<KeyInfo, StoreError> {
    Ok(KeyInfo {
        id: row.try_get("id")?,
        service: row.try_get("service")?,
        prefix: row.try_get("prefix")?,
        created_ms: row.try_get("created_ms")?,
    })
}
