//! What a Kubernetes target names (`svc/NAME`, `pod/NAME[:PID]`) and the pods behind a
//! Service.
//!
//! A Service's pods come from its EndpointSlices where the cluster serves
//! `discovery.k8s.io/v1`, else its core/v1 Endpoints, else its selector. An ExternalName
//! Service is followed to the Service it names inside the cluster; a Knative service (pods
//! labelled `serving.knative.dev/service=NAME`) is found by that label. Only Running pods
//! whose containers are Ready are candidates.

use crate::{Cluster, KubeError};
use borescope_model::FollowTarget;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use std::collections::BTreeSet;

/// The label Knative puts on a service's pods.
pub const KNATIVE_SERVICE_LABEL: &str = "serving.knative.dev/service";

/// What the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// `svc/NAME`: any ready pod behind the Service.
    Service(String),
    /// `pod/NAME`, optionally with a process id inside it.
    Pod {
        /// The pod's name.
        name: String,
        /// The process, as the container sees it.
        pid: Option<u32>,
    },
}

impl TargetSpec {
    /// True when `text` is meant as a Kubernetes target (`svc/`, `service/`, `pod/`, `po/`).
    pub fn looks_like(text: &str) -> bool {
        ["svc/", "service/", "services/", "pod/", "pods/", "po/"].iter().any(|p| text.starts_with(p))
    }

    /// Where `--follow` looks for a successor: the Service, or a pod's own labels.
    pub fn follow_target(&self) -> FollowTarget {
        match self {
            TargetSpec::Service(service) => FollowTarget::Service(service.clone()),
            TargetSpec::Pod { .. } => FollowTarget::SameLabels,
        }
    }

    /// Parses `svc/NAME` or `pod/NAME[:PID]`.
    pub fn parse(text: &str) -> Result<TargetSpec, KubeError> {
        let bad = |why: &str| KubeError::Input(format!("`{text}` is not a Kubernetes target: {why}\nhint: write `svc/NAME` (a Service) or `pod/NAME` (a pod; `pod/NAME:PID` for one process in it)"));
        let (kind, rest) = text.split_once('/').ok_or_else(|| bad("no `/`"))?;
        match kind {
            "svc" | "service" | "services" => {
                check_name(rest).map_err(|why| bad(&why))?;
                Ok(TargetSpec::Service(rest.to_string()))
            }
            "pod" | "pods" | "po" => {
                let (name, pid) = match rest.rsplit_once(':') {
                    Some((name, pid)) => {
                        let pid = pid.parse::<u32>().ok().filter(|p| *p > 0).ok_or_else(|| bad(&format!("`{pid}` is not a process id")))?;
                        (name, Some(pid))
                    }
                    None => (rest, None),
                };
                check_name(name).map_err(|why| bad(&why))?;
                Ok(TargetSpec::Pod { name: name.to_string(), pid })
            }
            other => Err(bad(&format!("`{other}` is not `svc` or `pod`"))),
        }
    }
}

/// A DNS-1123 name (what Kubernetes accepts for pods and services).
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with(['-', '.'])
        && !name.ends_with(['-', '.']);
    if ok { Ok(()) } else { Err(format!("`{name}` is not a valid name (lower-case letters, digits, `-`, `.`)")) }
}

/// One container of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Container name (`None`: the pod's only or default container).
    pub container: Option<String>,
}

impl From<&borescope_model::PodProcessRef> for PodRef {
    fn from(process: &borescope_model::PodProcessRef) -> PodRef {
        PodRef { namespace: process.namespace.clone(), name: process.pod.clone(), container: process.container.clone() }
    }
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if let Some(container) = &self.container {
            write!(f, " (container {container})")?;
        }
        Ok(())
    }
}

/// The pods behind a Service, and how they were found.
#[derive(Debug, Clone)]
pub struct ServicePods {
    /// The Service the pods belong to (after following an ExternalName).
    pub service: String,
    /// How they were found (`EndpointSlices`, `Endpoints`, `selector`, `Knative label`).
    pub via: String,
    /// Every pod found, ready or not.
    pub pods: Vec<Pod>,
}

