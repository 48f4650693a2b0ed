//! The `statuses` table: where each probe stands in each instance, as the instance last
//! reported it (one row per probe and instance, replaced by each report).

use super::{count, small, Store, StoreError};
use borescope_snapshots_api::agent::{ProbeStatus, ProbeStatusEntry};
use borescope_snapshots_api::people::InstanceProbeStatus;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Columns [`status`] reads, from `statuses s` joined with `instances i`.
pub(super) const COLUMNS: &str =
    "s.probe_id, s.instance_id, i.host, i.pid, s.status, s.message, s.hits, s.rate_limited, s.updated_ms";

impl Store {
    /// Records an instance's report on its service's probes; entries for probes that do not
    /// exist (deleted meanwhile) or belong to another service are skipped. Returns how many
    /// were stored.
    pub async fn report_statuses(
        &self,
        instance_id: &str,
        service: &str,
        entries: &[ProbeStatusEntry],
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.writer().begin().await?;
        let mut stored = 0;
        for entry in entries {
            let done = sqlx::query(
                "INSERT INTO statuses (probe_id, instance_id, status, message, hits, rate_limited, updated_ms) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM probes WHERE id = $1 AND service = $8) \
                 ON CONFLICT (probe_id, instance_id) DO UPDATE SET status = excluded.status, message = excluded.message, \
                 hits = excluded.hits, rate_limited = excluded.rate_limited, updated_ms = excluded.updated_ms",
            )
            .bind(entry.probe_id)
            .bind(instance_id)
            .bind(status_name(entry.status))
            .bind(&entry.message)
            .bind(i64::try_from(entry.hits).unwrap_or(i64::MAX))
            .bind(i64::try_from(entry.rate_limited).unwrap_or(i64::MAX))
            .bind(now)
            .bind(service)
            .execute(&mut *tx)
            .await?;
            stored += done.rows_affected();
        }
        super::instances::touch(&mut *tx, instance_id, now).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// One probe's statuses, from instances that have not said goodbye.
    pub(super) async fn statuses_of(&self, probe_id: i64) -> Result<Vec<InstanceProbeStatus>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM statuses s JOIN instances i ON i.instance_id = s.instance_id \
             WHERE s.probe_id = $1 AND i.gone = 0 ORDER BY i.host, i.pid"
        ))
        .bind(probe_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(status).collect()
    }
}

/// One status row.
pub(super) fn status(row: &AnyRow) -> Result<InstanceProbeStatus, StoreError> {
    let name: String = row.try_get("status")?;
    Ok(InstanceProbeStatus {
        instance_id: row.try_get("instance_id")?,
        host: row.try_get("host")?,
        pid: small(row, "pid")?,
        status: parse_status(&name).ok_or_else(|| StoreError::Corrupt(format!("unknown status `{name}`")))?,
        message: row.try_get("message")?,
        hits: count(row, "hits")?,
        rate_limited: count(row, "rate_limited")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

/// The stored (and wire) name of a status.
pub fn status_name(status: ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Pending => "pending",
        ProbeStatus::Installed => "installed",
        ProbeStatus::Error => "error",
        ProbeStatus::Emitting => "emitting",
        ProbeStatus::RateLimited => "rate_limited",
        ProbeStatus::Expired => "expired",
    }
}

fn parse_status(name: &str) -> Option<ProbeStatus> {
    Some(match name {
        "pending" => ProbeStatus::Pending,
        "installed" => ProbeStatus::Installed,
        "error" => ProbeStatus::Error,
        "emitting" => ProbeStatus::Emitting,
        "rate_limited" => ProbeStatus::RateLimited,
        "expired" => ProbeStatus::Expired,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_match_the_wire_names() {
        for status in [
            ProbeStatus::Pending,
            ProbeStatus::Installed,
            ProbeStatus::Error,
            ProbeStatus::Emitting,
            ProbeStatus::RateLimited,
            ProbeStatus::Expired,
        ] {
            let wire = serde_json::to_value(status).unwrap();
            assert_eq!(wire.as_str(), Some(status_name(status)));
            assert_eq!(parse_status(status_name(status)), Some(status));
        }
    }
}
