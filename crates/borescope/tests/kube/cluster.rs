//! The test's view of the cluster: a private namespace per test (deleted when the test ends),
//! objects created from JSON through the real API (kube-rs, as borescope itself uses), waits for
//! readiness, and HTTP requests to a pod through a port-forward.

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The image every test pod runs: Python 3.14, no shell, no debugpy (`scripts/kube-cluster`).
pub const IMAGE: &str = "localhost/borescope-py:1";
/// A busybox sidecar image.
pub const BUSYBOX: &str = "localhost/busybox:1";
/// Python 3.13 (no `sys.remote_exec`), ctypes included, no shell, no debugpy; `/app/web.py`.
pub const IMAGE_313: &str = "localhost/borescope-py313:1";

/// One test's namespace on the shared cluster.
pub struct TestNamespace {
    pub name: String,
    pub kubeconfig: PathBuf,
    pub limited_kubeconfig: PathBuf,
    pub client: Client,
    pub runtime: tokio::runtime::Runtime,
}

impl TestNamespace {
    /// Creates `bs-<prefix>-<random>`.
    pub fn new(prefix: &str) -> TestNamespace {
        let cluster = borescope_test::kube_cluster::shared();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let kubeconfig = cluster.kubeconfig.clone();
        let client = runtime.block_on(async {
            let options = kube::config::KubeConfigOptions::default();
            let config = Config::from_custom_kubeconfig(kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(), &options).await.unwrap();
            Client::try_from(config).unwrap()
        });
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("bs-{prefix}-{:x}", nanos ^ std::process::id());
        let ns = TestNamespace { name, kubeconfig, limited_kubeconfig: cluster.limited_kubeconfig.clone(), client, runtime };
        let namespaces: Api<Namespace> = Api::all(ns.client.clone());
        ns.runtime
            .block_on(namespaces.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns.name}})).unwrap()))
            .expect("create the test namespace");
        ns
    }

    /// Creates an object of this namespace from its JSON (apiVersion, kind, metadata, spec).
    pub fn create(&self, object: Value) {
        let api_version = object["apiVersion"].as_str().unwrap().to_string();
        let kind = object["kind"].as_str().unwrap().to_string();
        let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
        let plural = format!("{}s", kind.to_lowercase());
        let resource = ApiResource { group: group.into(), version: version.into(), api_version: api_version.clone(), kind: kind.clone(), plural };
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &self.name, &resource);
        let object: DynamicObject = serde_json::from_value(object).unwrap();
        self.runtime.block_on(api.create(&PostParams::default(), &object)).unwrap_or_else(|e| panic!("create {kind}: {e}"));
    }

    /// Names of the Ready pods matching `selector`, once there are `count` of them.
    pub fn ready_pods(&self, selector: &str, count: usize) -> Vec<String> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        let started = Instant::now();
        loop {
            let pods = self.runtime.block_on(api.list(&ListParams::default().labels(selector))).unwrap().items;
            let ready: Vec<String> = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.status.as_ref().is_some_and(|s| s.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True")))
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            if ready.len() == count {
                let mut ready = ready;
                ready.sort();
                return ready;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "{count} ready pods `{selector}` in {}: have {ready:?}", self.name);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Deletes a pod now (no grace period).
    pub fn delete_pod(&self, name: &str) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        self.runtime.block_on(api.delete(name, &DeleteParams::default().grace_period(0))).expect("delete the pod");
    }

    /// Sends `GET path` to `port` of `pod` through a port-forward, in the background; the
    /// answer's body comes back from the handle (a breakpoint may hold it).
    pub fn get(&self, pod: &str, port: u16, path: &str) -> tokio::task::JoinHandle<String> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        let (pod, path) = (pod.to_string(), path.to_string());
        self.runtime.spawn(async move {
            let mut forward = api.portforward(&pod, &[port]).await.expect("port-forward");
            let mut stream = forward.take_stream(port).expect("stream");
            stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.expect("send");
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            let text = String::from_utf8_lossy(&answer).to_string();
            text.split("\r\n\r\n").nth(1).unwrap_or_default().trim().to_string()
        })
    }

    /// Waits for a background request's answer.
    pub fn answer(&self, request: tokio::task::JoinHandle<String>) -> String {
        self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(30), request).await }).expect("answer in time").expect("request task")
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = self.runtime.block_on(namespaces.delete(&self.name, &DeleteParams::default().grace_period(0)));
    }
}

/// A pod running `command` in [`IMAGE`] with label `app=<app>`, ready when `/health` answers
/// on `port` (no readiness probe when `None`).
pub fn pod_spec(command: &[&str], port: Option<u16>) -> Value {
    let mut container = json!({
        "name": "app",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "command": command,
        "workingDir": "/app",
    });
    if let Some(port) = port {
        container["readinessProbe"] = json!({"httpGet": {"path": "/health", "port": port}, "periodSeconds": 1});
    }
    json!({"automountServiceAccountToken": false, "terminationGracePeriodSeconds": 1, "containers": [container]})
}

/// A bare pod.
pub fn pod(name: &str, app: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}}, "spec": spec})
}

/// A Deployment of `replicas` pods labelled `app=<name>`.
pub fn deployment(name: &str, replicas: u32, spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    })
}

/// A Service selecting `app=<app>` on `port`.
pub fn service(name: &str, app: &str, port: u16) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": app}, "ports": [{"port": port, "targetPort": port}]},
    })
}

/// The line of `app` (`web.py`, `asgi.py`) marked `# borescope-test: handler line`.
pub fn handler_line(app: &str) -> usize {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kube/apps").join(app)).unwrap();
    text.lines().position(|l| l.contains("# borescope-test: handler line")).unwrap() + 1
}
