//! `borescope pods`: pods (by Service, label selector, or all of a namespace), with phase,
//! readiness, node, age and restarts, and each container's Python processes.

use crate::processes;
use crate::target::{self, phase};
use crate::{Cluster, KubeError, PodRef};
use borescope_model::{Notice, PodContainer, PodEntry, PodList, PODS_SCHEMA};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::time::Duration;

/// Containers listed at the same time.
const PARALLEL: usize = 8;

/// Which pods.
#[derive(Debug, Clone)]
pub enum PodSelection {
    /// The pods behind a Service.
    Service(String),
    /// A label selector (`app=web,tier!=db`).
    Labels(String),
    /// Every pod.
    All,
}

/// Lists the pods of `namespace` (every namespace when `None`) and their Python processes.
pub async fn list(cluster: &Cluster, namespace: Option<&str>, selection: &PodSelection, interval: Duration) -> Result<PodList, KubeError> {
    let (pods, described) = match (selection, namespace) {
        (PodSelection::Service(name), Some(ns)) => {
            let found = target::service_pods(cluster, ns, name).await?;
            (found.pods, format!("Service `{}` in namespace `{ns}` (pods found through {})", found.service, found.via))
        }
        (PodSelection::Service(_), None) => return Err(KubeError::Input("a Service is looked up in one namespace; give `-n NS` instead of `--all-namespaces`".into())),
        (PodSelection::Labels(labels), ns) => (fetch(cluster, ns, Some(labels)).await?, format!("pods labelled `{labels}` {}", place(ns))),
        (PodSelection::All, ns) => (fetch(cluster, ns, None).await?, format!("pods {}", place(ns))),
    };
    let mut jobs = Vec::new();
    for (index, pod) in pods.iter().enumerate() {
        let running = phase(pod) == "Running";
        for container in pod.spec.iter().flat_map(|s| s.containers.iter()) {
            let pod_ref = PodRef {
                namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                name: pod.metadata.name.clone().unwrap_or_default(),
                container: Some(container.name.clone()),
            };
            let command = container.command.as_ref().and_then(|c| c.first().cloned());
            let image = container.image.clone().unwrap_or_default();
            let pod_phase = phase(pod);
            jobs.push(async move {
                let result = if running {
                    processes::list(cluster, &pod_ref, command.as_deref(), interval).await.map(|c| c.processes)
                } else {
                    Err(KubeError::Pod(format!("the pod is {pod_phase}")))
                };
                (index, pod_ref, image, result)
            });
        }
    }
    let mut results: Vec<_> = futures::stream::iter(jobs).buffered(PARALLEL).collect().await;
    let mut notices = Vec::new();
    if let Some((_, _, _, Err(error))) = results.iter().find(|(_, _, _, r)| matches!(r, Err(KubeError::Forbidden(_)))) {
        notices.push(Notice::plain(error.to_string()));
    }
    let mut entries: Vec<PodEntry> = pods.iter().map(entry).collect();
    for (index, pod_ref, image, result) in results.drain(..) {
        let (processes, error) = match result {
            Ok(processes) => (processes, None),
            Err(error) => (Vec::new(), Some(error.to_string())),
        };
        entries[index].containers.push(PodContainer { name: pod_ref.container.unwrap_or_default(), image, processes, error });
    }
    Ok(PodList {
        schema: PODS_SCHEMA.into(),
        context: cluster.context.clone().filter(|c| !c.is_empty()),
        namespace: namespace.map(str::to_string),
        selection: described,
        pods: entries,
        notices,
    })
}

fn place(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("in namespace `{ns}`"),
        None => "in every namespace".into(),
    }
}

async fn fetch(cluster: &Cluster, namespace: Option<&str>, labels: Option<&str>) -> Result<Vec<Pod>, KubeError> {
    match namespace {
        Some(ns) => target::list_pods(cluster, &Api::namespaced(cluster.client.clone(), ns), ns, labels).await,
        None => target::list_pods(cluster, &Api::all(cluster.client.clone()), "(all)", labels).await,
    }
}

fn entry(pod: &Pod) -> PodEntry {
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let age_seconds = created.and_then(|t| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
        u64::try_from(now - t.as_second()).ok()
    });
    let status = pod.status.as_ref();
    PodEntry {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: phase(pod),
        ready: target::is_ready(pod),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        age_seconds,
        restarts: status
            .and_then(|s| s.container_statuses.as_ref())
            .map(|all| all.iter().map(|c| c.restart_count.max(0) as u32).sum())
            .unwrap_or(0),
        containers: Vec::new(),
    }
}
