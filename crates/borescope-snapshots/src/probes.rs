//! Probes: create one and wait for the service's instances to say how it went there; list,
//! show, delete, turn on and off.

use crate::client::REQUEST_TIMEOUT;
use crate::instances::live_for;
use crate::reports::{Deleted, ProbeAdded, ProbeListing, PROBES_SCHEMA};
use crate::{now_ms, Client, SnapError};
use borescope_snapshots_api::people::{NewProbe, ProbeList, ProbePatch, ProbeView, PROBE_SCHEMA};
use hyper::Method;
use std::time::{Duration, Instant};

/// How often the probe is read again while waiting for reports.
const POLL: Duration = Duration::from_millis(100);

/// `snap add`: stores `probe` (checked beforehand with [`crate::ProbeInput::check`]), then
/// waits up to `wait` until every live instance it applies to has reported on it (any status:
/// installed, pending, error, ...). Returns at once when no instance is live.
pub async fn create(client: &Client, probe: &NewProbe, wait: Duration) -> Result<ProbeAdded, SnapError> {
    let created: ProbeView = client.send(Method::POST, "/probes", probe).await?;
    let started = Instant::now();
    let deadline = started + wait;
    let mut probe = with_schema(created);
    loop {
        let known = crate::instances::list(client, Some(&probe.service)).await?.instances;
        let live = live_for(&known, &probe.service, probe.env.as_deref(), now_ms());
        let complete = live.iter().all(|i| probe.statuses.iter().any(|s| s.instance_id == i.instance_id));
        let now = Instant::now();
        if complete || now >= deadline {
            return Ok(ProbeAdded {
                probe,
                instances: live,
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                complete,
            });
        }
        tokio::time::sleep(POLL.min(deadline - now)).await;
        probe = get(client, probe.id).await?;
    }
}

/// `snap list`: probes (of `service`), the ended ones too with `all`.
pub async fn list(client: &Client, service: Option<&str>, all: bool) -> Result<ProbeListing, SnapError> {
    let query = crate::client::query(&[("service", service.map(str::to_string)), ("all", all.then(|| "true".to_string()))]);
    let list: ProbeList = client.get(&format!("/probes{query}"), REQUEST_TIMEOUT).await?;
    Ok(ProbeListing { schema: PROBES_SCHEMA.into(), probes: list.probes.into_iter().map(with_schema).collect() })
}

/// `snap show ID`.
pub async fn get(client: &Client, id: i64) -> Result<ProbeView, SnapError> {
    let probe: ProbeView = client.get(&format!("/probes/{id}"), REQUEST_TIMEOUT).await?;
    Ok(with_schema(probe))
}

/// `snap rm ID`: the probe is deleted and agents disarm it.
pub async fn remove(client: &Client, id: i64) -> Result<Deleted, SnapError> {
    client.delete(&format!("/probes/{id}")).await?;
    Ok(Deleted::new("probe", id))
}

/// `snap enable ID` / `snap disable ID`.
pub async fn set_enabled(client: &Client, id: i64, enabled: bool) -> Result<ProbeView, SnapError> {
    let probe: ProbeView = client.send(Method::PATCH, &format!("/probes/{id}"), &ProbePatch { enabled: Some(enabled) }).await?;
    Ok(with_schema(probe))
}

fn with_schema(mut probe: ProbeView) -> ProbeView {
    probe.schema = PROBE_SCHEMA.into();
    probe
}
