//! Which process: uvicorn's reloader refused with its worker named and the worker chosen; a
//! two-container pod; code run with `exec` and its output and traceback brought back.

use crate::cluster::{handler_line, pod, pod_spec, TestNamespace, BUSYBOX};
use crate::{ctx, kube};
use serde_json::json;

#[test]
fn uvicorn_reload_the_worker_is_chosen_and_the_reloader_refused() {
    let ctx = ctx();
    let ns = TestNamespace::new("reload");
    let command = ["python3", "-m", "uvicorn", "asgi:app", "--reload", "--host", "0.0.0.0", "--port", "8081", "--app-dir", "/app"];
    ns.create(pod("reload", "reload", pod_spec(&command, Some(8081))));
    ns.ready_pods("app=reload", 1);

    let refused = kube(&ctx, &ns, ["attach", "pod/reload:1", "-n", &ns.name]);
    refused.expect_code(2).stderr_has("the uvicorn reloader, no request runs in it; attach to its worker");

    let line = handler_line("asgi.py");
    let attached = kube(&ctx, &ns, ["attach", "pod/reload", "-n", &ns.name, "--break", &format!("asgi.py:{line}")]);
    attached.expect_code(0).stdout_has("attached to pid");
    assert!(!attached.stdout.contains("attached to pid 1 "), "the worker, not the reloader:\n{}", attached.stdout);
    let request = ns.get("reload", 8081, "/");
    kube(&ctx, &ns, ["continue"]).expect_code(0).stdout_has(&format!("asgi.py:{line} in handle"));
    kube(&ctx, &ns, ["stop"]).expect_code(0);
    assert_eq!(ns.answer(request), "hello 1");
}

#[test]
fn two_containers_and_exec_output_and_traceback() {
    let ctx = ctx();
    let ns = TestNamespace::new("duo");
    let mut spec = pod_spec(&["python3", "/app/web.py", "8080"], Some(8080));
    spec["containers"].as_array_mut().unwrap().push(json!({
        "name": "side", "image": BUSYBOX, "imagePullPolicy": "Never", "command": ["/bin/sleep", "3600"],
    }));
    ns.create(pod("duo", "duo", spec));
    ns.ready_pods("app=duo", 1);

    let listed = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    let containers = &listed["pods"][0]["containers"];
    assert_eq!(containers[0]["processes"][0]["pid"], 1, "{listed}");
    assert!(containers[1]["error"].as_str().unwrap().contains("no Python interpreter"), "{listed}");

    kube(&ctx, &ns, ["exec", "pod/duo", "-n", &ns.name, "--container", "side", "-c", "print(1)"])
        .expect_code(2)
        .stderr_has("no Python interpreter to run borescope's program in pod");
    let printed = kube(&ctx, &ns, ["exec", "pod/duo", "-n", &ns.name, "-c", "import sys; print(6 * 7); print(sys.version_info[:2])"]);
    printed.expect_code(0).stdout_has("42").stdout_has("(3, 14)");
    let failed = kube(&ctx, &ns, ["exec", "pod/duo:1", "-n", &ns.name, "-c", "x = 1\n1 / 0"]);
    failed.expect_code(1).stderr_has("ZeroDivisionError: division by zero");
    let json = kube(&ctx, &ns, ["exec", "pod/duo", "-n", &ns.name, "--container", "app", "-c", "print('hi')", "--json"]).expect_code(0).json();
    assert_eq!(json["stdout"], "hi\n");
}
