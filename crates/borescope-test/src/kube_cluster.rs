//! A real single-node Kubernetes (v1.20.2: etcd, kube-apiserver, controller-manager, scheduler,
//! containerd, kubelet) for the Kubernetes tests, run by `scripts/kube-cluster`.
//!
//! [`shared`] starts one cluster and hands out its kubeconfigs. The cluster outlives no test run:
//! `up --watch-pid` leaves a reaper that runs `down` once the watched process is gone, so no
//! global teardown hook is needed.
//!
//! * Under `cargo nextest` (one process per test) the cluster is shared by every test of the run:
//!   keyed by `NEXTEST_RUN_ID`, started by the first test under a file lock, watched on the
//!   nextest runner's pid (the tests' parent). Tests must therefore isolate themselves (their own
//!   namespace, their own names).
//! * Under `cargo test` (one process per test binary) it is started once per test binary and
//!   watched on the test binary's own pid.
//! * `BORESCOPE_TEST_KUBECONFIG=/path/STATE_DIR/kubeconfig` uses a cluster you started yourself
//!   (`scripts/kube-cluster up STATE_DIR`), for fast local iteration: nothing is started or torn
//!   down, and the limited user's kubeconfig is `limited.kubeconfig` next to it.
//!
//! The cluster's users: `admin` (group `system:masters`, [`KubeCluster::kubeconfig`]) and
//! `limited` (no groups, no rights until a test grants it a Role,
//! [`KubeCluster::limited_kubeconfig`]). Authorization is `Node,RBAC`.

use crate::interpreters::shared_cache;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A running cluster's files.
#[derive(Debug, Clone)]
pub struct KubeCluster {
    /// The admin's kubeconfig (context `borescope-test`, namespace `default`).
    pub kubeconfig: PathBuf,
    /// The same cluster as the user `limited`, who may do nothing until granted a Role.
    pub limited_kubeconfig: PathBuf,
    /// The cluster's state directory (logs under `logs/`).
    pub state_dir: PathBuf,
}

impl KubeCluster {
    fn at(state_dir: &Path) -> KubeCluster {
        KubeCluster {
            kubeconfig: state_dir.join("kubeconfig"),
            limited_kubeconfig: state_dir.join("limited.kubeconfig"),
            state_dir: state_dir.to_path_buf(),
        }
    }

    fn is_up(&self) -> bool {
        self.kubeconfig.is_file() && self.state_dir.join("pids/kube-apiserver").is_file()
    }
}

/// The script that builds and runs the cluster.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kube-cluster")
}

/// The test run's cluster, started on first use (see the module docs). Panics with the
/// script's error output if the cluster cannot be started.
pub fn shared() -> &'static KubeCluster {
    // The tests' own Kubernetes clients: ring, as in the binary (the workspace also builds
    // rustls with aws-lc-rs, so it cannot choose by itself).
    let _ = rustls::crypto::ring::default_provider().install_default();
    static CLUSTER: OnceLock<KubeCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        if let Some(kubeconfig) = std::env::var_os("BORESCOPE_TEST_KUBECONFIG") {
            return existing(Path::new(&kubeconfig));
        }
        match std::env::var("NEXTEST_RUN_ID") {
            Ok(run_id) if !run_id.is_empty() => shared_by_run(&run_id),
            _ => start(&fresh_state_dir(), std::process::id()),
        }
    })
}

fn existing(kubeconfig: &Path) -> KubeCluster {
    assert!(
        kubeconfig.is_file(),
        "BORESCOPE_TEST_KUBECONFIG={} is not a file; start a cluster with `scripts/kube-cluster up STATE_DIR` and point it at STATE_DIR/kubeconfig",
        kubeconfig.display()
    );
    let state_dir = kubeconfig.parent().map(Path::to_path_buf).unwrap_or_default();
    let cluster = KubeCluster { kubeconfig: kubeconfig.to_path_buf(), ..KubeCluster::at(&state_dir) };
    assert!(
        cluster.limited_kubeconfig.is_file(),
        "no limited.kubeconfig next to BORESCOPE_TEST_KUBECONFIG ({}); point it at a STATE_DIR/kubeconfig written by `scripts/kube-cluster up`",
        cluster.limited_kubeconfig.display()
    );
    cluster
}

/// One cluster for a whole nextest run: the first test process starts it, the others find it.
fn shared_by_run(run_id: &str) -> KubeCluster {
    let short: String = run_id.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    let state_dir = PathBuf::from(format!("/tmp/bskube-{short}"));
    let kube_cache = shared_cache().join("kube");
    std::fs::create_dir_all(&kube_cache).unwrap_or_else(|e| panic!("create {}: {e}", kube_cache.display()));
    let lock_path = kube_cache.join("nextest-run.lock");
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    let cluster = KubeCluster::at(&state_dir);
    let cluster = if cluster.is_up() {
        cluster
    } else {
        // The nextest runner is this process's parent: the cluster goes when the run ends.
        start(&state_dir, std::os::unix::process::parent_id())
    };
    drop(lock);
    cluster
}

fn fresh_state_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("bskube-")
        .tempdir_in("/tmp")
        .expect("create the cluster's state directory")
        .keep()
}

/// `scripts/kube-cluster setup` (instant when cached), then `up STATE_DIR --watch-pid PID`.
fn run_script(command: &mut Command, what: &str) -> String {
    crate::script_output(command, "kube-cluster", what, ":")
}

fn start(state_dir: &Path, watch_pid: u32) -> KubeCluster {
    let cache = shared_cache();
    run_script(Command::new(script()).arg("setup").env("BORESCOPE_TEST_CACHE", &cache), "setup");
    let stdout = run_script(
        Command::new(script())
            .arg("up")
            .arg(state_dir)
            .arg("--watch-pid")
            .arg(watch_pid.to_string())
            .env("BORESCOPE_TEST_CACHE", &cache),
        "up",
    );
    let cluster = KubeCluster::at(state_dir);
    assert_eq!(
        Path::new(stdout.trim()),
        cluster.kubeconfig,
        "`scripts/kube-cluster up` printed an unexpected kubeconfig path"
    );
    cluster
}

