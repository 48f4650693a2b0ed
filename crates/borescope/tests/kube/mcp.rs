//! The MCP front door on a pod: `list_pods`, then `attach` with `kubernetes`, a breakpoint hit
//! by a request, and `stop_session`, through the official MCP Python SDK client.

use crate::cluster::{handler_line, pod, pod_spec, TestNamespace};
use crate::ctx;
use serde_json::{json, Value};

fn drive(ctx: &borescope_test::TestContext, ns: &TestNamespace, calls: Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp/drive.py");
    let output = ctx
        .isolated(borescope_test::interpreters::venv_python())
        .env("KUBECONFIG", &ns.kubeconfig)
        .args([script, "stdio"])
        .arg(ctx.bin())
        .arg(calls.to_string())
        .arg("[]")
        .output()
        .expect("run drive.py");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("drive.py printed no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn list_pods_and_attach_through_mcp() {
    let ctx = ctx();
    let ns = TestNamespace::new("mcp");
    ns.create(pod("solo", "solo", pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.ready_pods("app=solo", 1);
    let line = handler_line("web.py");
    let listed = drive(&ctx, &ns, json!([["list_pods", {"namespace": ns.name}]]));
    let text = listed["results"][0]["text"].as_str().unwrap();
    assert!(text.contains("pod/solo") && text.contains("python3 /app/web.py 8080"), "{listed:#}");
    assert_eq!(listed["results"][0]["structured"]["pods"][0]["containers"][0]["processes"][0]["attachable"], true, "{listed:#}");

    let attached = drive(&ctx, &ns, json!([
        ["attach", {"kubernetes": "pod/solo", "namespace": ns.name, "breakpoints": [format!("web.py:{line}")]}],
        ["attach", {"kubernetes": "svc/missing", "namespace": ns.name, "session": "other"}],
    ]));
    assert_eq!(attached["results"][0]["is_error"], false, "{attached:#}");
    assert!(attached["results"][0]["text"].as_str().unwrap().contains("attached to pid 1 in pod"), "{attached:#}");
    assert_eq!(attached["results"][1]["is_error"], true, "{attached:#}");
    assert!(attached["results"][1]["text"].as_str().unwrap().contains("no Service `missing`"), "{attached:#}");

    let request = ns.get("solo", 8080, "/");
    let driven = drive(&ctx, &ns, json!([["continue", {}], ["stop_session", {}]]));
    assert!(driven["results"][0]["text"].as_str().unwrap().contains(&format!("web.py:{line} in handle")), "{driven:#}");
    assert_eq!(driven["results"][1]["is_error"], false, "{driven:#}");
    assert_eq!(ns.answer(request), "hello 1");
}
