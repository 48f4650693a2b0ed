//! The `probes` table: creating, reading, enabling and deleting probes, and the set an agent
//! arms. A probe's state is derived when it is read: done (its hit limit was reached), expired
//! (its time ran out), disabled, or active.

use super::{bump_service, count, now_ms, small, small_opt, statuses, Store, StoreError};
use borescope_snapshots_api::agent::AgentProbe;
use borescope_snapshots_api::people::{ProbeState, ProbeView, PROBE_SCHEMA};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A probe to store, validated.
#[derive(Debug, Clone)]
pub struct ProbeRecord {
    /// Service.
    pub service: String,
    /// Environment filter.
    pub env: Option<String>,
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Condition.
    pub condition: Option<String>,
    /// Capture expressions.
    pub captures: Vec<String>,
    /// Logpoint template.
    pub log: Option<String>,
    /// Hit limit.
    pub max_hits: Option<u32>,
    /// Snapshots per second per instance.
    pub rate: f64,
    /// Frames with locals.
    pub frames_with_locals: u32,
    /// Lifetime, milliseconds.
    pub ttl_ms: i64,
}

const COLUMNS: &str = "id, service, env, file, line, condition, captures, log, max_hits, rate, frames_with_locals, \
                       created_ms, expires_ms, enabled, done, hits";

/// What changed when a probe was written: the probe, and its service's new version.
pub struct Written {
    /// The probe as stored.
    pub probe: ProbeView,
    /// The service's probe-set version after the change.
    pub version: i64,
}

