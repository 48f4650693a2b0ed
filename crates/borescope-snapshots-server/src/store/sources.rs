//! The `probe_sources` table: the lines around each probe's line, as the first instance that
//! found the file reported them (one row per probe, kept until the probe is deleted).

use super::{small, Store, StoreError};
use borescope_snapshots_api::agent::ProbeSource;
use borescope_snapshots_api::people::ProbeSourceView;
use sqlx::Row;

impl Store {
    /// Keeps `source` for `probe_id` unless one is kept already or the probe is not
    /// `service`'s. True when stored.
    pub async fn report_source(
        &self,
        probe_id: i64,
        service: &str,
        instance_id: &str,
        source: &ProbeSource,
        now: i64,
    ) -> Result<bool, StoreError> {
        let lines = serde_json::to_string(&source.lines).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO probe_sources (probe_id, instance_id, path, first_line, lines, reported_ms) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM probes WHERE id = $1 AND service = $7) \
             ON CONFLICT (probe_id) DO NOTHING",
        )
        .bind(probe_id)
        .bind(instance_id)
        .bind(&source.path)
        .bind(i64::from(source.first_line))
        .bind(lines)
        .bind(now)
        .bind(service)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The source kept for a probe at `line`.
    pub async fn probe_source(&self, probe_id: i64, line: u32) -> Result<ProbeSourceView, StoreError> {
        let row = sqlx::query("SELECT instance_id, path, first_line, lines, reported_ms FROM probe_sources WHERE probe_id = $1")
            .bind(probe_id)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        let mut view = ProbeSourceView { probe_id, line, source: None, instance_id: None, reported_ms: None };
        if let Some(row) = row {
            let lines: String = row.try_get("lines")?;
            let lines: Vec<String> =
                serde_json::from_str(&lines).map_err(|e| StoreError::Corrupt(format!("source of probe {probe_id}: {e}")))?;
            view.source = Some(ProbeSource { path: row.try_get("path")?, first_line: small(&row, "first_line")?, lines });
            view.instance_id = Some(row.try_get("instance_id")?);
            view.reported_ms = Some(row.try_get("reported_ms")?);
        }
        Ok(view)
    }
}
