//! The `snapshots` table: storing uploads (counting each snapshot against its probe's hit
//! limit; several uploads may share one transaction) and reading them back by id cursor.

use super::{bump_service, instances::InstanceInfo, now_ms, small, Store, StoreError};
use borescope_snapshots_api::{Snapshot, SnapshotData, SNAPSHOT_SCHEMA};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One uploaded snapshot, ready to store: its probe, when it ran, and its JSON.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The probe that fired.
    pub probe_id: i64,
    /// When the line ran, Unix milliseconds.
    pub time_ms: i64,
    /// The snapshot data as JSON text.
    pub json: String,
}

/// One instance's upload, ready to store.
#[derive(Debug, Clone)]
pub struct UploadBatch {
    /// The uploading instance.
    pub instance_id: String,
    /// What the server knows about it.
    pub instance: InstanceInfo,
    /// Its snapshots, oldest first.
    pub snapshots: Vec<Incoming>,
    /// Its running total of dropped snapshots.
    pub dropped: u64,
}

/// What storing a batch did.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Snapshots stored.
    pub accepted: u64,
    /// Snapshots refused (unknown probe, another service's, past the hit limit).
    pub rejected: u64,
    /// The service's new probe-set version when a probe reached its hit limit in this batch.
    pub bumped: Option<i64>,
}

/// Which snapshots to read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    /// Only this probe's.
    pub probe: Option<i64>,
    /// Only this service's.
    pub service: Option<String>,
    /// Only those whose line ran at or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// Only those whose line ran at or before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Only those with a larger id.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

const COLUMNS: &str = "id, service, instance_id, host, pid, received_ms, data";

impl Store {
    /// Stores uploads (from one or several instances) in one transaction: each snapshot
    /// counts against its probe's hit limit (a probe that reaches it is marked done);
    /// snapshots for unknown probes, another service's probes, or past the limit are refused.
    /// Committed before returning; one answer per upload, in order.
    pub async fn store_uploads(&self, uploads: &[UploadBatch]) -> Result<Vec<Stored>, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let mut answers = Vec::with_capacity(uploads.len());
        for upload in uploads {
            answers.push(store_upload(&mut tx, upload, now).await?);
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Snapshots matching `filter`, oldest first.
    pub async fn snapshots(&self, filter: &SnapshotFilter) -> Result<Vec<Snapshot>, StoreError> {
        // Only the filters given go into the SQL, so SQLite can use the (probe, id) and
        // (service, id) indexes.
        let mut clauses = vec!["id > $1".to_string()];
        let mut next = 2;
        let mut add = |clause: &str| {
            clauses.push(clause.replace('?', &format!("${next}")));
            next += 1;
        };
        if filter.probe.is_some() {
            add("probe_id = ?");
        }
        if filter.service.is_some() {
            add("service = ?");
        }
        if filter.since_ms.is_some() {
            add("time_ms >= ?");
        }
        if filter.until_ms.is_some() {
            add("time_ms <= ?");
        }
        let sql = format!("SELECT {COLUMNS} FROM snapshots WHERE {} ORDER BY id LIMIT ${next}", clauses.join(" AND "));
        let mut query = sqlx::query(&sql).bind(filter.after.unwrap_or(0));
        if let Some(probe) = filter.probe {
            query = query.bind(probe);
        }
        if let Some(service) = &filter.service {
            query = query.bind(service.clone());
        }
        if let Some(since) = filter.since_ms {
            query = query.bind(since);
        }
        if let Some(until) = filter.until_ms {
            query = query.bind(until);
        }
        let rows = query.bind(i64::from(filter.limit)).fetch_all(self.reader()).await?;
        rows.iter().map(snapshot).collect()
    }

    /// A cursor for "the newest `count` snapshots": the id just before them (0 when there are
    /// no more than `count`).
    pub async fn cursor_before_newest(&self, count: u32) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT id FROM snapshots ORDER BY id DESC LIMIT 1 OFFSET $1")
            .bind(i64::from(count))
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        Ok(match row {
            Some(row) => row.try_get("id")?,
            None => 0,
        })
    }

    /// One snapshot.
    pub async fn snapshot(&self, id: i64) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM snapshots WHERE id = $1"))
            .bind(id)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        row.as_ref().map(snapshot).transpose()
    }
}

fn snapshot(row: &AnyRow) -> Result<Snapshot, StoreError> {
    let id: i64 = row.try_get("id")?;
    let data: String = row.try_get("data")?;
    let data: SnapshotData =
        serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(format!("snapshot {id}: {e}")))?;
    Ok(Snapshot {
        schema: SNAPSHOT_SCHEMA.to_string(),
        id,
        service: row.try_get("service")?,
        instance_id: row.try_get("instance_id")?,
        host: row.try_get("host")?,
        pid: small(row, "pid")?,
        received_ms: row.try_get("received_ms")?,
        data,
    })
}

/// One upload inside the caller's transaction.
async fn store_upload(tx: &mut sqlx::AnyConnection, upload: &UploadBatch, now: i64) -> Result<Stored, StoreError> {
    let instance = &upload.instance;
    let mut stored = Stored::default();
    let mut reached_limit = false;
    for snapshot in &upload.snapshots {
        let counted = sqlx::query(
            "UPDATE probes SET hits = hits + 1 WHERE id = $1 AND service = $2 \
             AND (max_hits IS NULL OR hits < max_hits) RETURNING hits, max_hits",
        )
        .bind(snapshot.probe_id)
        .bind(&instance.service)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next();
        let Some(counted) = counted else {
            stored.rejected += 1;
            continue;
        };
        sqlx::query(
            "INSERT INTO snapshots (probe_id, service, instance_id, host, pid, time_ms, received_ms, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(snapshot.probe_id)
        .bind(&instance.service)
        .bind(&upload.instance_id)
        .bind(&instance.host)
        .bind(i64::from(instance.pid))
        .bind(snapshot.time_ms)
        .bind(now)
        .bind(&snapshot.json)
        .execute(&mut *tx)
        .await?;
        stored.accepted += 1;
        let hits: i64 = counted.try_get("hits")?;
        let max_hits: Option<i64> = counted.try_get("max_hits")?;
        if max_hits.is_some_and(|max| hits >= max) {
            sqlx::query("UPDATE probes SET done = 1 WHERE id = $1").bind(snapshot.probe_id).execute(&mut *tx).await?;
            reached_limit = true;
        }
    }
    sqlx::query("UPDATE instances SET last_seen_ms = $1, gone = 0, dropped = $2 WHERE instance_id = $3")
        .bind(now)
        .bind(i64::try_from(upload.dropped).unwrap_or(i64::MAX))
        .bind(&upload.instance_id)
        .execute(&mut *tx)
        .await?;
    if reached_limit {
        stored.bumped = Some(bump_service(&mut *tx, &instance.service).await?);
    }
    Ok(stored)
}
