//! Refusals: RBAC without `pods/exec` (the exact missing permission), and a pod deleted in the
//! middle of a session (the next command says so).

use crate::cluster::{deployment, pod, pod_spec, TestNamespace};
use crate::{ctx, kube, stable};
use insta::assert_snapshot;
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn rbac_without_pods_exec_names_the_missing_permission() {
    let ctx = ctx();
    let ns = TestNamespace::new("rbac");
    ns.create(pod("solo", "solo", pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.create(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "read-pods"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "services", "endpoints"], "verbs": ["get", "list"]}],
    }));
    ns.create(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "limited-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-pods"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}],
    }));
    ns.ready_pods("app=solo", 1);
    let mut command = ctx.command();
    command.env("KUBECONFIG", &ns.limited_kubeconfig).args(["attach", "pod/solo", "-n", &ns.name]);
    let refused = ctx.run_command(command);
    refused.expect_code(1);
    assert_snapshot!("rbac_no_exec", stable(&ns, refused.snapshot()));
    assert!(ctx.daemon_pids().is_empty(), "nothing started for a refused attach");
}

#[test]
fn a_pod_deleted_mid_session_is_reported_by_the_next_command() {
    let ctx = ctx();
    let ns = TestNamespace::new("gone");
    ns.create(deployment("web", 1, pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    let pods = ns.ready_pods("app=web", 1);
    kube(&ctx, &ns, ["attach", &format!("pod/{}", pods[0]), "-n", &ns.name]).expect_code(0);
    ns.delete_pod(&pods[0]);
    let started = Instant::now();
    let said = loop {
        let status = kube(&ctx, &ns, ["status"]);
        if status.stdout.contains("was deleted") || status.stdout.contains("is being deleted") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the deletion was never reported:\n{}", status.stdout);
        std::thread::sleep(Duration::from_millis(300));
    };
    said.expect_code(0).stdout_has(&format!("pod {}/{}", ns.name, pods[0]));
    kube(&ctx, &ns, ["vars"]).expect_code(1).stderr_has("so the session's program is gone");
    kube(&ctx, &ns, ["stop"]).expect_code(0);
    // The Deployment replaced it; the replacement is attachable at once.
    let replacement = ns.ready_pods("app=web", 1);
    assert_ne!(replacement, pods);
    kube(&ctx, &ns, ["attach", &format!("pod/{}", replacement[0]), "-n", &ns.name]).expect_code(0);
    kube(&ctx, &ns, ["stop"]).expect_code(0);
}

#[test]
fn ptrace_refused_by_the_containers_seccomp_profile_is_diagnosed() {
    let ctx = ctx();
    let ns = TestNamespace::new("seccomp");
    let mut spec = pod_spec(&["python3", "/app/web.py", "8080"], Some(8080));
    spec["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
    ns.create(pod("locked", "locked", spec));
    ns.ready_pods("app=locked", 1);
    let refused = kube(&ctx, &ns, ["attach", "pod/locked", "-n", &ns.name]);
    refused.expect_code(1);
    assert_snapshot!("seccomp_refused", stable(&ns, refused.snapshot()));
    // Nothing was left in the pod.
    let check = "import os; print(sorted(d for d in os.listdir('/tmp') if d.startswith('borescope') and not d.startswith('borescope-exec')))";
    let listed = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    assert_eq!(listed["pods"][0]["containers"][0]["processes"][0]["ports"], json!([8080]));
    // exec needs the same access, and says so the same way.
    kube(&ctx, &ns, ["exec", "pod/locked", "-n", &ns.name, "-c", check]).expect_code(1).stderr_has("seccomp profile");
}

#[test]
fn remote_debugging_disabled_in_the_pod_is_shown_and_refused() {
    let ctx = ctx();
    let ns = TestNamespace::new("nodebug");
    let mut spec = pod_spec(&["python3", "/app/web.py", "8080"], Some(8080));
    spec["containers"][0]["env"] = json!([{"name": "PYTHON_DISABLE_REMOTE_DEBUG", "value": "1"}]);
    ns.create(pod("closed", "closed", spec));
    ns.ready_pods("app=closed", 1);
    let listed = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    let process = &listed["pods"][0]["containers"][0]["processes"][0];
    assert_eq!(process["attachable"], false, "{listed}");
    assert!(process["why_not"].as_str().unwrap().contains("PYTHON_DISABLE_REMOTE_DEBUG"), "{listed}");
    let refused = kube(&ctx, &ns, ["attach", "pod/closed:1", "-n", &ns.name]);
    refused.expect_code(2).stderr_has("remote debugging disabled");
}

#[test]
fn follow_attaches_again_to_the_replacement_pod_with_the_breakpoints() {
    use crate::cluster::{handler_line, service};
    let ctx = ctx();
    let ns = TestNamespace::new("follow");
    ns.create(deployment("web", 1, pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.create(service("web", "web", 8080));
    let first = ns.ready_pods("app=web", 1);
    let line = handler_line("web.py");
    kube(&ctx, &ns, ["attach", "svc/web", "-n", &ns.name, "--follow", "--break", &format!("web.py:{line}")])
        .expect_code(0)
        .stdout_has(&format!("in pod {}/{}", ns.name, first[0]));
    ns.delete_pod(&first[0]);
    let second = ns.ready_pods("app=web", 1);
    assert_ne!(second, first);
    let started = Instant::now();
    loop {
        let sessions = kube(&ctx, &ns, ["sessions"]);
        if sessions.stdout.contains(&format!("pod/{}:", second[0])) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never attached to the successor:\n{}", sessions.stdout);
        std::thread::sleep(Duration::from_millis(300));
    }
    let request = ns.get(&second[0], 8080, "/");
    let hit = kube(&ctx, &ns, ["continue"]);
    hit.expect_code(0)
        .stdout_has(&format!("web.py:{line} in handle"))
        .stdout_has(&format!("attached again to pid 1 in pod {}/{} (--follow), 1 breakpoint set again", ns.name, second[0]));
    kube(&ctx, &ns, ["stop"]).expect_code(0);
    assert_eq!(ns.answer(request), "hello 1");
}
