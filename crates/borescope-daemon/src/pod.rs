//! `attach pod/NAME[:PID]` for the daemon: debugpy started in a pod's process through the
//! Kubernetes capability, reached through the API's port-forward (held here for the session's
//! life), the program's sources copied next to the session so breakpoint checks and listings
//! work, the pod watched so its deletion ends the session with the reason; and the undoing.

use crate::attach::undo as undo_local;
use crate::handlers::{valid_name, Context};
use crate::registry::Attachment;
use borescope_debugger::session::{AttachSpec, DebugStream, ExitWatch, PathMap, Session};
use borescope_ipc::{ErrorKind, PodAttachRequest, Response};
use borescope_kube::inject::{self, PodListener};
use borescope_kube::{forward, watch, Cluster, KubeError, PodRef};
use borescope_model::{Answer, Location, Notice, SessionReport};
use std::path::PathBuf;
use std::time::Duration;

/// How long detach waits for the target to unload debugpy.
const DETACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the daemon keeps things: borescope's cache (debugpy) and its build directory (source
/// mirrors).
#[derive(Clone)]
pub struct Places {
    /// The cache directory.
    pub cache: PathBuf,
    /// This build's runtime directory.
    pub build: PathBuf,
}

/// What a pod session set up, for undoing.
pub struct PodAttachment {
    pub(crate) cluster: Cluster,
    pub(crate) listener: PodListener,
    /// Kept open for the session's life.
    _forward: forward::Portforwarder,
    /// The copy of the program's sources.
    mirror: PathBuf,
}

/// Attaches a new session `name` to the pod process in `spec`.
pub async fn attach(ctx: &Context, name: &str, spec: PodAttachRequest) -> Response {
    if let Err(response) = valid_name(name) {
        return response;
    }
    if let Err(message) = ctx.registry.lock().await.reserve(name) {
        return Response::error(ErrorKind::Input, message);
    }
    let places = Places { cache: ctx.cache_dir.clone(), build: ctx.runtime.build_dir() };
    let result = attach_session(&places, name, spec.clone()).await;
    let mut registry = ctx.registry.lock().await;
    match result {
        Ok((session, attachment, report)) => {
            if let Some(old) = registry.remove(name) {
                old.stop().await;
            }
            let cluster = attachment.cluster.clone();
            registry.insert_attached(name, session, Attachment::Pod(Box::new(attachment)));
            if spec.follow.is_some() {
                tokio::spawn(crate::follow::follow(ctx.registry.clone(), places, name.to_string(), spec, cluster));
            }
            Response::ok(Answer::Report(report))
        }
        Err(response) => {
            registry.release(name);
            response
        }
    }
}

fn kube_failure(error: KubeError) -> Response {
    let kind = if error.is_input_error() { ErrorKind::Input } else { ErrorKind::Failed };
    Response::error(kind, error.to_string())
}

