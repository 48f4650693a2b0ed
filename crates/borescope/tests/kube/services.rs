//! Services: a Deployment of two replicas behind a Service (listing, the choice, a full session
//! through the API's port-forward, the pod clean afterwards), ExternalName and Knative-style
//! services.

use crate::cluster::{deployment, handler_line, pod, pod_spec, service, TestNamespace};
use crate::{ctx, kube, stable};
use insta::assert_snapshot;
use serde_json::json;

#[test]
fn a_deployment_behind_a_service_from_listing_to_detach() {
    let ctx = ctx();
    let ns = TestNamespace::new("svc");
    ns.create(deployment("web", 2, pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.create(service("web", "web", 8080));
    let pods = ns.ready_pods("app=web", 2);

    let listed = kube(&ctx, &ns, ["pods", "-n", &ns.name, "-s", "web", "--json"]);
    let listed = listed.expect_code(0).json();
    assert_eq!(listed["schema"], "borescope.pods/1");
    assert!(listed["selection"].as_str().unwrap().contains("Service `web`"), "{listed}");
    let names: Vec<&str> = listed["pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, pods.iter().map(String::as_str).collect::<Vec<_>>());
    for pod in listed["pods"].as_array().unwrap() {
        let process = &pod["containers"][0]["processes"][0];
        assert_eq!(process["pid"], 1, "{pod}");
        assert_eq!(process["python"], "3.14", "{pod}");
        assert_eq!(process["attachable"], true, "{pod}");
        assert_eq!(process["ports"], json!([8080]), "{pod}");
    }

    // Two replicas and nobody to ask: the choices, and the argument that picks one.
    let refused = kube(&ctx, &ns, ["attach", "svc/web", "-n", &ns.name]);
    refused.expect_code(2).stderr_has("2 processes qualify; name one:").stderr_has(&format!("pod/{}:1 -c app", pods[0]));
    assert!(refused.stderr.contains(&format!("pod/{}:1 -c app", pods[1])), "{}", refused.stderr);

    let line = handler_line("web.py");
    let attached = kube(&ctx, &ns, ["attach", &format!("pod/{}", pods[0]), "-n", &ns.name, "--break", &format!("web.py:{line}")]);
    attached
        .expect_code(0)
        .stdout_has(&format!("attached to pid 1 in pod {}/{}", ns.name, pods[0]))
        .stdout_has("shipped in by borescope")
        .stdout_has("reached through the API's port-forward");
    let request = ns.get(&pods[0], 8080, "/");
    let hit = kube(&ctx, &ns, ["continue"]);
    hit.expect_code(0).stdout_has(&format!("web.py:{line} in handle"));
    hit.stdout_has("reply = f\"{greeting} {number}\"  # borescope-test: handler line");
    kube(&ctx, &ns, ["vars"]).expect_code(0).stdout_has("greeting: str = 'hello'").stdout_has("number: int = 1");
    kube(&ctx, &ns, ["eval", "number + 41"]).expect_code(0).stdout_has("42");
    kube(&ctx, &ns, ["stop"]).expect_code(0).stdout_has("detached");
    assert_eq!(ns.answer(request), "hello 1", "the request finishes once detached");

    // The pod as it was: no borescope files, no debugpy port, still serving.
    let check = "import os; print(sorted(d for d in os.listdir('/tmp') if d.startswith('borescope') and not d.startswith('borescope-exec')))";
    kube(&ctx, &ns, ["exec", &format!("pod/{}", pods[0]), "-n", &ns.name, "-c", check]).expect_code(0).stdout_has("[]");
    let after = kube(&ctx, &ns, ["pods", "-n", &ns.name, "-s", "web", "--json"]).expect_code(0).json();
    assert_eq!(after["pods"][0]["containers"][0]["processes"][0]["ports"], json!([8080]), "debugpy stopped listening");
    assert_eq!(ns.answer(ns.get(&pods[0], 8080, "/")), "hello 2");
}

#[test]
fn external_name_and_knative_services_lead_to_their_pods() {
    let ctx = ctx();
    let ns = TestNamespace::new("ext");
    ns.create(pod("web-1", "web", pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.create(service("web", "web", 8080));
    ns.create(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "alias"},
        "spec": {"type": "ExternalName", "externalName": format!("web.{}.svc.cluster.local", ns.name)},
    }));
    let mut knative = pod("orders-00001-deployment-1", "orders", pod_spec(&["python3", "/app/web.py", "8080"], Some(8080)));
    knative["metadata"]["labels"]["serving.knative.dev/service"] = json!("orders");
    ns.create(knative);
    ns.ready_pods("app=web", 1);
    ns.ready_pods("app=orders", 1);

    let alias = kube(&ctx, &ns, ["pods", "-n", &ns.name, "-s", "alias", "--json"]).expect_code(0).json();
    assert_eq!(alias["pods"][0]["name"], "web-1", "{alias}");
    assert!(alias["selection"].as_str().unwrap().contains("ExternalName"), "{alias}");

    let orders = kube(&ctx, &ns, ["pods", "-n", &ns.name, "-s", "orders"]);
    orders.expect_code(0);
    assert_snapshot!("knative_pods", stable(&ns, orders.snapshot()));

    let missing = kube(&ctx, &ns, ["attach", "svc/nope", "-n", &ns.name]);
    missing.expect_code(2);
    assert_snapshot!("no_such_service", stable(&ns, missing.snapshot()));
}

#[test]
fn on_a_terminal_the_choice_is_asked() {
    use std::io::{Read, Write};
    let ctx = ctx();
    let ns = TestNamespace::new("ask");
    ns.create(deployment("web", 2, pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.create(service("web", "web", 8080));
    let pods = ns.ready_pods("app=web", 2);
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut terminal = std::fs::File::from(pty.master);
    let stdin = pty.slave.try_clone().unwrap();
    let mut command = ctx.command();
    command
        .env("KUBECONFIG", &ns.kubeconfig)
        .args(["attach", "svc/web", "-n", &ns.name])
        .stdin(std::process::Stdio::from(stdin))
        .stderr(std::process::Stdio::from(pty.slave))
        .stdout(std::process::Stdio::piped());
    let child = command.spawn().expect("borescope");
    terminal.write_all(b"2\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("attached to pid 1 in pod {}/{}", ns.name, pods[1])), "the second choice:\n{stdout}");
    drop(command);
    let mut asked = vec![0u8; 4096];
    let n = terminal.read(&mut asked).unwrap_or(0);
    let asked = String::from_utf8_lossy(&asked[..n]);
    assert!(asked.contains("2 processes qualify:") && asked.contains("attach to which one? [1-2]"), "{asked}");
    assert!(asked.contains(&format!("2) pod/{}:1 -c app", pods[1])), "{asked}");
    kube(&ctx, &ns, ["stop"]).expect_code(0);
}
