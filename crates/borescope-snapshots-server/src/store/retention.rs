//! Deleting what is kept no longer: snapshots older than the retention period, snapshots past
//! a probe's cap (oldest first), exception snapshots past the same cap per service, probes that
//! ended longer ago than the retention period, instances not heard from for as long, and the ids
//! of uploads received before it. Deletes go in chunks, each its own short
//! transaction, so uploads never wait long behind a sweep.

use super::{Store, StoreError};
use sqlx::Row;

/// Rows deleted per statement.
const CHUNK: i64 = 2000;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Snapshots past the retention period.
    pub expired_snapshots: u64,
    /// Snapshots past their probe's cap.
    pub capped_snapshots: u64,
    /// Probes that ended before the retention period.
    pub probes: u64,
    /// Instances not heard from during the retention period.
    pub instances: u64,
}

impl Store {
    /// Deletes what is older than `cutoff_ms` and snapshots beyond `per_probe` per probe.
    pub async fn sweep(&self, cutoff_ms: i64, per_probe: u64) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        loop {
            let done = sqlx::query(
                "DELETE FROM snapshots WHERE id IN (SELECT id FROM snapshots WHERE received_ms < $1 ORDER BY id LIMIT $2)",
            )
            .bind(cutoff_ms)
            .bind(CHUNK)
            .execute(self.writer())
            .await?;
            swept.expired_snapshots += done.rows_affected();
            if done.rows_affected() < CHUNK as u64 {
                break;
            }
        }
        let per_probe = i64::try_from(per_probe).unwrap_or(i64::MAX);
        // A probe's stored snapshots never outnumber its hits, so only these can be over.
        let over = sqlx::query("SELECT id FROM probes WHERE hits > $1").bind(per_probe).fetch_all(self.reader()).await?;
        for row in over {
            let probe: i64 = row.try_get("id")?;
            let done = sqlx::query(
                "DELETE FROM snapshots WHERE probe_id = $1 AND id <= \
                 (SELECT id FROM snapshots WHERE probe_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(probe)
            .bind(per_probe)
            .execute(self.writer())
            .await?;
            swept.capped_snapshots += done.rows_affected();
        }
        // Exception snapshots have no probe: the same cap holds per service.
        let over = sqlx::query("SELECT service FROM snapshots WHERE kind = 'exception' GROUP BY service HAVING COUNT(*) > $1")
            .bind(per_probe)
            .fetch_all(self.reader())
            .await?;
        for row in over {
            let service: String = row.try_get("service")?;
            let done = sqlx::query(
                "DELETE FROM snapshots WHERE kind = 'exception' AND service = $1 AND id <= \
                 (SELECT id FROM snapshots WHERE kind = 'exception' AND service = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(&service)
            .bind(per_probe)
            .execute(self.writer())
            .await?;
            swept.capped_snapshots += done.rows_affected();
        }
        let mut tx = self.writer().begin().await?;
        let ended = sqlx::query("SELECT id FROM probes WHERE expires_ms < $1").bind(cutoff_ms).fetch_all(&mut *tx).await?;
        for row in &ended {
            let probe: i64 = row.try_get("id")?;
            sqlx::query("DELETE FROM snapshots WHERE probe_id = $1").bind(probe).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM statuses WHERE probe_id = $1").bind(probe).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM probe_sources WHERE probe_id = $1").bind(probe).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM probes WHERE id = $1").bind(probe).execute(&mut *tx).await?;
        }
        swept.probes = ended.len() as u64;
        let instances = sqlx::query("DELETE FROM instances WHERE last_seen_ms < $1").bind(cutoff_ms).execute(&mut *tx).await?;
        swept.instances = instances.rows_affected();
        sqlx::query("DELETE FROM statuses WHERE instance_id NOT IN (SELECT instance_id FROM instances)")
            .execute(&mut *tx)
            .await?;
        // Batch ids only guard retries, which come within minutes.
        sqlx::query("DELETE FROM upload_batches WHERE received_ms < $1").bind(cutoff_ms).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(swept)
    }
}
