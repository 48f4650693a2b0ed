//! Which pod and process an attach means: the ready pods of a Service (or the one pod named),
//! each container's attachable processes, and either the one candidate or the choices.
//! Reloaders, supervisors and helpers are never candidates; their workers are.

use crate::processes::{self, ContainerProcesses};
use crate::target::{self, TargetSpec};
use crate::{Cluster, KubeError, PodRef};
use borescope_model::{PodProcessRef, PythonProcess};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::time::Duration;

/// One process that attach could mean.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its pod and container.
    pub pod: PodRef,
    /// The pod's uid (to notice a replacement with the same name).
    pub pod_uid: String,
    /// The process.
    pub process: PythonProcess,
    /// Its interpreter in the container.
    pub executable: String,
    /// True when the pod uses the node's network (its 127.0.0.1 is the node's).
    pub host_network: bool,
}

impl Candidate {
    /// `pod/NAME:PID`, the argument that picks this candidate.
    pub fn target(&self) -> String {
        format!("pod/{}:{}", self.pod.name, self.process.pid)
    }

    /// The candidate as requests name it.
    pub fn reference(&self) -> PodProcessRef {
        let mut command = vec![self.target()];
        command.extend(self.process.command.iter().cloned());
        PodProcessRef {
            namespace: self.pod.namespace.clone(),
            pod: self.pod.name.clone(),
            pod_uid: self.pod_uid.clone(),
            container: self.pod.container.clone(),
            pid: self.process.pid,
            executable: Some(self.executable.clone()),
            command,
        }
    }

    /// One line for a choice: target, container, CPU, memory, command.
    pub fn describe(&self) -> String {
        let cpu = self.process.cpu_percent.map(|c| format!("{c:.1}% CPU")).unwrap_or_else(|| "? CPU".into());
        let rss = self.process.rss_bytes.map(|b| format!("{:.0} MB", b as f64 / 1e6)).unwrap_or_else(|| "? MB".into());
        let container = self.pod.container.as_deref().map(|c| format!(" -c {c}")).unwrap_or_default();
        format!("{}{container}  {cpu}  {rss}  {}", self.target(), self.process.command.join(" "))
    }
}

/// Every process `spec` could mean, plus what each container held (for messages).
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Attachable processes.
    pub candidates: Vec<Candidate>,
    /// Every listed container.
    pub listed: Vec<ContainerProcesses>,
}

