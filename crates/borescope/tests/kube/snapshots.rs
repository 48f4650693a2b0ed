//! `snap attach pod/NAME`: the live-snapshot agent loaded into a pod's process through the
//! Kubernetes path, a probe hit by a request, and `--detach`. The pod uses the node's network
//! (`hostNetwork`), so the server on this machine's 127.0.0.1 is reachable from it.

use crate::cluster::{handler_line, pod, pod_spec, TestNamespace};
use crate::ctx;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOKEN: &str = "kube-test-admin-token";

fn snap(ctx: &borescope_test::TestContext, ns: &TestNamespace, server: &Server, args: &[&str]) -> borescope_test::Run {
    let mut command = ctx.command();
    command
        .env("KUBECONFIG", &ns.kubeconfig)
        .env("BORESCOPE_SERVER", &server.url)
        .env("BORESCOPE_TOKEN", TOKEN)
        .arg("snap")
        .args(args);
    ctx.run_command(command)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the pod's port on the node's network");
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn the_snapshot_agent_goes_into_a_pod_and_comes_out() {
    let ctx = ctx();
    let ns = TestNamespace::new("snap");
    let mut child = ctx
        .command()
        .args(["server", "--listen", "127.0.0.1:0", "--token", TOKEN, "--json", "--data"])
        .arg(ctx.root.join("server-data"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("borescope server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started: Value = serde_json::from_str(&line).unwrap();
    let server = Server { child, url: started["url"].as_str().unwrap().trim_end_matches('/').to_string() };

    let port = free_port();
    let mut spec = pod_spec(&["python3", "/app/web.py", &port.to_string()], Some(port));
    spec["hostNetwork"] = json!(true);
    ns.create(pod("hn", "hn", spec));
    ns.ready_pods("app=hn", 1);

    let key = snap(&ctx, &ns, &server, &["key", "add", "--service", "web", "--json"]).expect_code(0).json()["key"].as_str().unwrap().to_string();
    let attached = snap(&ctx, &ns, &server, &["attach", "pod/hn", "-n", &ns.name, "--key", &key, "--service", "web"]);
    attached.expect_code(0).stdout_has(&format!("in pod {}/hn", ns.name));
    assert!(!attached.stdout.contains("may not reach the server"), "hostNetwork: the server is reachable:\n{}", attached.stdout);

    let line = handler_line("web.py");
    let probe = snap(&ctx, &ns, &server, &["add", &format!("web.py:{line}"), "--service", "web", "--wait", "10", "--json"]).expect_code(0).json();
    let id = probe["id"].as_i64().unwrap().to_string();
    let started = Instant::now();
    let shot = loop {
        assert!(get(port).contains("hello"), "the app answers while a probe is armed");
        let hits = snap(&ctx, &ns, &server, &["hits", &id, "--json"]).expect_code(0).json();
        if let Some(shot) = hits["snapshots"].as_array().and_then(|s| s.first()).cloned() {
            break shot;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no snapshot from the pod: {hits:#}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(shot["function"], "handle", "{shot:#}");
    assert!(shot.to_string().contains("greeting"), "{shot:#}");

    snap(&ctx, &ns, &server, &["attach", "pod/hn", "-n", &ns.name, "--detach"]).expect_code(0).stdout_has("");
    let mut command = ctx.command();
    command.env("KUBECONFIG", &ns.kubeconfig).args(["exec", "pod/hn", "-n", &ns.name, "-c", "import sys, threading; print(sorted(m for m in sys.modules if m.startswith('borescope_agent.snap')), len(sys._current_frames()))"]);
    ctx.run_command(command).expect_code(0).stdout_has("[] 1");
}
