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

#[test]
fn listen_only_holds_a_forward_for_an_editor_until_interrupted() {
    use std::io::{BufRead, BufReader, Read, Write};
    let ctx = ctx();
    let ns = TestNamespace::new("listen");
    ns.create(pod("solo", "solo", pod_spec(&["python3", "/app/web.py", "8080"], Some(8080))));
    ns.ready_pods("app=solo", 1);
    let mut command = ctx.command();
    command
        .env("KUBECONFIG", &ns.kubeconfig)
        .args(["attach", "pod/solo", "-n", &ns.name, "--listen-only", "--json"])
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().expect("borescope");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.ends_with("}\n") || serde_json::from_str::<serde_json::Value>(&printed).is_err() {
        assert!(stdout.read_line(&mut printed).unwrap() > 0, "borescope ended early:\n{printed}");
    }
    let report: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(report["launch_json"]["pathMappings"][0]["remoteRoot"], "/app", "{report}");
    let port = report["port"].as_u64().unwrap() as u16;
    assert_eq!(report["launch_json"]["connect"]["port"], port);

    // An editor's first DAP request, through the forward, answered by debugpy in the pod.
    let mut editor = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the forward listens");
    editor.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let body = r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"debugpy"}}"#;
    editor.write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains(r#""command": "initialize""#) && !String::from_utf8_lossy(&answer).contains(r#""command":"initialize""#) {
        let n = editor.read(&mut chunk).expect("debugpy answers");
        assert!(n > 0, "the forward closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    drop(editor);

    borescope_test::sigterm(child.id() as i64);
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-C/SIGTERM detaches cleanly: {status}");
    let after = kube(&ctx, &ns, ["pods", "-n", &ns.name, "--json"]).expect_code(0).json();
    assert_eq!(after["pods"][0]["containers"][0]["processes"][0]["ports"], json!([8080]), "debugpy stopped listening: {after}");
    let check = "import os, sys; print(sorted(d for d in os.listdir('/tmp') if d.startswith('borescope') and not d.startswith('borescope-exec')), len(sys._current_frames()))";
    kube(&ctx, &ns, ["exec", "pod/solo", "-n", &ns.name, "-c", check]).expect_code(0).stdout_has("[] 1");
}