/// Finds the candidates for `spec` in `namespace` (`container` narrows each pod to one).
pub async fn resolve(cluster: &Cluster, spec: &TargetSpec, namespace: &str, container: Option<&str>, interval: Duration) -> Result<Resolution, KubeError> {
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let (pods, wanted_pid) = match spec {
        TargetSpec::Service(name) => {
            let found = target::service_pods(cluster, namespace, name).await?;
            let ready: Vec<Pod> = found.pods.iter().filter(|p| target::is_ready(p)).cloned().collect();
            if ready.is_empty() {
                let states: Vec<String> = found
                    .pods
                    .iter()
                    .map(|p| format!("{} ({})", p.metadata.name.clone().unwrap_or_default(), target::phase(p)))
                    .collect();
                let what = if states.is_empty() { "no pods".to_string() } else { format!("no ready pod: {}", states.join(", ")) };
                return Err(KubeError::NotFound(format!(
                    "Service `{name}` in namespace `{namespace}` has {what} (found through {})\nhint: wait for a pod to be Ready (`borescope pods -n {namespace} -s {name}`), or name one with `pod/NAME`",
                    found.via
                )));
            }
            (ready, None)
        }
        TargetSpec::Pod { name, pid } => {
            let pod = pods_api
                .get_opt(name)
                .await
                .map_err(|e| cluster.error(&format!("read pod `{name}` in namespace `{namespace}`"), e))?
                .ok_or_else(|| {
                    KubeError::NotFound(format!("no pod `{name}` in namespace `{namespace}`\nhint: `borescope pods -n {namespace}` lists the pods; `-n` picks another namespace"))
                })?;
            if target::phase(&pod) != "Running" {
                return Err(KubeError::Pod(format!("pod `{name}` is {}, not Running", target::phase(&pod))));
            }
            (vec![pod], *pid)
        }
    };
    let mut jobs = Vec::new();
    for pod in &pods {
        for (container, command) in containers_of(pod, container)? {
            let pod_ref = PodRef { namespace: namespace.to_string(), name: pod.metadata.name.clone().unwrap_or_default(), container: Some(container) };
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let host_network = pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
            jobs.push(async move {
                let listed = processes::list(cluster, &pod_ref, command.as_deref(), interval).await;
                (pod_ref, uid, host_network, listed)
            });
        }
    }
    let mut listed = Vec::new();
    let mut candidates = Vec::new();
    let mut failures = Vec::new();
    for (pod_ref, uid, host_network, result) in futures::future::join_all(jobs).await {
        match result {
            Ok(container) => {
                for process in container.processes.iter().filter(|p| p.attachable) {
                    candidates.push(Candidate {
                        pod: pod_ref.clone(),
                        pod_uid: uid.clone(),
                        process: process.clone(),
                        executable: container.executable(process.pid).unwrap_or("python3").to_string(),
                        host_network,
                    });
                }
                listed.push(container);
            }
            // RBAC refusals concern every pod alike: say so at once.
            Err(error @ (KubeError::Forbidden(_) | KubeError::Config(_))) => return Err(error),
            Err(error) => failures.push(error.to_string()),
        }
    }
    if let Some(pid) = wanted_pid {
        let found = listed.iter().flat_map(|c| c.processes.iter().map(move |p| (c, p))).find(|(_, p)| p.pid == pid);
        return match found {
            Some((_, process)) if !process.attachable => Err(KubeError::Input(format!(
                "pid {pid} in pod `{}` cannot be attached: {}",
                pods[0].metadata.name.clone().unwrap_or_default(),
                process.why_not.clone().unwrap_or_default()
            ))),
            Some(_) => {
                candidates.retain(|c| c.process.pid == pid);
                Ok(Resolution { candidates, listed })
            }
            None => {
                let pids: Vec<String> = listed.iter().flat_map(|c| c.processes.iter().map(|p| p.pid.to_string())).collect();
                Err(KubeError::Input(format!(
                    "no Python process {pid} in pod `{}`{}",
                    pods[0].metadata.name.clone().unwrap_or_default(),
                    if pids.is_empty() { String::new() } else { format!(" (its Python processes: {})", pids.join(", ")) }
                )))
            }
        };
    }
    if candidates.is_empty() {
        let mut why: Vec<String> = listed
            .iter()
            .flat_map(|c| c.processes.iter().map(move |p| format!("pod/{}:{} {}", c.pod.name, p.pid, p.why_not.clone().unwrap_or_default())))
            .collect();
        why.extend(failures);
        return Err(KubeError::NotFound(format!(
            "no attachable Python process in {}{}",
            describe_spec(spec, namespace),
            if why.is_empty() { String::new() } else { format!(":\n  {}", why.join("\n  ")) }
        )));
    }
    Ok(Resolution { candidates, listed })
}

/// The containers to look into: `wanted` (which must exist), else every container.
fn containers_of(pod: &Pod, wanted: Option<&str>) -> Result<Vec<(String, Option<String>)>, KubeError> {
    let containers: Vec<(String, Option<String>)> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| (c.name.clone(), c.command.as_ref().and_then(|cmd| cmd.first().cloned())))
        .collect();
    match wanted {
        None => Ok(containers),
        Some(name) => match containers.iter().find(|(c, _)| c == name) {
            Some(found) => Ok(vec![found.clone()]),
            None => Err(KubeError::Input(format!(
                "pod `{}` has no container `{name}` (its containers: {})",
                pod.metadata.name.clone().unwrap_or_default(),
                containers.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        },
    }
}

fn describe_spec(spec: &TargetSpec, namespace: &str) -> String {
    match spec {
        TargetSpec::Service(name) => format!("Service `{name}` (namespace `{namespace}`)"),
        TargetSpec::Pod { name, .. } => format!("pod `{name}` (namespace `{namespace}`)"),
    }
}

/// The error for several candidates when nobody can be asked: each choice and the argument
/// that picks it.
pub fn choice_error(candidates: &[Candidate], namespace: &str) -> KubeError {
    let lines: Vec<String> = candidates.iter().map(|c| format!("  {}", c.describe())).collect();
    let first = &candidates[0];
    let container = first.pod.container.as_deref().map(|c| format!(" -c {c}")).unwrap_or_default();
    KubeError::Choice(format!(
        "{} processes qualify; name one:\n{}\nhint: `borescope attach {} -n {namespace}{container}` picks the first",
        candidates.len(),
        lines.join("\n"),
        first.target()
    ))
}
