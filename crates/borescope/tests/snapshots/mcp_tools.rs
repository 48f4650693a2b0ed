//! The live-snapshot MCP tools end to end: the official Python SDK client drives `borescope
//! mcp --server URL --server-token TOKEN` against a real server and a real agent, the way an
//! AI agent debugs a live service: find the service, create a probe, make the line run, read
//! the snapshot, look at the probe, delete it.
//!
//! (Enable with `mod mcp_tools;` in `main.rs` once `borescope server` is in the binary.)

use crate::{ctx, instances, line_of, run_app, Py, Server};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Runs `drive.py stdio` (the SDK client) against `borescope mcp SERVER_ARGS` with `calls`.
fn drive(ctx: &borescope_test::TestContext, calls: Value, server_args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp/drive.py");
    let output = ctx
        .isolated(borescope_test::interpreters::venv_python())
        .arg(script)
        .arg("stdio")
        .arg(ctx.bin())
        .arg(calls.to_string())
        .arg(serde_json::to_string(server_args).unwrap_or_default())
        .output()
        .expect("run drive.py");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("drive.py printed no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)))
}

fn text(out: &Value, index: usize) -> &str {
    let call = &out["results"][index];
    assert_eq!(call["is_error"], false, "call {index} failed: {call:#}");
    call["text"].as_str().unwrap_or_default()
}

#[test]
fn an_agent_debugs_a_live_service_through_mcp() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("loop");
    let app = run_app(&ctx, &server, &key, "loop", Py::Sid, &["hot_loop.py", "120"]);
    app.wait_for("ready", WAIT);
    instances(&server, "loop", 1);
    let location = format!("hot_loop.py:{}", line_of(&ctx, "hot_loop.py", "PROBE: hot"));
    let args = ["--server", server.url.as_str(), "--server-token", server.token.as_str()];

    let first = drive(
        &ctx,
        json!([
            ["list_instances", {"service": "loop"}],
            ["create_snapshot", {"location": location, "service": "loop", "captures": ["value + 1"], "wait_secs": 10}]
        ]),
        &args,
    );
    assert!(text(&first, 0).contains("loop") && text(&first, 0).contains("live"), "{}", text(&first, 0));
    assert!(text(&first, 1).contains("Installed on 1 of 1 instance of loop."), "{}", text(&first, 1));
    let id = first["results"][1]["structured"]["id"].as_i64().expect("probe id");

    let second = drive(
        &ctx,
        json!([
            ["wait_for_snapshot", {"probe_id": id, "timeout_secs": 30}],
            ["list_snapshots", {}],
            ["list_snapshots", {"probe_id": id}],
            ["delete_snapshot", {"probe_id": id}],
            ["list_snapshots", {"probe_id": id}]
        ]),
        &args,
    );
    let snapshot = text(&second, 0);
    assert!(snapshot.contains(&format!("at {location} in work")), "{snapshot}");
    assert!(snapshot.contains("--- locals ---\nstep: int = "), "{snapshot}");
    assert!(snapshot.contains("value + 1: int = "), "{snapshot}");
    let structured = &second["results"][0]["structured"];
    assert_eq!(structured["schema"], "borescope.snapshots/1");
    assert_eq!(structured["snapshots"][0]["function"], "work");
    assert_eq!(structured["next"], structured["snapshots"][0]["id"]);
    assert!(text(&second, 1).contains(&location), "{}", text(&second, 1));
    assert!(text(&second, 2).contains(&format!("Probe {id}: {location} in service loop")), "{}", text(&second, 2));
    assert!(text(&second, 3).contains(&format!("Deleted probe {id}")));
    let gone = &second["results"][4];
    assert_eq!(gone["is_error"], true, "{gone:#}");
    assert!(gone["text"].as_str().unwrap_or_default().contains(&format!("no probe {id}")), "{gone:#}");
    assert!(app.is_running(), "{}", app.output());
}

#[test]
fn an_agent_turns_on_exception_snapshots_and_reads_them_through_mcp() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let (app, port) = crate::flask_shop(&ctx, &server, &key, Py::Host);
    instances(&server, "shop", 1);
    let args = ["--server", server.url.as_str(), "--server-token", server.token.as_str()];

    let first = drive(
        &ctx,
        json!([
            ["set_exception_snapshots", {"service": "shop", "enabled": true}],
            ["set_exception_snapshots", {"service": "shop"}],
            ["set_exception_snapshots", {"service": "nosuch", "enabled": true}]
        ]),
        &args,
    );
    assert!(text(&first, 0).contains("Exception snapshots on for service shop"), "{}", text(&first, 0));
    assert_eq!(first["results"][0]["structured"]["exceptions"], true);
    assert!(text(&first, 1).contains("Exception snapshots are on for service shop"), "{}", text(&first, 1));
    let unknown = &first["results"][2];
    assert_eq!(unknown["is_error"], true, "{unknown:#}");
    assert!(unknown["text"].as_str().unwrap_or_default().contains("no service `nosuch`"), "{unknown:#}");

    // Fail until the agent (which learns the setting with its next poll answer) records it.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = borescope_test::http::get(&format!("http://127.0.0.1:{port}/fail/pear"), None).status;
        assert_eq!(status, 500);
        let page = server.get("/api/v1/snapshots?kind=exception");
        if !page["snapshots"].as_array().map(Vec::is_empty).unwrap_or(true) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no exception snapshot: {page:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let second = drive(&ctx, json!([["list_snapshots", {"exceptions": true, "service": "shop"}]]), &args);
    let listed = text(&second, 0);
    assert!(listed.contains("KeyError: 'pear'"), "{listed}");
    assert!(listed.contains("a Flask request failed, service shop"), "{listed}");
    assert!(listed.contains("session_token: str = <redacted>"), "{listed}");
    let structured = &second["results"][0]["structured"];
    assert_eq!(structured["snapshots"][0]["kind"], "exception");
    assert_eq!(structured["snapshots"][0]["probe_id"], Value::Null);
    assert!(app.is_running(), "{}", app.output());
}
