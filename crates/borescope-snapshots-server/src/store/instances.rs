//! The `instances` table: processes running the agent, as they registered, when each was last
//! heard from, and whether it said goodbye.

use super::{now_ms, small, Store, StoreError};
use borescope_snapshots_api::agent::Register;
use borescope_snapshots_api::people::Instance;
use sqlx::any::AnyRow;
use sqlx::Row;

/// What the server needs to know about an instance on each agent call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its service.
    pub service: String,
    /// Its environment.
    pub env: Option<String>,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// Why a registration was refused.
#[derive(Debug)]
pub enum RegisterOutcome {
    /// Stored (new, or the same instance again).
    Registered,
    /// The instance id is already registered for another service.
    OtherService(String),
}

impl Store {
    /// Registers an instance (again, after a server restart or a reconnect), clearing `gone`.
    pub async fn register(&self, register: &Register) -> Result<RegisterOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let existing = sqlx::query("SELECT service FROM instances WHERE instance_id = $1")
            .bind(&register.instance_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .next();
        if let Some(row) = existing {
            let service: String = row.try_get("service")?;
            if service != register.service {
                return Ok(RegisterOutcome::OtherService(service));
            }
        }
        sqlx::query(
            "INSERT INTO instances (instance_id, service, env, host, pid, python, agent_version, engine, started_ms, \
             last_seen_ms, gone, dropped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0, 0) \
             ON CONFLICT (instance_id) DO UPDATE SET env = excluded.env, host = excluded.host, pid = excluded.pid, \
             python = excluded.python, agent_version = excluded.agent_version, engine = excluded.engine, \
             last_seen_ms = excluded.last_seen_ms, gone = 0",
        )
        .bind(&register.instance_id)
        .bind(&register.service)
        .bind(&register.env)
        .bind(&register.host)
        .bind(i64::from(register.pid))
        .bind(&register.python)
        .bind(&register.agent_version)
        .bind(&register.engine)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RegisterOutcome::Registered)
    }

    /// The instance's service, environment, host and pid, if it is registered.
    pub async fn instance_info(&self, instance_id: &str) -> Result<Option<InstanceInfo>, StoreError> {
        let row = sqlx::query("SELECT service, env, host, pid FROM instances WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .next();
        let Some(row) = row else { return Ok(None) };
        Ok(Some(InstanceInfo {
            service: row.try_get("service")?,
            env: row.try_get("env")?,
            host: row.try_get("host")?,
            pid: small(&row, "pid")?,
        }))
    }

    /// Marks an instance as heard from now.
    pub async fn touch_instance(&self, instance_id: &str) -> Result<(), StoreError> {
        touch(self.writer(), instance_id, now_ms()).await
    }

    /// Marks an instance as gone (it exited, or its agent was detached).
    pub async fn instance_gone(&self, instance_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE instances SET gone = 1, last_seen_ms = $1 WHERE instance_id = $2")
            .bind(now_ms())
            .bind(instance_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Instances, most recently seen first, of one service or all.
    pub async fn instances(&self, service: Option<&str>) -> Result<Vec<Instance>, StoreError> {
        let rows = sqlx::query(
            "SELECT instance_id, service, env, host, pid, python, agent_version, engine, started_ms, last_seen_ms, gone \
             FROM instances WHERE ($1 IS NULL OR service = $1) ORDER BY last_seen_ms DESC, instance_id",
        )
        .bind(service)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(instance).collect()
    }
}

/// Marks an instance as heard from at `now` (inside a caller's transaction, or on a pool).
pub(crate) async fn touch<'e, E>(executor: E, instance_id: &str, now: i64) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("UPDATE instances SET last_seen_ms = $1, gone = 0 WHERE instance_id = $2")
        .bind(now)
        .bind(instance_id)
        .execute(executor)
        .await?;
    Ok(())
}

fn instance(row: &AnyRow) -> Result<Instance, StoreError> {
    let gone: i64 = row.try_get("gone")?;
    Ok(Instance {
        instance_id: row.try_get("instance_id")?,
        service: row.try_get("service")?,
        env: row.try_get("env")?,
        host: row.try_get("host")?,
        pid: small(row, "pid")?,
        python: row.try_get("python")?,
        agent_version: row.try_get("agent_version")?,
        engine: row.try_get("engine")?,
        started_ms: row.try_get("started_ms")?,
        last_seen_ms: row.try_get("last_seen_ms")?,
        gone: gone != 0,
    })
}
