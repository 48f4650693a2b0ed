//! The main flow on the Flask shop: probes in a view, a nested function, a method, a generator
//! and a module imported after the probe was created; a condition, capture expressions, a
//! logpoint, a 10 MB local, secret locals. Once per Python engine.

use crate::{armed_in, ctx, flask_shop, hit, instances, line_of, local, Py, Server};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn add(server: &Server, ctx: &borescope_test::TestContext, location: String, extra: &[&str]) -> Value {
    let mut args = vec!["add", location.as_str(), "--service", "shop", "--wait", "10"];
    args.extend_from_slice(extra);
    server.snap(ctx, &args)
}

fn id(view: &Value) -> i64 {
    view["id"].as_i64().unwrap_or_else(|| panic!("no id in {view:#}"))
}

fn shop_flow(py: Py) {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let (app, port) = flask_shop(&ctx, &server, &key, py);
    instances(&server, "shop", 1);
    let pid = app.pid;

    let view_line = format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: view"));
    let view = add(&server, &ctx, view_line.clone(), &["--capture", "customer['tier']", "--capture", "len(customer['tags']) + order_id", "--rate", "100"]);
    let gold = add(&server, &ctx, view_line, &["--if", "customer['tier'] == 'gold' and order_id > 1", "--rate", "100"]);
    let nested = add(&server, &ctx, format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: nested")), &[]);
    let method = add(&server, &ctx, format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: method")), &[]);
    let log = add(&server, &ctx, format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: method")), &["--log", "price {amount} at {self.rate}"]);
    let generator = add(&server, &ctx, format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: generator")), &["--rate", "100"]);
    let big = add(&server, &ctx, format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: big")), &[]);
    let late = add(&server, &ctx, format!("late_module.py:{}", line_of(&ctx, "late_module.py", "PROBE: late")), &[]);
    for probe in [&view, &gold, &nested, &method, &log, &generator, &big] {
        server.wait_probe(id(probe), WAIT, |v| armed_in(v, &[pid]));
    }
    // Not imported yet: pending, with the reason.
    let pending = server.wait_probe(id(&late), WAIT, |v| crate::statuses(v).iter().any(|(p, s)| *p == u64::from(pid) && s == "pending"));
    let message = pending["statuses"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("late_module.py"), "pending says why: {message}");

    assert!(hit(port, "/order/5?tier=basic").contains("\"total\""));
    hit(port, "/order/6?tier=gold");
    hit(port, "/cart/3");
    hit(port, "/big");
    hit(port, "/late");

    // The view: locals, arguments, secrets redacted, capture expressions, stack, thread.
    let shots = server.snapshots(id(&view), 2, WAIT);
    assert_eq!(shots.len(), 2, "{shots:#?}");
    let first = &shots[0];
    assert_eq!(first["location"]["line"].as_u64(), Some(u64::from(line_of(&ctx, "shop_flask.py", "PROBE: view"))));
    assert!(first["location"]["file"].as_str().unwrap_or_default().ends_with("/shop_flask.py"));
    assert_eq!(first["function"], "order");
    assert_eq!(local(first, "order_id")["value"], "5");
    for secret in ["password", "api_key"] {
        assert_eq!(local(first, secret)["redacted"], true, "{secret} is redacted");
        assert!(!first.to_string().contains("hunter2") && !first.to_string().contains("ak-live"), "no secret anywhere");
    }
    assert!(local(first, "customer")["value"].as_str().unwrap_or_default().contains("'Ada'"));
    assert_eq!(first["evals"][0]["value"]["value"], "'basic'", "{:#}", first["evals"]);
    assert_eq!(first["evals"][1]["value"]["value"], "7", "{:#}", first["evals"]);
    let stack = first["stack"].as_array().expect("stack");
    assert_eq!(stack[0]["function"], "order");
    assert!(stack.iter().any(|f| f["kind"] == "library"), "flask frames are library frames: {stack:#?}");
    assert!(first["thread"]["name"].as_str().is_some());
    assert!(first["source"]["lines"].as_array().is_some_and(|l| !l.is_empty()));

    // The condition picked the gold request only.
    let golds = server.snapshots(id(&gold), 1, WAIT);
    assert_eq!(golds.len(), 1);
    assert_eq!(local(&golds[0], "order_id")["value"], "6");

    // A nested function, a method, a generator (three items, three snapshots).
    let nested_shot = &server.snapshots(id(&nested), 1, WAIT)[0];
    assert_eq!(nested_shot["function"], "tax");
    assert_eq!(local(nested_shot, "taxed")["value"], "54.0");
    let method_shot = &server.snapshots(id(&method), 1, WAIT)[0];
    assert_eq!(method_shot["function"], "price");
    assert!(method_shot["locals"].as_array().is_some_and(|l| l.iter().any(|v| v["name"] == "self")));
    let labels: Vec<String> = server
        .snapshots(id(&generator), 3, WAIT)
        .iter()
        .map(|s| local(s, "label")["value"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(labels, ["'item-0'", "'item-1'", "'item-2'"]);

    // The logpoint stores its message only.
    let logged = &server.snapshots(id(&log), 1, WAIT)[0];
    assert_eq!(logged["message"], "price 50 at 0.9");
    assert!(logged["locals"].as_array().is_none_or(Vec::is_empty), "a logpoint captures no locals: {logged:#}");

    // 10 MB in a local: bounded.
    let big_shot = &server.snapshots(id(&big), 1, WAIT)[0];
    assert!(big_shot.to_string().len() < 256 * 1024, "snapshot size {}", big_shot.to_string().len());
    assert_eq!(local(big_shot, "blob")["full_length"], 10 * 1024 * 1024);

    // The module imported after the probe: armed on import, then hit.
    let late_shot = &server.snapshots(id(&late), 1, WAIT)[0];
    assert_eq!(local(late_shot, "doubled")["value"], "14");

    assert!(app.is_running(), "the app is unaffected:\n{}", app.output());
    assert!(!app.output().contains("Traceback"), "{}", app.output());
}

#[test]
fn flask_shop_on_python_3_11_rewrite_engine() {
    shop_flow(Py::Host);
}

#[test]
fn flask_shop_on_python_3_14_monitoring_engine() {
    shop_flow(Py::Sid);
}

fn fastapi_flow(py: Py) {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let args = ["-m", "uvicorn", "shop_fastapi:app", "--host", "127.0.0.1", "--port", "0"];
    let app = crate::run_app(&ctx, &server, &key, "shop", py, &args);
    let port = crate::app_port(&app);
    crate::wait_http(&app, port);
    instances(&server, "shop", 1);
    let probe = add(&server, &ctx, format!("shop_fastapi.py:{}", line_of(&ctx, "shop_fastapi.py", "PROBE: async")), &[]);
    server.wait_probe(id(&probe), WAIT, |v| armed_in(v, &[app.pid]));
    assert!(hit(port, "/order/4").contains("12"));
    let shot = &server.snapshots(id(&probe), 1, WAIT)[0];
    assert_eq!(shot["function"], "order");
    assert_eq!(local(shot, "total")["value"], "12");
    assert!(app.is_running());
}

#[test]
fn fastapi_async_handler_on_python_3_11() {
    fastapi_flow(Py::Host);
}

#[test]
fn fastapi_async_handler_on_python_3_14() {
    fastapi_flow(Py::Sid);
}
