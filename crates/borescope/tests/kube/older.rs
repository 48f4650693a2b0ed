//! Python 3.13 in a pod (no `sys.remote_exec`): the in-pod program schedules borescope's job as
//! a pending call with ptrace. A full session (break, continue through a real request, vars,
//! eval, stop, attach again), exec, ptrace refused by the container's seccomp profile (and the
//! profile that lets it through), and a main thread that never takes the request.

use crate::cluster::{handler_line, pod, pod_spec, TestNamespace, IMAGE_313};
use crate::{ctx, kube, stable};
use insta::assert_snapshot;
use serde_json::{json, Value};

/// web.py on port 8080 in the Python 3.13 image.
fn spec_313() -> Value {
    let mut spec = pod_spec(&["python3", "/app/web.py", "8080"], Some(8080));
    spec["containers"][0]["image"] = json!(IMAGE_313);
    spec
}

const LEFT_BEHIND: &str = "import os; print(sorted(d for d in os.listdir('/tmp') if d.startswith('borescope') and not d.startswith('borescope-exec')))";

#[test]
fn a_python_3_13_pod_is_attached_through_a_pending_call() {
    let ctx = ctx();
    let ns = TestNamespace::new("py313");
    ns.create(pod("old", "old", spec_313()));
    ns.ready_pods("app=old", 1);

    let listed = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    let process = &listed["pods"][0]["containers"][0]["processes"][0];
    assert_eq!((&process["pid"], &process["python"], &process["method"], &process["attachable"]), (&json!(1), &json!("3.13"), &json!("ptrace"), &json!(true)), "{listed}");

    let line = handler_line("web.py");
    let attached = kube(&ctx, &ns, ["attach", "pod/old", "-n", &ns.name, "--break", &format!("web.py:{line}")]);
    attached
        .expect_code(0)
        .stdout_has(&format!("attached to pid 1 in pod {}/old", ns.name))
        .stdout_has("Python 3.13")
        .stdout_has("(a pending call borescope scheduled with ptrace)");
    let request = ns.get("old", 8080, "/");
    let hit = kube(&ctx, &ns, ["continue"]);
    hit.expect_code(0).stdout_has(&format!("web.py:{line} in handle"));
    kube(&ctx, &ns, ["vars"]).expect_code(0).stdout_has("greeting: str = 'hello'").stdout_has("number: int = 1");
    kube(&ctx, &ns, ["eval", "number + 41"]).expect_code(0).stdout_has("42");
    kube(&ctx, &ns, ["stop"]).expect_code(0).stdout_has("detached");
    assert_eq!(ns.answer(request), "hello 1", "the request finishes once detached");

    // Again, on the same process: the first session left nothing in the way.
    kube(&ctx, &ns, ["attach", "pod/old", "-n", &ns.name]).expect_code(0).stdout_has("attached to pid 1");
    kube(&ctx, &ns, ["stop"]).expect_code(0).stdout_has("detached");

    let printed = kube(&ctx, &ns, ["exec", "pod/old", "-n", &ns.name, "-c", "import sys; print(6 * 7, sys.version_info[:2])"]);
    printed.expect_code(0).stdout_has("42 (3, 13)");
    kube(&ctx, &ns, ["exec", "pod/old:1", "-n", &ns.name, "-c", LEFT_BEHIND]).expect_code(0).stdout_has("[]");
    let after = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    assert_eq!(after["pods"][0]["containers"][0]["processes"][0]["ports"], json!([8080]), "debugpy stopped listening");
    assert_eq!(ns.answer(ns.get("old", 8080, "/")), "hello 2", "still serving");

    // Only the main thread takes a pending call, and in a pod never another thread.
    kube(&ctx, &ns, ["exec", "pod/old", "-n", &ns.name, "--thread", "7", "-c", "1"]).expect_code(2).stderr_has("--thread is not available in a pod");
}

#[test]
fn refusals_in_python_3_13_pods_say_what_to_do() {
    let ctx = ctx();
    let ns = TestNamespace::new("refuse313");
    let mut locked = spec_313();
    locked["securityContext"] = json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "borescope-no-ptrace.json"}});
    let mut fixed = spec_313();
    fixed["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
    let mut asleep = pod_spec(&["python3", "-c", "import time; time.sleep(86400)"], None);
    asleep["containers"][0]["image"] = json!(IMAGE_313);
    ns.create(pod("locked", "locked", locked));
    ns.create(pod("fixed", "fixed", fixed));
    ns.create(pod("asleep", "asleep", asleep));
    ns.ready_pods("app=locked", 1);
    ns.ready_pods("app=fixed", 1);
    ns.ready_pods("app=asleep", 1);

    let refused = kube(&ctx, &ns, ["attach", "pod/locked", "-n", &ns.name]);
    refused.expect_code(1);
    assert_snapshot!("seccomp_refused_313", stable(&ns, refused.snapshot()));
    // The hint's fix: containerd's RuntimeDefault lets ptrace through (it refuses only
    // process_vm_writev, which Python 3.14's PEP 768 needs).
    kube(&ctx, &ns, ["exec", "pod/fixed", "-n", &ns.name, "-c", "print(6 * 7)"]).expect_code(0).stdout_has("42");
    kube(&ctx, &ns, ["exec", "pod/fixed", "-n", &ns.name, "-c", LEFT_BEHIND]).expect_code(0).stdout_has("[]");

    // A main thread that never runs Python: the request cannot be taken back, and the error
    // says what stays behind.
    let asleep = kube(&ctx, &ns, ["exec", "pod/asleep", "-n", &ns.name, "--timeout", "1", "-c", "print(1)"]);
    // The time it waited, as measured in the pod: at least the timeout, more on a busy machine.
    let waited = regex::Regex::new(r"did not run Python code for (\d+\.\d)s").unwrap();
    let seconds: f64 = waited.captures(&asleep.stderr).map(|c| c[1].parse().unwrap()).unwrap_or_else(|| panic!("{}", asleep.stderr));
    assert!((1.0..10.0).contains(&seconds), "{}", asleep.stderr);
    asleep
        .expect_code(1)
        .stderr_has("pid 1 in pod")
        .stderr_has("thread 1 `python3`: waits in the kernel")
        .stderr_has("borescope cannot take a pending call back: it stays queued, and when the main thread runs Python again it only removes borescope's files (the 4 KB page holding it stays mapped)")
        .stderr_has("before 3.14 only in the main thread");
}
