//! The `snapshots` table: storing uploads (counting each probe snapshot against its probe's hit
//! limit; several uploads may share one transaction) and reading them back by id cursor.
//! Exception snapshots have no probe (`probe_id` 0 in the table, null in the API) and a running
//! `occurrences` count that later uploads add the agent's suppressed occurrences to.
//!
//! The id cursor (`after`) is only sound if ids become visible in order: a reader that saw id
//! 11 must never later find a 10. SQLite has one writer at a time. On Postgres several servers
//! (replicas) write at once, and a sequence hands out ids at insert, not at commit: a
//! transaction holding id 10 could commit after another's id 11 was read. So on Postgres every
//! upload transaction first takes one transaction-scoped advisory lock
//! ([`SNAPSHOT_WRITER_LOCK`]): snapshot inserts are serialised across servers, and Postgres
//! makes a commit visible before it releases the lock, so ids are visible in order. (Each
//! server already writes its uploads in groups through one task, so replicas contend once per
//! group, not per upload.)

use super::{bump_service, count, instances::InstanceInfo, now_ms, small, Store, StoreError};
use borescope_snapshots_api::agent::Occurrences;
use borescope_snapshots_api::{Snapshot, SnapshotData, SnapshotKind, SNAPSHOT_SCHEMA};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One uploaded snapshot, ready to store: its probe (or exception), when it ran, and its JSON.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The probe that fired; for an exception snapshot, its group and occurrences.
    pub source: Source,
    /// When the line ran, Unix milliseconds.
    pub time_ms: i64,
    /// The snapshot data as JSON text.
    pub json: String,
}

/// What made an incoming snapshot.
#[derive(Debug, Clone)]
pub enum Source {
    /// A probe's line ran.
    Probe(i64),
    /// An exception: its group (see [`group`]) and occurrences so far.
    Exception {
        /// `type\nfile\nline`.
        group: String,
        /// Occurrences the snapshot stands for.
        occurrences: u64,
    },
}

/// The key that ties an exception snapshot to the occurrences reported after it.
pub fn group(type_name: &str, file: &str, line: u32) -> String {
    format!("{type_name}\n{file}\n{line}")
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
    /// Exception occurrences it suppressed since its last upload.
    pub occurrences: Vec<Occurrences>,
    /// The agent's id for this upload: sent again (after a lost answer), it is answered with
    /// what was stored the first time and stores nothing.
    pub batch_id: Option<String>,
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
    /// The batch was stored before (a retry): nothing was stored now.
    pub repeated: bool,
}

/// Which snapshots to read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    /// Only this probe's.
    pub probe: Option<i64>,
    /// Only this service's.
    pub service: Option<String>,
    /// Only this kind.
    pub kind: Option<SnapshotKind>,
    /// Only those whose line ran at or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// Only those whose line ran at or before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Only those with a larger id.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

const COLUMNS: &str = "id, service, instance_id, host, pid, received_ms, data, kind, occurrences";

/// The advisory lock key that serialises snapshot inserts on Postgres (see the module docs).
pub const SNAPSHOT_WRITER_LOCK: i64 = 0x626f_7265_7363_6f70; // "borescop" in ASCII

