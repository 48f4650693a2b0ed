//! A stream to a port inside a pod, through the API server's port-forward (no port opened on
//! the pod network, nothing listening on this machine).

use crate::{Cluster, KubeError, PodRef};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
pub use kube::api::Portforwarder;
use tokio::io::DuplexStream;

/// An open forward: the stream, and the connection that carries it (keep both).
pub struct Forward {
    /// Bytes to and from the port.
    pub stream: DuplexStream,
    /// The port-forward connection.
    pub connection: Portforwarder,
}

/// Opens a stream to `port` on the pod's loopback.
pub async fn open(cluster: &Cluster, pod: &PodRef, port: u16) -> Result<Forward, KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &pod.namespace);
    let mut connection = api
        .portforward(&pod.name, &[port])
        .await
        .map_err(|e| cluster.error(&format!("forward port {port} of pod `{}` (namespace `{}`)", pod.name, pod.namespace), e))?;
    let stream = connection
        .take_stream(port)
        .ok_or_else(|| KubeError::Pod(format!("the port-forward to pod {pod} gave no stream for port {port}")))?;
    Ok(Forward { stream, connection })
}
