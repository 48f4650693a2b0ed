//! Kubernetes attach on a real single-node cluster (`scripts/kube-cluster`: etcd,
//! kube-apiserver with RBAC, controller-manager, scheduler, containerd, kubelet), started once
//! per test run and torn down after. Pods run a shell-less Python 3.14 image without debugpy
//! (and, in `older`, a Python 3.13 one); borescope reaches them only through the Kubernetes API.

mod cluster;
mod failures;
mod mcp;
mod older;
mod services;
mod snapshots;
mod workers;

use borescope_test::{Run, TestContext};
use cluster::TestNamespace;

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// Runs borescope with the cluster's admin kubeconfig.
pub fn kube<const N: usize>(ctx: &TestContext, ns: &TestNamespace, args: [&str; N]) -> Run {
    let mut command = ctx.command();
    command.env("KUBECONFIG", &ns.kubeconfig).args(args);
    ctx.run_command(command)
}

/// Output made stable: the namespace, pod name suffixes, ages, CPU and memory.
pub fn stable(ns: &TestNamespace, text: &str) -> String {
    let mut text = text.replace(&ns.name, "[NS]");
    for (pattern, replacement) in [
        (r"age \d+[smhd]", "age [AGE]"),
        (r"\b\d+\.\d(\s+)\d+(\.\d+)?[KMG]\b", "[CPU]$1[RSS]"),
        (r"\d+\.\d% CPU  \d+ MB", "[CPU] [RSS]"),
    ] {
        text = regex::Regex::new(pattern).unwrap().replace_all(&text, replacement).into_owned();
    }
    text
}
