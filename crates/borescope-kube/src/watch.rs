//! Noticing that the pod a session is attached to is gone: deleted, replaced by a pod of the
//! same name, terminating, or its container restarted (the process is then gone too).

use crate::{Cluster, PodRef};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::time::Duration;

/// How often the pod is looked at.
const EVERY: Duration = Duration::from_secs(1);

/// Resolves with what happened once the pod (uid `uid`) or its container is gone.
pub async fn pod_gone(cluster: Cluster, pod: PodRef, uid: String) -> String {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &pod.namespace);
    let mut restarts = None;
    loop {
        match api.get_opt(&pod.name).await {
            Ok(None) => return format!("pod {}/{} was deleted", pod.namespace, pod.name),
            Ok(Some(found)) => {
                if found.metadata.uid.as_deref() != Some(uid.as_str()) {
                    return format!("pod {}/{} was replaced by a new pod of the same name", pod.namespace, pod.name);
                }
                if found.metadata.deletion_timestamp.is_some() {
                    return format!("pod {}/{} is being deleted", pod.namespace, pod.name);
                }
                let count = found
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref())
                    .and_then(|all| all.iter().find(|c| pod.container.as_deref().is_none_or(|name| c.name == name)))
                    .map(|c| c.restart_count);
                match (restarts, count) {
                    (Some(before), Some(now)) if now > before => {
                        return format!("container {} of pod {}/{} restarted", pod.container.as_deref().unwrap_or("?"), pod.namespace, pod.name);
                    }
                    (None, Some(now)) => restarts = Some(now),
                    _ => {}
                }
            }
            // The API may be briefly unreachable: look again.
            Err(error) => tracing::debug!(%error, "watching the pod"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
