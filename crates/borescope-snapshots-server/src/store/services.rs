//! Services as people see them (`GET /api/v1/services`): every name with an agent key, an
//! instance, a probe or a row in `services`, with its exception-snapshot setting and counts;
//! and that setting itself, whose change bumps the service's probe-set version so long-polling
//! agents learn it at once.

use super::{bump_service, count, now_ms, Store, StoreError};
use borescope_snapshots_api::limits::SILENT_AFTER_MS;
use borescope_snapshots_api::people::ServiceInfo;
use sqlx::Row;

/// Every known service name with its setting and counts (one query; the union of the tables
/// that name services).
const SERVICES: &str = "\
SELECT n.name AS name, \
  COALESCE((SELECT s.exceptions FROM services s WHERE s.name = n.name), 0) AS exceptions, \
  (SELECT COUNT(*) FROM instances i WHERE i.service = n.name) AS instances, \
  (SELECT COUNT(*) FROM instances i WHERE i.service = n.name AND i.gone = 0 AND i.last_seen_ms >= $1) AS live_instances, \
  (SELECT COUNT(*) FROM probes p WHERE p.service = n.name AND p.done = 0 AND p.expires_ms > $2) AS probes \
FROM (SELECT name FROM services UNION SELECT service FROM agent_keys UNION SELECT service FROM instances \
      UNION SELECT service FROM probes) n";

impl Store {
    /// Every known service, by name; only `name` when given.
    pub async fn services(&self, name: Option<&str>) -> Result<Vec<ServiceInfo>, StoreError> {
        let now = now_ms();
        let sql = format!("{SERVICES} WHERE ($3 IS NULL OR n.name = $3) ORDER BY n.name");
        let rows = sqlx::query(&sql)
            .bind(now.saturating_sub(SILENT_AFTER_MS))
            .bind(now)
            .bind(name)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let exceptions: i64 = row.try_get("exceptions")?;
                Ok(ServiceInfo {
                    schema: String::new(),
                    name: row.try_get("name")?,
                    exceptions: exceptions != 0,
                    instances: count(row, "instances")?,
                    live_instances: count(row, "live_instances")?,
                    probes: count(row, "probes")?,
                })
            })
            .collect()
    }

    /// Turns a known service's exception snapshots on or off; its new probe-set version, or
    /// `None` when no key, instance, probe or setting names the service.
    pub async fn set_exceptions(&self, service: &str, enabled: bool) -> Result<Option<i64>, StoreError> {
        if self.services(Some(service)).await?.is_empty() {
            return Ok(None);
        }
        let mut tx = self.writer().begin().await?;
        let version = bump_service(&mut *tx, service).await?;
        sqlx::query("UPDATE services SET exceptions = $1 WHERE name = $2")
            .bind(i64::from(enabled))
            .bind(service)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(version))
    }

    /// True when `service`'s instances take exception snapshots.
    pub async fn exceptions_enabled(&self, service: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT exceptions FROM services WHERE name = $1")
            .bind(service)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("exceptions")? != 0,
            None => false,
        })
    }
}
