//! The processes running the agent, as the server knows them, and which of them a probe waits
//! for.

use crate::client::REQUEST_TIMEOUT;
use crate::reports::{InstanceListing, INSTANCES_SCHEMA};
use crate::{Client, SnapError};
use borescope_snapshots_api::people::{Instance, InstanceList};

/// An instance not heard from for this long is taken for dead even without a goodbye (a killed
/// process never says one). Agents poll at least every 30 s, so this leaves room for a slow
/// network and a little clock difference between this machine and the server's.
pub const SILENT_AFTER_MS: i64 = borescope_snapshots_api::limits::SILENT_AFTER_MS;

/// `snap agents`: every instance the server knows (of `service`, when given).
pub async fn list(client: &Client, service: Option<&str>) -> Result<InstanceListing, SnapError> {
    let path = format!("/instances{}", crate::client::query(&[("service", service.map(str::to_string))]));
    let list: InstanceList = client.get(&path, REQUEST_TIMEOUT).await?;
    Ok(InstanceListing { schema: INSTANCES_SCHEMA.into(), instances: list.instances })
}

/// True when the instance has not said goodbye and was heard from recently.
pub fn is_live(instance: &Instance, now_ms: i64) -> bool {
    !instance.gone && now_ms.saturating_sub(instance.last_seen_ms) <= SILENT_AFTER_MS
}

/// The live instances a probe for `service` (and `env`, when it names one) applies to.
pub fn live_for(instances: &[Instance], service: &str, env: Option<&str>, now_ms: i64) -> Vec<Instance> {
    instances
        .iter()
        .filter(|i| i.service == service && is_live(i, now_ms))
        .filter(|i| env.is_none() || i.env.as_deref() == env)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, env: Option<&str>, gone: bool, last_seen_ms: i64) -> Instance {
        Instance {
            instance_id: id.into(),
            service: "api".into(),
            env: env.map(str::to_string),
            host: "web-1".into(),
            pid: 7,
            python: "3.12.4".into(),
            agent_version: "0.1.0".into(),
            engine: "monitoring".into(),
            started_ms: 0,
            last_seen_ms,
            gone,
        }
    }

    #[test]
    fn live_instances_match_the_environment_and_have_been_heard_from() {
        let now = 1_000_000;
        let all = [
            instance("a", Some("prod"), false, now - 1000),
            instance("b", Some("staging"), false, now),
            instance("c", Some("prod"), true, now),
            instance("d", Some("prod"), false, now - SILENT_AFTER_MS - 1),
        ];
        let ids = |list: Vec<Instance>| list.into_iter().map(|i| i.instance_id).collect::<Vec<_>>();
        assert_eq!(ids(live_for(&all, "api", Some("prod"), now)), ["a"]);
        assert_eq!(ids(live_for(&all, "api", None, now)), ["a", "b"]);
        assert!(live_for(&all, "web", None, now).is_empty());
    }
}
