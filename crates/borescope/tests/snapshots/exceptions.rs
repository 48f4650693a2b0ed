//! Exception snapshots end to end: Flask and FastAPI apps under `borescope run` (Python 3.11 on
//! the host, 3.14 from the sid rootfs), `snap exceptions --service shop on`, a failing request
//! gives one exception snapshot with the handler frame's locals (a secret redacted), the same
//! failure 50 more times gives no new snapshot but 50 more occurrences, and after `off` failures
//! record nothing. Also the command's bad input.

use crate::{ctx, instances, line_of, local, run_app, Py, Server};
use borescope_test::http;
use serde_json::Value;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// `GET` on the app; the status.
fn status(port: u16, path: &str) -> u16 {
    http::get(&format!("http://127.0.0.1:{port}{path}"), None).status
}

/// The service's exception snapshots.
fn exceptions(server: &Server) -> Vec<Value> {
    server.get("/api/v1/snapshots?kind=exception&service=shop&limit=500")["snapshots"].as_array().cloned().unwrap_or_default()
}

/// Waits until `want` holds for the exception snapshots, doing `poke` between looks.
fn wait_exceptions(server: &Server, what: &str, mut poke: impl FnMut(), want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = exceptions(server);
        if want(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: {found:#?}");
        poke();
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn of_type<'a>(shots: &'a [Value], kind: &str) -> Vec<&'a Value> {
    shots.iter().filter(|s| s["exception"]["type"] == kind).collect()
}

fn exception_flow(framework: &str, py: Py) {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let (app, file, probe_marker) = if framework == "flask" {
        (run_app(&ctx, &server, &key, "shop", py, &["shop_flask.py", "0"]), "shop_flask.py", "PROBE: view")
    } else {
        let args = ["-m", "uvicorn", "shop_fastapi:app", "--host", "127.0.0.1", "--port", "0"];
        (run_app(&ctx, &server, &key, "shop", py, &args), "shop_fastapi.py", "PROBE: async")
    };
    let port = crate::app_port(&app);
    crate::wait_http(&app, port);
    instances(&server, "shop", 1);

    // Off by default: a failure records nothing (checked after `on`, which starts from here).
    assert_eq!(status(port, "/fail/pear"), 500);
    let on = server.snap(&ctx, &["exceptions", "--service", "shop", "on"]);
    assert_eq!(on["schema"], "borescope.snap-service/1");
    assert_eq!(on["exceptions"], true);
    // The agent learns it with its next long-poll answer: fail somewhere else until it shows.
    wait_exceptions(&server, "the agent never took exception snapshots", || assert_eq!(status(port, "/boom"), 500), |s| {
        !of_type(s, "ValueError").is_empty()
    });
    assert!(of_type(&exceptions(&server), "KeyError").is_empty(), "the failure before `on` was not recorded");

    assert_eq!(status(port, "/fail/pear"), 500);
    let shots = wait_exceptions(&server, "no KeyError snapshot", || {}, |s| !of_type(s, "KeyError").is_empty());
    let shot = of_type(&shots, "KeyError")[0].clone();
    let info = &shot["exception"];
    assert_eq!(shot["kind"], "exception");
    assert_eq!(shot["probe_id"], Value::Null);
    assert_eq!(info["origin"], framework);
    assert_eq!(info["message"], "'pear'");
    assert_eq!(info["function"], "fail");
    assert_eq!(info["occurrences"], 1);
    let raise_line = line_of(&ctx, file, &format!("RAISE: {framework}"));
    assert_eq!(info["line"].as_u64(), Some(u64::from(raise_line)));
    assert!(info["file"].as_str().unwrap_or_default().ends_with(file), "{info:#}");
    assert_eq!(shot["function"], "fail");
    assert_eq!(local(&shot, "sku")["value"], "'pear'");
    assert_eq!(local(&shot, "quantity")["value"], "2");
    assert_eq!(local(&shot, "prices")["value"], "{'apple': 3}");
    let secret = local(&shot, "session_token");
    assert_eq!(secret["redacted"], true);
    assert_eq!(secret["value"], "");
    assert!(!shot.to_string().contains("st-not-for-logs"), "the secret never left the app");
    // Every frame of the traceback: the stack, and the locals of each frame after the first.
    let frames = shot["stack"].as_array().cloned().unwrap_or_default();
    assert!(frames.len() > 3, "{frames:#?}");
    assert_eq!(frames[0]["function"], "fail");
    let framework_dir = if framework == "flask" { "/flask/" } else { "/starlette/" };
    assert!(frames.iter().any(|f| f["file"].as_str().unwrap_or_default().contains(framework_dir)), "{frames:#?}");
    let more = shot["frame_locals"].as_array().cloned().unwrap_or_default();
    assert!(!more.is_empty() && more[0]["index"] == 1, "{more:#?}");

    // The same failure 50 more times: no new snapshot, 50 more occurrences on this one.
    for _ in 0..50 {
        assert_eq!(status(port, "/fail/pear"), 500);
    }
    let id = shot["id"].as_i64().expect("id");
    let deadline = Instant::now() + WAIT;
    loop {
        let now = server.get(&format!("/api/v1/snapshots/{id}"));
        if now["exception"]["occurrences"] == 51 {
            break;
        }
        assert!(Instant::now() < deadline, "occurrences never reached 51: {}", now["exception"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(of_type(&exceptions(&server), "KeyError").len(), 1, "deduplicated");

    // Off: once the instance has a probe set from after the switch (a probe it reports on),
    // failures record nothing; a probe hit after them shows the queue was sent.
    let off = server.snap(&ctx, &["exceptions", "--service", "shop", "off"]);
    assert_eq!(off["exceptions"], false);
    let location = format!("{file}:{}", line_of(&ctx, file, probe_marker));
    let probe = server.snap(&ctx, &["add", &location, "--service", "shop", "--wait", "10"]);
    let probe_id = probe["id"].as_i64().expect("probe id");
    server.wait_probe(probe_id, WAIT, |v| crate::armed_in(v, &[app.pid]));
    let before = exceptions(&server).len();
    assert_eq!(status(port, "/fail/plum"), 500);
    assert_eq!(status(port, "/boom"), 500);
    assert_eq!(status(port, "/order/3"), 200);
    assert_eq!(server.snapshots(probe_id, 1, WAIT).len(), 1);
    assert_eq!(exceptions(&server).len(), before, "nothing recorded after off");
    assert!(app.is_running(), "{}", app.output());
}

#[test]
fn flask_request_exceptions_on_python_3_11() {
    exception_flow("flask", Py::Host);
}

#[test]
fn flask_request_exceptions_on_python_3_14() {
    exception_flow("flask", Py::Sid);
}

#[test]
fn fastapi_request_exceptions_on_python_3_11() {
    exception_flow("fastapi", Py::Host);
}

#[test]
fn fastapi_request_exceptions_on_python_3_14() {
    exception_flow("fastapi", Py::Sid);
}

#[test]
fn the_exceptions_command_refuses_bad_input_in_one_line() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    server.key("shop");
    let unknown = server.snap_run(&ctx, &["exceptions", "--service", "nosuch", "on"], false);
    unknown.expect_code(2);
    let shown = server.snap_run(&ctx, &["exceptions", "--service", "nosuch"], false);
    shown.expect_code(2);
    let maybe = server.snap_run(&ctx, &["exceptions", "--service", "shop", "maybe"], false);
    maybe.expect_code(2);
    let bad_kind = server.snap_run(&ctx, &["hits", "--kind", "crash"], false);
    bad_kind.expect_code(2);
    let probe_kind = server.snap_run(&ctx, &["hits", "7", "--kind", "exception"], false);
    probe_kind.expect_code(2);
    for run in [&unknown, &shown, &maybe, &bad_kind, &probe_kind] {
        assert_eq!(run.stdout, "", "nothing on stdout");
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "one line: {}", run.stderr);
    }
    let mut said = String::new();
    for (title, run) in [
        ("exceptions --service nosuch on", &unknown),
        ("exceptions --service nosuch", &shown),
        ("exceptions --service shop maybe", &maybe),
        ("hits --kind crash", &bad_kind),
        ("hits 7 --kind exception", &probe_kind),
    ] {
        said.push_str(&format!("$ snap {title}\n{}\n", run.stderr.trim_end()));
    }
    insta::assert_snapshot!("exceptions_bad_input", said);
    // Nothing was switched.
    assert_eq!(server.snap(&ctx, &["exceptions", "--service", "shop"])["exceptions"], false);
}

#[test]
fn the_exceptions_command_text_and_json() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    server.key("shop");
    let mut shown = String::new();
    for args in [
        vec!["exceptions", "--service", "shop"],
        vec!["exceptions", "--service", "shop", "on"],
        vec!["exceptions", "--service", "shop"],
        vec!["exceptions", "--service", "shop", "off"],
        vec!["hits", "--kind", "exception", "--service", "shop"],
    ] {
        let run = server.snap_run(&ctx, &args, false);
        run.expect_code(0);
        shown.push_str(&format!("$ snap {}\n{}\n", args.join(" "), run.stdout));
    }
    let json = server.snap_run(&ctx, &["exceptions", "--service", "shop", "on"], true);
    json.expect_code(0);
    shown.push_str(&format!("$ snap exceptions --service shop on --json\n{}\n", json.stdout));
    insta::assert_snapshot!("exceptions_text_and_json", shown);
}

/// Settles order 7 in a thread named `settler` each time a `trigger` file appears; it fails.
const SETTLE: &str = "\
import os
import threading
import time


def settle(order_id, card):
    token = \"tok-not-for-logs\"
    fee = order_id * 3
    return fee / (order_id - order_id)


def worker():
    pending = [7]
    settle(pending[0], {\"last4\": \"4242\"})


def main():
    print(\"ready\", flush=True)
    while True:
        if os.path.exists(\"trigger\"):
            os.remove(\"trigger\")
            thread = threading.Thread(target=worker, name=\"settler\")
            thread.start()
            thread.join()
        time.sleep(0.05)


main()
";

/// What changes from run to run in an exception snapshot, beyond `cli_shapes::shape`'s filters.
fn exception_shape(run: &borescope_test::Run, pid: u32, work: &str) -> String {
    let mut text = crate::cli_shapes::shape(run, Some(pid));
    for (pattern, replacement) in [
        (r"\b\d+ occurrences?\b", "[N] occurrences"),
        (r#""occurrences": \d+"#, r#""occurrences": [N]"#),
        (r"\b\d{6,}\b", "[NUM]"),
        (r"[0-9a-f]{32}", "[INSTANCE]"),
        (r#""(id|received_ms|time_ms|capture_us|next)": \d+"#, r#""$1": [N]"#),
        (r"/[^\s\x22]*/lib/python3\.\[PY\]/", "[STDLIB]/"),
        (r"/[^\s\x22]*/lib/python3\.\d+/", "[STDLIB]/"),
        (r"(?m)^(\s*\x22line\x22: )\d+(,?)$", "$1[LINE]$2"),
    ] {
        text = regex::Regex::new(pattern).expect("filter").replace_all(&text, replacement).into_owned();
    }
    text.replace(work, "[WORK]")
}

#[test]
fn an_exception_snapshot_in_text_and_json() {
    let ctx = ctx();
    ctx.write("settle.py", SETTLE);
    let work = std::fs::canonicalize(ctx.work()).expect("work").display().to_string();
    let server = Server::start(&ctx);
    let key = server.key("orders");
    let app = run_app(&ctx, &server, &key, "orders", Py::Host, &["settle.py"]);
    app.wait_for("ready", WAIT);
    instances(&server, "orders", 1);
    server.snap(&ctx, &["exceptions", "--service", "orders", "on"]);
    let deadline = Instant::now() + WAIT;
    while server.get("/api/v1/snapshots?kind=exception")["snapshots"].as_array().is_none_or(Vec::is_empty) {
        assert!(Instant::now() < deadline, "no exception snapshot:\n{}", app.output());
        std::fs::write(ctx.work().join("trigger"), "").expect("trigger");
        std::thread::sleep(Duration::from_millis(300));
    }
    let text = server.snap_run(&ctx, &["hits", "--kind", "exception", "--service", "orders"], false);
    text.expect_code(0);
    let json = server.snap_run(&ctx, &["hits", "--kind", "exception", "--service", "orders"], true);
    json.expect_code(0);
    let page = json.json();
    assert_eq!(page["snapshots"][0]["exception"]["type"], "ZeroDivisionError");
    assert_eq!(page["snapshots"][0]["exception"]["origin"], "thread");
    assert!(!json.stdout.contains("tok-not-for-logs"));
    let shown = format!(
        "$ snap hits --kind exception --service orders\n{}\n$ snap hits --kind exception --service orders --json\n{}\n",
        exception_shape(&text, app.pid, &work),
        exception_shape(&json, app.pid, &work)
    );
    insta::assert_snapshot!("exception_text_and_json", shown);
    assert!(app.is_running(), "{}", app.output());
}