impl Store {
    /// Stores uploads (from one or several instances) in one transaction: each snapshot
    /// counts against its probe's hit limit (a probe that reaches it is marked done);
    /// snapshots for unknown probes, another service's probes, or past the limit are refused.
    /// Committed before returning; one answer per upload, in order.
    pub async fn store_uploads(&self, uploads: &[UploadBatch]) -> Result<Vec<Stored>, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        if self.backend() == super::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SNAPSHOT_WRITER_LOCK).execute(&mut *tx).await?;
        }
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
        if filter.kind.is_some() {
            add("kind = ?");
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
        if let Some(kind) = filter.kind {
            query = query.bind(kind.as_str());
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
    let mut data: SnapshotData =
        serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(format!("snapshot {id}: {e}")))?;
    let kind: String = row.try_get("kind")?;
    if kind == SnapshotKind::Exception.as_str() {
        data.kind = SnapshotKind::Exception;
        data.probe_id = None;
        let occurrences: Option<i64> = row.try_get("occurrences")?;
        if let (Some(exception), Some(n)) = (data.exception.as_mut(), occurrences) {
            exception.occurrences = u64::try_from(n).unwrap_or(0);
        }
    }
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
    if let Some(batch_id) = &upload.batch_id {
        // First claim the batch id; a batch already stored is answered as it was then.
        let claimed = sqlx::query(
            "INSERT INTO upload_batches (instance_id, batch_id, accepted, rejected, received_ms) VALUES ($1, $2, 0, 0, $3) \
             ON CONFLICT (instance_id, batch_id) DO NOTHING",
        )
        .bind(&upload.instance_id)
        .bind(batch_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            let row = sqlx::query("SELECT accepted, rejected FROM upload_batches WHERE instance_id = $1 AND batch_id = $2")
                .bind(&upload.instance_id)
                .bind(batch_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .next()
                .ok_or(sqlx::Error::RowNotFound)?;
            return Ok(Stored { accepted: count(&row, "accepted")?, rejected: count(&row, "rejected")?, bumped: None, repeated: true });
        }
    }
    let mut stored = Stored::default();
    let mut reached_limit = false;
    for snapshot in &upload.snapshots {
        let probe_id = match &snapshot.source {
            Source::Probe(id) => *id,
            Source::Exception { group, occurrences } => {
                insert(&mut *tx, upload, snapshot, 0, SnapshotKind::Exception, Some((group, *occurrences)), now).await?;
                stored.accepted += 1;
                continue;
            }
        };
        let counted = sqlx::query(
            "UPDATE probes SET hits = hits + 1 WHERE id = $1 AND service = $2 \
             AND (max_hits IS NULL OR hits < max_hits) RETURNING hits, max_hits",
        )
        .bind(probe_id)
        .bind(&instance.service)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next();
        let Some(counted) = counted else {
            stored.rejected += 1;
            continue;
        };
        insert(&mut *tx, upload, snapshot, probe_id, SnapshotKind::Probe, None, now).await?;
        stored.accepted += 1;
        let hits: i64 = counted.try_get("hits")?;
        let max_hits: Option<i64> = counted.try_get("max_hits")?;
        if max_hits.is_some_and(|max| hits >= max) {
            sqlx::query("UPDATE probes SET done = 1 WHERE id = $1").bind(probe_id).execute(&mut *tx).await?;
            reached_limit = true;
        }
    }
    for seen in &upload.occurrences {
        // The instance's latest snapshot of the same failure; none (retention took it, or it
        // was never stored): nothing to add to.
        sqlx::query(
            "UPDATE snapshots SET occurrences = occurrences + $1 WHERE id = \
             (SELECT MAX(id) FROM snapshots WHERE instance_id = $2 AND grp = $3)",
        )
        .bind(i64::try_from(seen.count).unwrap_or(i64::MAX))
        .bind(&upload.instance_id)
        .bind(group(&seen.type_name, &seen.file, seen.line))
        .execute(&mut *tx)
        .await?;
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
    if let Some(batch_id) = &upload.batch_id {
        sqlx::query("UPDATE upload_batches SET accepted = $1, rejected = $2 WHERE instance_id = $3 AND batch_id = $4")
            .bind(i64::try_from(stored.accepted).unwrap_or(i64::MAX))
            .bind(i64::try_from(stored.rejected).unwrap_or(i64::MAX))
            .bind(&upload.instance_id)
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(stored)
}

/// Inserts one snapshot row inside the caller's transaction.
async fn insert(
    tx: &mut sqlx::AnyConnection,
    upload: &UploadBatch,
    snapshot: &Incoming,
    probe_id: i64,
    kind: SnapshotKind,
    exception: Option<(&String, u64)>,
    now: i64,
) -> Result<(), StoreError> {
    let instance = &upload.instance;
    sqlx::query(
        "INSERT INTO snapshots (probe_id, service, instance_id, host, pid, time_ms, received_ms, data, kind, grp, occurrences) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(probe_id)
    .bind(&instance.service)
    .bind(&upload.instance_id)
    .bind(&instance.host)
    .bind(i64::from(instance.pid))
    .bind(snapshot.time_ms)
    .bind(now)
    .bind(&snapshot.json)
    .bind(kind.as_str())
    .bind(exception.map(|(group, _)| group.clone()))
    .bind(exception.map(|(_, n)| i64::try_from(n).unwrap_or(i64::MAX)))
    .execute(tx)
    .await?;
    Ok(())
}