/// Starts debugpy in the process of `spec`, connects a session `name` to it through a
/// port-forward, and returns both (the registry is the caller's).
pub(crate) async fn attach_session(places: &Places, name: &str, spec: PodAttachRequest) -> Result<(Session, PodAttachment, SessionReport), Response> {
    let cluster = Cluster::connect(spec.kubeconfig.as_deref(), spec.context.as_deref()).await.map_err(kube_failure)?;
    let process = &spec.process;
    let pod = PodRef::from(process);
    let token = borescope_debugger::debugpy::random_token().map_err(crate::handlers::failure)?;
    let cache = places.cache.clone();
    let copy: Option<inject::DebugpySource> = spec.ship_debugpy.then(|| {
        let source: inject::DebugpySource =
            Box::pin(async move { borescope_debugger::debugpy::provision(&cache).await.map_err(|e| e.to_string()) });
        source
    });
    let listener = inject::start_debugpy(
        &cluster,
        &pod,
        process.pid,
        process.executable.as_deref(),
        Some(&token),
        Duration::from_millis(spec.timeout_ms),
        copy,
    )
    .await
    .map_err(kube_failure)?;
    let undo_on_error = |cluster: Cluster, listener: PodListener| async move {
        if let Err(error) = inject::stop_debugpy(&cluster, &listener, DETACH_TIMEOUT).await {
            tracing::warn!(%error, "undoing a failed pod attach");
        }
    };
    let forward = match forward::open(&cluster, &pod, listener.port).await {
        Ok(forward) => forward,
        Err(error) => {
            undo_on_error(cluster, listener).await;
            return Err(kube_failure(error));
        }
    };
    let mirror = places.build.join("pods").join(format!("{name}-{}", process.pod_uid));
    let _ = std::fs::remove_dir_all(&mirror);
    if let Err(error) = std::fs::create_dir_all(&mirror).map_err(|e| KubeError::Pod(e.to_string())).and_then(|_| inject::unpack_sources(&listener, &mirror)) {
        tracing::warn!(%error, "the program's sources are not available");
    }
    let text = |key: &str| listener.status[key].as_str().unwrap_or_default().to_string();
    let cwd = text("cwd");
    let runtime_dirs: Vec<String> = listener.status["runtime_dirs"]
        .as_array()
        .map(|dirs| dirs.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let breakpoints = spec
        .breakpoints
        .iter()
        .cloned()
        .map(|mut bp| {
            if let Some(location) = bp.location.as_mut() {
                absolute_in(location, &cwd);
            }
            bp
        })
        .collect();
    let following = spec.follow.is_some();
    let gone = {
        let (cluster, pod, uid) = (cluster.clone(), pod.clone(), process.pod_uid.clone());
        async move {
            let reason = watch::pod_gone(cluster, pod, uid).await;
            if following { format!("{reason}; --follow attaches to its successor once one is ready") } else { reason }
        }
    };
    let described = format!("pid {} in pod {}/{}", process.pid, pod.namespace, pod.name);
    let attach = AttachSpec {
        pid: process.pid,
        watch: ExitWatch::External(Box::pin(gone)),
        command: process.command.clone(),
        described,
        stream: DebugStream::Other(Box::new(forward.stream)),
        token,
        paths: PathMap::mirrored(mirror.clone(), cwd.clone()),
        runtime_dirs,
        breakpoints,
        location_base: PathBuf::from(&cwd),
        exceptions: spec.exceptions,
        budget: spec.budget,
    };
    match Session::attach(name, attach).await {
        Ok((session, mut report)) => {
            let shipped = if listener.shipped { ", shipped in by borescope" } else { "" };
            let how = match listener.method {
                Some(borescope_model::AttachMethod::Ptrace) => " (a pending call borescope scheduled with ptrace)",
                _ => "",
            };
            report.notices.insert(
                0,
                Notice::plain(format!(
                    "Python {} (`{}`) in pod {}/{}{}, debugpy {}{shipped}, reached through the API's port-forward; started by thread `{}`{how}",
                    text("python"),
                    text("executable"),
                    pod.namespace,
                    pod.name,
                    pod.container.as_deref().map(|c| format!(" container {c}")).unwrap_or_default(),
                    text("debugpy"),
                    text("thread"),
                )),
            );
            Ok((session, PodAttachment { cluster, listener, _forward: forward.connection, mirror }, report))
        }
        Err(error) => {
            let _ = std::fs::remove_dir_all(&mirror);
            undo_on_error(cluster, listener).await;
            Err(crate::handlers::failure(error))
        }
    }
}

impl PodAttachment {
    /// Removes borescope's local copy of the program's sources (its pod is gone).
    pub fn forget_sources(&self) {
        let _ = std::fs::remove_dir_all(&self.mirror);
    }
}

/// A relative breakpoint file is the program's, from its working directory.
fn absolute_in(location: &mut Location, cwd: &str) {
    if !location.file.starts_with('/') && !cwd.is_empty() {
        location.file = std::path::Path::new(cwd).join(&location.file).display().to_string();
    }
}

/// Undoes what attach set up, local or in a pod, and says so in the `stop` answer when it
/// could not finish.
pub async fn undo_any(attachment: Attachment, answer: &mut Answer) {
    match attachment {
        Attachment::Local(listener) => undo_local(*listener, answer).await,
        Attachment::Pod(pod) => {
            let PodAttachment { cluster, listener, _forward, mirror } = *pod;
            drop(_forward);
            let _ = std::fs::remove_dir_all(&mirror);
            match inject::stop_debugpy(&cluster, &listener, DETACH_TIMEOUT).await {
                Ok(()) => {}
                // The pod or the process is gone: nothing is left to undo.
                Err(KubeError::NotFound(_) | KubeError::Input(_)) => {}
                Err(error) => if let Answer::Ended { notices, .. } = answer {
                    let first = error.to_string().lines().next().unwrap_or_default().to_string();
                    notices.push(Notice::with_hint(
                        format!("breakpoints are removed and the program runs on, but debugpy is not unloaded from the pod yet: {first}"),
                        "it stays queued and unloads itself the next time that thread runs Python code",
                    ));
                }
            }
        }
    }
}
