//! What `borescope pods` prints (pods, their containers, and the Python processes inside),
//! and how one process in a pod is named between processes (CLI, MCP, daemon).

use crate::{Notice, PythonProcess};
use serde::{Deserialize, Serialize};

/// Schema name of [`PodList`].
pub const PODS_SCHEMA: &str = "borescope.pods/1";

/// Pods and the Python processes in their containers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodList {
    /// [`PODS_SCHEMA`].
    pub schema: String,
    /// The kubeconfig context used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The namespace listed (`None` with `--all-namespaces`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// How the pods were chosen (`Service web (Endpoints)`, `label app=web`, `all pods`).
    pub selection: String,
    /// The pods, by namespace and name.
    pub pods: Vec<PodEntry>,
    /// What could not be looked at, and what to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

/// One pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodEntry {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `Running`, `Pending`, `Terminating`, ...
    pub phase: String,
    /// True when Running and Ready (an attach candidate).
    pub ready: bool,
    /// The node it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Seconds since it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// Container restarts, summed.
    pub restarts: u32,
    /// Its containers, in spec order.
    pub containers: Vec<PodContainer>,
}

/// One container of a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodContainer {
    /// Name (`-c NAME`).
    pub name: String,
    /// Image.
    pub image: String,
    /// Its Python processes (pids as the container sees them).
    pub processes: Vec<PythonProcess>,
    /// Why its processes could not be listed (no Python in it, not running, not allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One process in one container of one pod, as chosen for an attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodProcessRef {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// The pod's uid (to notice a replacement with the same name).
    pub pod_uid: String,
    /// Container name.
    pub container: Option<String>,
    /// The process, as the container sees it.
    pub pid: u32,
    /// Its interpreter's path in the container.
    #[serde(default)]
    pub executable: Option<String>,
    /// `pod/NAME:PID` then its command line (what `sessions` shows).
    pub command: Vec<String>,
}

/// Where a followed pod session (`--follow`) looks for a replaced pod's successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowTarget {
    /// Any ready pod behind the Service.
    Service(String),
    /// A ready pod with the replaced pod's labels (less the ones a rollout changes).
    SameLabels,
}