/// The pods behind Service `name` in `namespace`.
pub async fn service_pods(cluster: &Cluster, namespace: &str, name: &str) -> Result<ServicePods, KubeError> {
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let knative = list_pods(cluster, &pods_api, namespace, Some(&format!("{KNATIVE_SERVICE_LABEL}={name}"))).await?;
    if !knative.is_empty() {
        return Ok(ServicePods { service: name.to_string(), via: "Knative label".into(), pods: knative });
    }
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), namespace);
    let service = match services.get(name).await {
        Ok(service) => service,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Err(KubeError::NotFound(format!(
                "no Service `{name}` in namespace `{namespace}`\nhint: `borescope pods -n {namespace}` lists its pods; `-n` picks another namespace"
            )));
        }
        Err(error) => return Err(cluster.error(&format!("read Service `{name}` in namespace `{namespace}`"), error)),
    };
    let spec = service.spec.unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") {
        let external = spec.external_name.unwrap_or_default();
        return match in_cluster_service(&external, namespace) {
            Some((target_ns, target)) if !(target_ns == namespace && target == name) => {
                let mut found = Box::pin(service_pods(cluster, &target_ns, &target)).await?;
                found.via = format!("ExternalName `{external}`, then {}", found.via);
                Ok(found)
            }
            _ => Err(KubeError::NotFound(format!(
                "Service `{name}` is an ExternalName for `{external}`, which is outside the cluster, and no pod carries `{KNATIVE_SERVICE_LABEL}={name}`\nhint: name the pod itself: `borescope attach pod/NAME`"
            ))),
        };
    }
    let mut names = BTreeSet::new();
    let mut via = String::new();
    let slices: Api<EndpointSlice> = Api::namespaced(cluster.client.clone(), namespace);
    match slices.list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}"))).await {
        Ok(list) if !list.items.is_empty() => {
            via = "EndpointSlices".into();
            for slice in list.items {
                for endpoint in slice.endpoints {
                    if let Some(target) = endpoint.target_ref.filter(|t| t.kind.as_deref() == Some("Pod")) {
                        names.extend(target.name);
                    }
                }
            }
        }
        Ok(_) => {}
        // Not served (before 1.21) or not allowed: the older APIs still work.
        Err(error) => tracing::debug!(%error, "EndpointSlices unavailable"),
    }
    if via.is_empty() {
        let endpoints: Api<Endpoints> = Api::namespaced(cluster.client.clone(), namespace);
        match endpoints.get_opt(name).await {
            Ok(Some(found)) => {
                for subset in found.subsets.unwrap_or_default() {
                    for address in subset.addresses.unwrap_or_default().into_iter().chain(subset.not_ready_addresses.unwrap_or_default()) {
                        if let Some(target) = address.target_ref.filter(|t| t.kind.as_deref() == Some("Pod")) {
                            names.extend(target.name);
                        }
                    }
                }
                if !names.is_empty() {
                    via = "Endpoints".into();
                }
            }
            Ok(None) => {}
            Err(error) => tracing::debug!(%error, "Endpoints unavailable"),
        }
    }
    let selector = spec
        .selector
        .filter(|s| !s.is_empty())
        .map(|s| s.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
    let pods = match (&selector, names.is_empty()) {
        (Some(selector), true) => {
            via = "selector".into();
            list_pods(cluster, &pods_api, namespace, Some(selector)).await?
        }
        (Some(selector), false) => {
            let listed = list_pods(cluster, &pods_api, namespace, Some(selector)).await?;
            listed.into_iter().filter(|p| p.metadata.name.as_ref().is_some_and(|n| names.contains(n))).collect()
        }
        (None, true) => {
            return Err(KubeError::NotFound(format!(
                "Service `{name}` in namespace `{namespace}` has no selector and no endpoints, so no pod is behind it\nhint: name the pod itself: `borescope attach pod/NAME`"
            )));
        }
        (None, false) => {
            let mut pods = Vec::new();
            for pod_name in &names {
                if let Some(pod) = pods_api.get_opt(pod_name).await.map_err(|e| cluster.error(&format!("read pod `{pod_name}`"), e))? {
                    pods.push(pod);
                }
            }
            pods
        }
    };
    Ok(ServicePods { service: name.to_string(), via, pods })
}