impl Store {
    /// Stores a new probe and bumps its service's version.
    pub async fn create_probe(&self, record: &ProbeRecord) -> Result<Written, StoreError> {
        let now = now_ms();
        let captures = serde_json::to_string(&record.captures).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "INSERT INTO probes (service, env, file, line, condition, captures, log, max_hits, rate, frames_with_locals, \
             created_ms, expires_ms, enabled, done, hits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, 0, 0) RETURNING id",
        )
        .bind(&record.service)
        .bind(&record.env)
        .bind(&record.file)
        .bind(i64::from(record.line))
        .bind(&record.condition)
        .bind(captures)
        .bind(&record.log)
        .bind(record.max_hits.map(i64::from))
        .bind(record.rate)
        .bind(i64::from(record.frames_with_locals))
        .bind(now)
        .bind(now.saturating_add(record.ttl_ms))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .next()
        .ok_or(sqlx::Error::RowNotFound)?;
        let id: i64 = row.try_get("id")?;
        let version = bump_service(&mut *tx, &record.service).await?;
        tx.commit().await?;
        let probe = self.probe(id).await?.ok_or_else(|| StoreError::Corrupt(format!("probe {id} vanished after insert")))?;
        Ok(Written { probe, version })
    }

    /// One probe with its per-instance statuses.
    pub async fn probe(&self, id: i64) -> Result<Option<ProbeView>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM probes WHERE id = $1"))
            .bind(id)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        let Some(row) = row else { return Ok(None) };
        let mut probe = view(&row, now_ms())?;
        probe.statuses = self.statuses_of(id).await?;
        Ok(Some(probe))
    }

    /// Probes, newest first: of one service or all, and with `all` also the ended ones.
    pub async fn probes(&self, service: Option<&str>, all: bool) -> Result<Vec<ProbeView>, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM probes WHERE ($1 IS NULL OR service = $1) \
             AND ($2 = 1 OR (done = 0 AND expires_ms > $3)) ORDER BY id DESC"
        ))
        .bind(service)
        .bind(i64::from(all))
        .bind(now)
        .fetch_all(self.reader())
        .await?;
        let mut probes = rows.iter().map(|row| view(row, now)).collect::<Result<Vec<_>, _>>()?;
        let mut by_probe = self.statuses_of_probes(service).await?;
        for probe in &mut probes {
            probe.statuses = by_probe.remove(&probe.id).unwrap_or_default();
        }
        Ok(probes)
    }

    /// Turns a probe on or off; `None` when there is no such probe.
    pub async fn set_enabled(&self, id: i64, enabled: bool) -> Result<Option<Written>, StoreError> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query("UPDATE probes SET enabled = $1 WHERE id = $2 RETURNING service")
            .bind(i64::from(enabled))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
        let Some(row) = row else { return Ok(None) };
        let service: String = row.try_get("service")?;
        let version = bump_service(&mut *tx, &service).await?;
        tx.commit().await?;
        let probe = self.probe(id).await?.ok_or_else(|| StoreError::Corrupt(format!("probe {id} vanished")))?;
        Ok(Some(Written { probe, version }))
    }

    /// Deletes a probe with its statuses and snapshots; the service's new version, or `None`
    /// when there is no such probe.
    pub async fn delete_probe(&self, id: i64) -> Result<Option<(String, i64)>, StoreError> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query("DELETE FROM probes WHERE id = $1 RETURNING service").bind(id).fetch_all(&mut *tx).await?.into_iter().next();
        let Some(row) = row else { return Ok(None) };
        let service: String = row.try_get("service")?;
        sqlx::query("DELETE FROM statuses WHERE probe_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM probe_sources WHERE probe_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM snapshots WHERE probe_id = $1").bind(id).execute(&mut *tx).await?;
        let version = bump_service(&mut *tx, &service).await?;
        tx.commit().await?;
        Ok(Some((service, version)))
    }

    /// The probes an instance of `service` in `env` arms now: enabled, not done, not expired,
    /// and meant for its environment.
    pub async fn active_probes(&self, service: &str, env: Option<&str>) -> Result<Vec<AgentProbe>, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, (SELECT COUNT(*) FROM probe_sources ps WHERE ps.probe_id = probes.id) AS sources \
             FROM probes WHERE service = $1 AND enabled = 1 AND done = 0 AND expires_ms > $2 \
             AND (env IS NULL OR env = $3) ORDER BY id"
        ))
        .bind(service)
        .bind(now)
        .bind(env)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let view = view(row, now)?;
                let sources: i64 = row.try_get("sources")?;
                Ok(AgentProbe {
                    id: view.id,
                    file: view.file,
                    line: view.line,
                    condition: view.condition,
                    captures: view.captures,
                    log: view.log,
                    rate: view.rate,
                    hits_left: view.max_hits.map(|max| u64::from(max).saturating_sub(view.hits)),
                    frames_with_locals: view.frames_with_locals,
                    expires_ms: view.expires_ms,
                    want_source: sources == 0,
                })
            })
            .collect()
    }

    async fn statuses_of_probes(
        &self,
        service: Option<&str>,
    ) -> Result<std::collections::HashMap<i64, Vec<borescope_snapshots_api::people::InstanceProbeStatus>>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM statuses s JOIN instances i ON i.instance_id = s.instance_id \
             WHERE i.gone = 0 AND ($1 IS NULL OR i.service = $1) ORDER BY s.probe_id, i.host, i.pid",
            statuses::COLUMNS
        ))
        .bind(service)
        .fetch_all(self.reader())
        .await?;
        let mut by_probe: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
        for row in &rows {
            let probe_id: i64 = row.try_get("probe_id")?;
            by_probe.entry(probe_id).or_default().push(statuses::status(row)?);
        }
        Ok(by_probe)
    }
}

/// A probe row as people see it (statuses filled in by the caller).
fn view(row: &AnyRow, now: i64) -> Result<ProbeView, StoreError> {
    let captures: String = row.try_get("captures")?;
    let captures: Vec<String> = serde_json::from_str(&captures).map_err(|e| StoreError::Corrupt(format!("captures: {e}")))?;
    let enabled: i64 = row.try_get("enabled")?;
    let done: i64 = row.try_get("done")?;
    let expires_ms: i64 = row.try_get("expires_ms")?;
    let state = if done != 0 {
        ProbeState::Done
    } else if expires_ms <= now {
        ProbeState::Expired
    } else if enabled == 0 {
        ProbeState::Disabled
    } else {
        ProbeState::Active
    };
    Ok(ProbeView {
        schema: PROBE_SCHEMA.to_string(),
        id: row.try_get("id")?,
        service: row.try_get("service")?,
        env: row.try_get("env")?,
        file: row.try_get("file")?,
        line: small(row, "line")?,
        condition: row.try_get("condition")?,
        captures,
        log: row.try_get("log")?,
        max_hits: small_opt(row, "max_hits")?,
        rate: row.try_get("rate")?,
        frames_with_locals: small(row, "frames_with_locals")?,
        created_ms: row.try_get("created_ms")?,
        expires_ms,
        state,
        hits: count(row, "hits")?,
        statuses: Vec::new(),
    })
}
