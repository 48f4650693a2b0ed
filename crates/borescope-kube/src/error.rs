//! Errors of the Kubernetes capability; each message says what failed and what to do.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No usable cluster configuration (kubeconfig, context).
    #[error("{0}")]
    Config(String),
    /// The request itself is wrong (target syntax, a pid that is not there, a choice needed).
    #[error("{0}")]
    Input(String),
    /// Several pods or processes qualify and none was named.
    #[error("{0}")]
    Choice(String),
    /// A named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// RBAC refused a request.
    #[error("{0}")]
    Forbidden(String),
    /// Something inside the pod failed (no Python, ptrace refused, the job failed).
    #[error("{0}")]
    Pod(String),
    /// The API server could not be reached or answered an error.
    #[error("{0}")]
    Api(String),
}

impl KubeError {
    /// True when the user's input is at fault (exit 2), not the cluster.
    pub fn is_input_error(&self) -> bool {
        matches!(self, KubeError::Input(_) | KubeError::Choice(_) | KubeError::NotFound(_))
    }
}
