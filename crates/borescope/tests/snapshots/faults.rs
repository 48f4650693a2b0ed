//! What goes wrong: probes that cannot be armed, conditions that fail, the server going away
//! and coming back, credentials that do not fit.

use crate::{armed_in, ctx, flask_shop, hit, instances, line_of, Py, Server};
use borescope_test::http;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn bad_probes_are_reported_and_the_app_is_unaffected() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let (app, port) = flask_shop(&ctx, &server, &key, Py::Sid);
    instances(&server, "shop", 1);

    // A line without code: an error naming the nearest lines with code.
    let blank = line_of(&ctx, "pricing.py", "PROBE: method") + 1; // the blank line after it
    let view = server.snap(&ctx, &["add", &format!("pricing.py:{blank}"), "--service", "shop", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    let failed = server.wait_probe(id, WAIT, |v| crate::statuses(v).iter().any(|(_, s)| s == "error"));
    let message = failed["statuses"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains(&format!("no code at line {blank}")), "{message}");
    assert!(message.contains(&format!("{}", blank - 1)), "names the nearest line before: {message}");

    // A condition that raises in the app: an error status with the message, no snapshot.
    let location = format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: view"));
    let view = server.snap(&ctx, &["add", &location, "--service", "shop", "--if", "customer['missing'] > 1", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    server.wait_probe(id, WAIT, |v| armed_in(v, &[app.pid]));
    hit(port, "/order/3");
    let failed = server.wait_probe(id, WAIT, |v| crate::statuses(v).iter().any(|(_, s)| s == "error"));
    let message = failed["statuses"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("KeyError") && message.contains("missing"), "{message}");
    assert_eq!(server.snapshots(id, 0, Duration::ZERO).len(), 0);

    // An unsafe condition never reaches the app: refused before it is stored.
    let run = server.snap_run(&ctx, &["add", &location, "--service", "shop", "--if", "open('/etc/passwd')"], false);
    run.expect_code(2).stderr_has("open");
    assert_eq!(server.get("/api/v1/probes")["probes"].as_array().map(Vec::len), Some(2));

    assert!(hit(port, "/order/3").contains("total"));
    assert!(app.is_running(), "{}", app.output());
}

#[test]
fn server_down_then_back_loses_nothing() {
    let ctx = ctx();
    let port = borescope_test::targets::free_port();
    let listen = format!("127.0.0.1:{port}");
    let data = ctx.root.join("server-data");
    let server = Server::start_at(&ctx, &data, &listen);
    let key = server.key("shop");
    let (app, app_port) = flask_shop(&ctx, &server, &key, Py::Host);
    instances(&server, "shop", 1);
    let location = format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: view"));
    let view = server.snap(&ctx, &["add", &location, "--service", "shop", "--rate", "100", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    server.wait_probe(id, WAIT, |v| armed_in(v, &[app.pid]));
    hit(app_port, "/order/1");
    assert_eq!(server.snapshots(id, 1, WAIT).len(), 1, "stored before the restart");

    drop(server);
    for order in 2..=4 {
        assert!(hit(app_port, &format!("/order/{order}")).contains("total"), "the app answers while the server is down");
    }
    let server = Server::start_at(&ctx, &data, &listen);
    let shots = server.snapshots(id, 4, WAIT);
    let orders: Vec<String> = shots.iter().map(|s| crate::local(s, "order_id")["value"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(orders, ["1", "2", "3", "4"], "the snapshot from before the restart is kept, the ones taken while down arrive");
    assert!(app.is_running());
}

#[test]
fn credentials_are_checked() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let other = server.key("billing");
    let register = json!({
        "instance_id": "0123456789abcdef0123456789abcdef", "service": "shop", "host": "h", "pid": 1,
        "python": "3.14.0", "agent_version": "0", "engine": "monitoring"
    });
    let refused = http::post_json(&format!("{}/api/v1/agent/register", server.url), Some(&other), &register);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.json()["message"].as_str().unwrap_or_default().contains("billing"));

    let wrong = http::get(&format!("{}/api/v1/probes", server.url), Some("not-the-token"));
    assert_eq!(wrong.status, 401);
    let mut command = ctx.command();
    command.args(["snap", "list"]).env("BORESCOPE_SERVER", &server.url).env("BORESCOPE_TOKEN", "not-the-token");
    ctx.run_command(command).expect_code(1).stderr_has("BORESCOPE_TOKEN");

    let malformed = http::request(
        "POST",
        &format!("{}/api/v1/probes", server.url),
        Some(&server.token),
        &[("Content-Type", "application/json")],
        Some(b"{\"service\": \"shop\", \"line\": \"twelve\"}"),
    )
    .expect("request");
    assert_eq!(malformed.status, 400);
    assert!(!malformed.json()["message"].as_str().unwrap_or_default().is_empty());
}
