//! The Kubernetes attach capability: find the pods behind a Service, list the Python
//! processes inside their containers, start debugpy (or run a job) in one of them, and reach
//! it through the API's port-forward. Everything goes through the Kubernetes API with the
//! `kube` crate (kubeconfig, contexts, exec-plugin auth, in-cluster config); no `kubectl`.
//!
//! * [`cluster`]: a connected client, its default namespace, and API errors turned into
//!   precise messages (RBAC: which verb on which resource is missing).
//! * [`target`]: `svc/NAME` and `pod/NAME[:PID]`, and the pods behind a Service
//!   (EndpointSlices, core/v1 Endpoints, the selector; ExternalName and Knative services).
//! * [`podexec`]: running the in-pod program (`borescope_agent/pod.py`, streamed on stdin to
//!   a Python interpreter already in the container) through the exec API.
//! * [`processes`]: the Python processes of a container, with the facts local `ps` shows.
//! * [`choose`]: which pod and process an attach means, or the list to choose from.
//! * [`inject`]: jobs inside the pod (debugpy listen and detach, exec), run by the target's own
//!   interpreter: `sys.remote_exec` (PEP 768) on 3.14+, a pending call scheduled with ptrace on
//!   3.9–3.13; failures diagnosed.
//! * [`forward`]: a port-forward stream to a port inside the pod.
//! * [`pods`]: the `borescope pods` report.
//! * [`watch`]: noticing that a pod (or its container) is gone or replaced.

#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod choose;
pub mod cluster;
mod error;
pub mod forward;
pub mod inject;
mod payload;
pub mod pods;
pub mod podexec;
pub mod processes;
pub mod target;
pub mod watch;

pub use cluster::Cluster;
pub use error::KubeError;
pub use target::{PodRef, TargetSpec};