/// `orders`, `orders.shop`, `orders.shop.svc`, `orders.shop.svc.cluster.local` → (namespace,
/// name); `None` for a name outside the cluster.
fn in_cluster_service(external: &str, namespace: &str) -> Option<(String, String)> {
    let external = external.trim_end_matches('.');
    let parts: Vec<&str> = external.split('.').collect();
    match parts.as_slice() {
        [name] => Some((namespace.to_string(), name.to_string())),
        [name, ns] | [name, ns, "svc"] => Some((ns.to_string(), name.to_string())),
        [name, ns, "svc", ..] => Some((ns.to_string(), name.to_string())),
        _ => None,
    }
}

/// Pods in `namespace` matching `selector`.
pub async fn list_pods(cluster: &Cluster, api: &Api<Pod>, namespace: &str, selector: Option<&str>) -> Result<Vec<Pod>, KubeError> {
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let mut pods = api
        .list(&params)
        .await
        .map_err(|e| cluster.error(&format!("list pods in namespace `{namespace}`"), e))?
        .items;
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(pods)
}

/// A pod's labels as a label selector, without the keys in `leave_out`; `None` when it has no
/// other label (or is gone).
pub async fn pod_selector(cluster: &Cluster, namespace: &str, name: &str, leave_out: &[&str]) -> Option<String> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let pod = api.get_opt(name).await.ok().flatten()?;
    let labels: Vec<String> = pod
        .metadata
        .labels
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !leave_out.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    (!labels.is_empty()).then(|| labels.join(","))
}

/// Names of the ready pods of `namespace` matching `selector`, except the one with uid `except`.
pub async fn ready_pod_names(cluster: &Cluster, namespace: &str, selector: &str, except: &str) -> Vec<String> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    list_pods(cluster, &api, namespace, Some(selector))
        .await
        .unwrap_or_default()
        .iter()
        .filter(|p| is_ready(p) && p.metadata.uid.as_deref() != Some(except))
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

/// True for a Running pod whose containers are all Ready and that is not being deleted.
pub fn is_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else { return false };
    pod.metadata.deletion_timestamp.is_none()
        && status.phase.as_deref() == Some("Running")
        && status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The pod's phase as shown (`Running`, `Pending`, `Terminating`...).
pub fn phase(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(TargetSpec::parse("svc/orders").unwrap(), TargetSpec::Service("orders".into()));
        assert_eq!(TargetSpec::parse("pod/web-1:12").unwrap(), TargetSpec::Pod { name: "web-1".into(), pid: Some(12) });
        assert_eq!(TargetSpec::parse("pods/web-1").unwrap(), TargetSpec::Pod { name: "web-1".into(), pid: None });
        for bad in ["svc/", "pod/Web", "pod/web:x", "deploy/web", "pod/web:0"] {
            let error = TargetSpec::parse(bad).unwrap_err().to_string();
            assert!(error.contains("hint: write `svc/NAME`"), "{bad}: {error}");
        }
        assert!(TargetSpec::looks_like("svc/x") && !TargetSpec::looks_like("1234") && !TargetSpec::looks_like("127.0.0.1:5678"));
    }

    #[test]
    fn external_names_inside_the_cluster() {
        assert_eq!(in_cluster_service("web.shop.svc.cluster.local", "x"), Some(("shop".into(), "web".into())));
        assert_eq!(in_cluster_service("web", "x"), Some(("x".into(), "web".into())));
        assert_eq!(in_cluster_service("web.shop", "x"), Some(("shop".into(), "web".into())));
        assert_eq!(in_cluster_service("api.example.com", "x"), None);
    }
}
