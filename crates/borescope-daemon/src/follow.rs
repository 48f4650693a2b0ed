//! `attach svc/NAME | pod/NAME --follow`: when the attached pod is deleted or replaced (a
//! rollout, a crash, a scale from zero), wait for its successor, attach again with the
//! session's current breakpoints under the same session name, and say so in the session's
//! output. Stops when the session is stopped or replaced by another command.

use crate::pod::{attach_session, Places};
use crate::registry::{Attachment, Registry};
use borescope_debugger::session::BreakOp;
use borescope_ipc::PodAttachRequest;
use borescope_kube::choose::{self, Candidate};
use borescope_kube::target::{self, TargetSpec};
use borescope_kube::{watch, Cluster, PodRef};
use borescope_model::{Answer, FollowTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a successor is waited for.
const PATIENCE: Duration = Duration::from_secs(600);
/// Labels a rollout changes, left out when looking for a pod's successor by its labels.
const ROLLOUT_LABELS: [&str; 2] = ["pod-template-hash", "controller-revision-hash"];

/// Follows session `name` (attached per `spec`) across pod replacements.
pub async fn follow(registry: Arc<Mutex<Registry>>, places: Places, name: String, mut spec: PodAttachRequest, cluster: Cluster) {
    let Some(target) = spec.follow.clone() else { return };
    let mut labels = match &target {
        FollowTarget::Service(_) => None,
        FollowTarget::SameLabels => pod_labels(&cluster, &spec.process.namespace, &spec.process.pod).await,
    };
    loop {
        let Some(session) = registry.lock().await.get(&name) else { return };
        let process = &spec.process;
        let pod = PodRef::from(process);
        let gone = watch::pod_gone(cluster.clone(), pod, process.pod_uid.clone()).await;
        tracing::info!(session = %name, %gone, "following the pod's successor");
        let started = Instant::now();
        let candidate = loop {
            if !still_this(&registry, &name, &session).await {
                return;
            }
            match successor(&cluster, &spec, &target, labels.as_deref()).await {
                Some(found) => break found,
                None if started.elapsed() > PATIENCE => {
                    session.say(format!("{gone}; no successor became ready within {} minutes, so --follow gave up", PATIENCE.as_secs() / 60));
                    return;
                }
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        };
        let base = std::path::PathBuf::from("/");
        let current = match session.breakpoints(BreakOp::List, &base).await {
            Ok(Answer::Breakpoints { breakpoints, .. }) => breakpoints.into_iter().map(|b| b.spec).collect(),
            _ => spec.breakpoints.clone(),
        };
        let old_pod = spec.process.pod.clone();
        spec = PodAttachRequest { process: candidate.reference(), breakpoints: current, ..spec };
        if labels.is_none() && matches!(target, FollowTarget::SameLabels) {
            labels = pod_labels(&cluster, &spec.process.namespace, &spec.process.pod).await;
        }
        match attach_session(&places, &name, spec.clone()).await {
            Ok((replacement, attachment, _)) => {
                let count = spec.breakpoints.len();
                let mut held = registry.lock().await;
                if !matches!(held.get(&name), Some(now) if Arc::ptr_eq(&now, &session)) {
                    drop(held);
                    // Stopped (or replaced) meanwhile: undo the new attach.
                    let mut answer = replacement.stop().await;
                    crate::pod::undo_any(Attachment::Pod(Box::new(attachment)), &mut answer).await;
                    return;
                }
                let previous = held.take_listener(&name);
                held.remove(&name);
                replacement.say(format!(
                    "{gone}; attached again to pid {} in pod {}/{} (--follow), {count} breakpoint{} set again",
                    spec.process.pid,
                    spec.process.namespace,
                    spec.process.pod,
                    if count == 1 { "" } else { "s" }
                ));
                held.insert_attached(&name, replacement, Attachment::Pod(Box::new(attachment)));
                drop(held);
                session.stop().await;
                if let Some(Attachment::Pod(previous)) = previous {
                    // Its pod is gone: only borescope's local copy of its sources is left.
                    previous.forget_sources();
                }
                tracing::info!(session = %name, from = %old_pod, to = %spec.process.pod, "followed");
            }
            Err(response) => {
                session.say(format!("{gone}; attaching to its successor pod {} failed: {response:?}", spec.process.pod));
                return;
            }
        }
    }
}

async fn still_this(registry: &Arc<Mutex<Registry>>, name: &str, session: &Arc<borescope_debugger::session::Session>) -> bool {
    matches!(registry.lock().await.get(name), Some(now) if Arc::ptr_eq(&now, session))
}

async fn pod_labels(cluster: &Cluster, namespace: &str, name: &str) -> Option<String> {
    target::pod_selector(cluster, namespace, name, &ROLLOUT_LABELS).await
}

/// A ready successor of the followed pod and the process to attach to, if there is one yet:
/// another pod (not the one that went away), its process with the same command when several
/// qualify.
async fn successor(cluster: &Cluster, spec: &PodAttachRequest, target: &FollowTarget, labels: Option<&str>) -> Option<Candidate> {
    let spec = &spec.process;
    let specs: Vec<TargetSpec> = match target {
        FollowTarget::Service(service) => vec![TargetSpec::Service(service.clone())],
        FollowTarget::SameLabels => target::ready_pod_names(cluster, &spec.namespace, labels?, &spec.pod_uid)
            .await
            .into_iter()
            .map(|name| TargetSpec::Pod { name, pid: None })
            .collect(),
    };
    for wanted in specs {
        let Ok(found) = choose::resolve(cluster, &wanted, &spec.namespace, spec.container.as_deref(), Duration::from_millis(100)).await else { continue };
        let fresh: Vec<Candidate> = found.candidates.into_iter().filter(|c| c.pod_uid != spec.pod_uid).collect();
        let same_command = fresh.iter().find(|c| spec.command.get(1..).is_some_and(|old| old == c.process.command.as_slice()));
        if let Some(chosen) = same_command.or(fresh.first()) {
            return Some(chosen.clone());
        }
    }
    None
}
