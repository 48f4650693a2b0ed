//! Web servers with reloaders, as people run them in development: the right process is found,
//! the wrong one refused with the right one named, and a request handler is debugged live.

use crate::{ctx, fixture};
use borescope_test::targets::{free_port, TargetProcess};
use serde_json::Value;
use std::time::Duration;

/// `curl -i` of `path` on another thread (it blocks while the handler is stopped); the handle
/// yields the whole response.
fn get(port: u16, path: &str) -> std::thread::JoinHandle<String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    std::thread::spawn(move || {
        let output = std::process::Command::new("curl")
            .args(["-s", "-i", "--max-time", "60", &url])
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
}

/// The processes `ps` finds listening on `port`.
fn listening(ctx: &borescope_test::TestContext, port: u16) -> Vec<Value> {
    let listed = ctx.run(["ps", "--json", "--interval", "0", "--port", &port.to_string()]).json();
    listed["processes"].as_array().cloned().unwrap_or_default()
}

fn with_role<'a>(processes: &'a [Value], role: &str) -> &'a Value {
    processes.iter().find(|p| p["role"] == role).unwrap_or_else(|| panic!("no {role} in {processes:#?}"))
}

#[test]
fn uvicorn_reload_worker_is_chosen_and_a_handler_debugged() {
    let ctx = ctx();
    fixture(&ctx, "asgi_app.py");
    let port = free_port().to_string();
    let server = TargetProcess::container(&ctx.work(), &[], &["python3.14", "-m", "uvicorn", "asgi_app:app", "--reload", "--port", &port], &[]);
    server.wait_for("Application startup complete", Duration::from_secs(30));
    let port: u16 = port.parse().unwrap();
    let processes = listening(&ctx, port);
    let reloader = with_role(&processes, "reloader");
    let worker = with_role(&processes, "worker");
    assert_eq!(reloader["server"], "uvicorn");
    assert_eq!(worker["ppid"], reloader["pid"]);
    assert_eq!(reloader["attachable"], false);
    let worker_pid = worker["pid"].to_string();

    ctx.run(["attach", &reloader["pid"].to_string()])
        .expect_code(2)
        .stderr_has("is the uvicorn reloader")
        .stderr_has(&format!("`borescope attach {worker_pid}`"));

    ctx.run(["attach", &worker_pid, "--break", "asgi_app.py:9"]).expect_code(0);
    let response = get(port, "/world");
    let hit = ctx.run(["continue"]);
    hit.expect_code(0)
        .stdout_has("Stopped at breakpoint asgi_app.py:9 in app")
        .stdout_has("greeting: str = 'hello world'")
        .stdout_has("path: str = '/world'");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    let response = response.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 200") && response.trim_end().ends_with("hello world"), "{response}");
}

#[test]
fn flask_debug_reloader_worker_is_chosen_and_a_handler_debugged() {
    let ctx = ctx();
    fixture(&ctx, "flask_app.py");
    let port = free_port();
    let server = TargetProcess::container(&ctx.work(), &[], &["python3.14", "flask_app.py"], &[("PORT", &port.to_string())]);
    server.wait_for("Debugger PIN", Duration::from_secs(30));
    let processes = listening(&ctx, port);
    let reloader = with_role(&processes, "reloader");
    let worker = with_role(&processes, "worker");
    assert_eq!(worker["server"], "werkzeug");
    assert_eq!(worker["ppid"], reloader["pid"]);
    ctx.run(["attach", &reloader["pid"].to_string()]).expect_code(2).stderr_has("is the werkzeug reloader");

    let worker_pid = worker["pid"].to_string();
    ctx.run(["attach", &worker_pid, "--break", "flask_app.py:12"]).expect_code(0);
    let response = get(port, "/items/7");
    let hit = ctx.run(["continue"]);
    hit.expect_code(0)
        .stdout_has("Stopped at breakpoint flask_app.py:12 in item")
        .stdout_has("item_id: int = 7")
        .stdout_has("price: int = 21");
    ctx.run(["stop"]).expect_code(0);
    let response = response.join().unwrap();
    assert!(response.contains("200 OK") && response.contains("\"price\": 21"), "{response}");
}
