//! Exception snapshots on the server: the per-service setting (listed, switched, delivered to
//! long-polling agents at once), exception snapshots stored with their kind and no probe, the
//! occurrences agents report later, the kind filter, and retention's cap per service.

use crate::common::{request, snapshot, upload, Db, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

/// An exception snapshot as the agent uploads it.
fn exception(kind: &str, line: u32, occurrences: u64) -> Value {
    json!({
        "kind": "exception",
        "probe_id": null,
        "exception": {
            "type": kind, "message": "'sku-9'", "file": "/srv/app/orders/views.py", "line": line,
            "function": "checkout", "origin": "flask", "occurrences": occurrences,
            "chain": [{"relation": "cause", "type": "LookupError", "message": "missing", "file": "/srv/app/orders/db.py", "line": 3}]
        },
        "time_ms": 1_700_000_000_000i64,
        "location": {"file": "/srv/app/orders/views.py", "line": line},
        "function": "checkout",
        "stack": [
            {"index": 0, "function": "checkout", "file": "/srv/app/orders/views.py", "line": line, "kind": "user"},
            {"index": 1, "function": "dispatch", "file": "/srv/app/app.py", "line": 9, "kind": "user"}
        ],
        "locals": [{"name": "sku", "value": "'sku-9'", "type_name": "str"}],
        "frame_locals": [{"index": 1, "locals": [{"name": "token", "value": "", "type_name": "str", "redacted": true}]}],
        "capture_us": 300
    })
}

fn service<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["services"].as_array().and_then(|all| all.iter().find(|s| s["name"] == name)).unwrap_or_else(|| panic!("no {name} in {list}"))
}

async fn the_exception_setting_is_listed_switched_and_reaches_a_waiting_agent_at_once(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.key("billing").await;
    let version = server.register(&key, "inst1", "api", None).await.json["version"].as_i64().unwrap();
    server.probe(json!({})).await;

    let list = server.admin("GET", "/api/v1/services", None).await;
    list.expect(200);
    let names: Vec<_> = list.json["services"].as_array().unwrap().iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, vec![json!("api"), json!("billing")]);
    assert_eq!(*service(&list.json, "api"), json!({"name": "api", "exceptions": false, "instances": 1, "live_instances": 1, "probes": 1}));

    // The poll sees the probe (one version up), then waits; turning exceptions on wakes it.
    let first = server.agent(&key, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={version}"), None).await;
    assert_eq!(first.json["exceptions"], json!({"enabled": false, "every_secs": 60, "per_minute": 30, "max_frames": 30}));
    let current = first.json["version"].as_i64().unwrap();
    let (addr, agent_key) = (server.addr, key.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={current}&wait=30"), Some(&agent_key), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on = server.admin("PUT", "/api/v1/services/api/exceptions", Some(json!({"enabled": true}))).await;
    on.expect(200);
    assert_eq!(on.json["exceptions"], true);
    assert_eq!(on.json["name"], "api");
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert!(answer.json["version"].as_i64().unwrap() > current);
    assert_eq!(answer.json["exceptions"]["enabled"], true);
    assert_eq!(answer.json["probes"].as_array().unwrap().len(), 1, "the probes are still there");
    assert_eq!(service(&server.admin("GET", "/api/v1/services", None).await.json, "api")["exceptions"], true);
    assert_eq!(service(&server.admin("GET", "/api/v1/services", None).await.json, "billing")["exceptions"], false);

    let off = server.admin("PUT", "/api/v1/services/api/exceptions", Some(json!({"enabled": false}))).await;
    assert_eq!(off.json["exceptions"], false);
    let after = server.agent(&key, "GET", "/api/v1/agent/probes?instance=inst1&since=0", None).await;
    assert_eq!(after.json["exceptions"]["enabled"], false);
    server.stop().await;
}

async fn switching_an_unknown_service_or_with_a_bad_body_is_refused(db: Db) {
    let server = TestServer::start(&db).await;
    server.key("api").await;
    server
        .admin("PUT", "/api/v1/services/nosuch/exceptions", Some(json!({"enabled": true})))
        .await
        .expect_error(404, "not_found", "snap key add --service nosuch");
    server.admin("PUT", "/api/v1/services/api/exceptions", Some(json!({"enabled": "yes"}))).await.expect_error(400, "bad_request", "expected a boolean");
    server.admin("PUT", "/api/v1/services/api/exceptions", Some(json!({}))).await.expect_error(400, "bad_request", "enabled");
    server.admin("PUT", "/api/v1/services/bad%20name/exceptions", Some(json!({"enabled": true}))).await.expect(400);
    let anonymous = server.call("PUT", "/api/v1/services/api/exceptions", None, Some(crate::common::Body::json(json!({"enabled": true})))).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(server.call("GET", "/api/v1/services", None, None).await.status, 401);
    // Nothing was switched by the refused requests.
    let list = server.admin("GET", "/api/v1/services", None).await;
    assert_eq!(list.json["services"], json!([{"name": "api", "exceptions": false, "instances": 0, "live_instances": 0, "probes": 0}]));
    server.stop().await;
}

async fn exception_snapshots_are_stored_with_their_kind_filtered_and_count_later_occurrences(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "inst1", "api", None).await;
    let probe = server.probe(json!({})).await;
    let id = probe["id"].as_i64().unwrap();
    let stored = upload(&server, &key, "inst1", vec![snapshot(id, 1_700_000_000_000, "p1"), exception("KeyError", 12, 1), exception("ValueError", 20, 3)]).await;
    stored.expect(200);
    assert_eq!(stored.json, json!({"accepted": 3, "rejected": 0}));

    let all = server.admin("GET", "/api/v1/snapshots?service=api", None).await;
    let kinds: Vec<_> = all.json["snapshots"].as_array().unwrap().iter().map(|s| (s["kind"].clone(), s["probe_id"].clone())).collect();
    assert_eq!(kinds, vec![(json!("probe"), json!(id)), (json!("exception"), Value::Null), (json!("exception"), Value::Null)]);

    let exceptions = server.admin("GET", "/api/v1/snapshots?kind=exception&service=api", None).await;
    let shots = exceptions.json["snapshots"].as_array().unwrap();
    assert_eq!(shots.len(), 2);
    assert_eq!(shots[0]["exception"]["type"], "KeyError");
    assert_eq!(shots[0]["exception"]["origin"], "flask");
    assert_eq!(shots[0]["exception"]["occurrences"], 1);
    assert_eq!(shots[0]["exception"]["chain"][0]["relation"], "cause");
    assert_eq!(shots[0]["frame_locals"][0]["locals"][0]["redacted"], true);
    assert_eq!(shots[1]["exception"]["occurrences"], 3);
    let probes_only = server.admin("GET", "/api/v1/snapshots?kind=probe", None).await;
    assert_eq!(probes_only.json["snapshots"].as_array().unwrap().len(), 1);
    server.admin("GET", "/api/v1/snapshots?kind=crash", None).await.expect_error(400, "bad_request", "kind");

    // Occurrences suppressed after the upload land on the latest snapshot of that failure.
    let counted = server
        .agent(
            &key,
            "POST",
            "/api/v1/agent/snapshots",
            Some(json!({"instance_id": "inst1", "snapshots": [], "occurrences": [
                {"type": "KeyError", "file": "/srv/app/orders/views.py", "line": 12, "count": 49},
                {"type": "OSError", "file": "/srv/app/nowhere.py", "line": 1, "count": 5}
            ]})),
        )
        .await;
    counted.expect(200);
    let one = server.admin("GET", &format!("/api/v1/snapshots/{}", shots[0]["id"]), None).await;
    assert_eq!(one.json["exception"]["occurrences"], 50);
    assert_eq!(one.json["kind"], "exception");
    assert_eq!(one.json["probe_id"], Value::Null);

    // A snapshot that is neither a probe's nor a proper exception's is refused whole.
    let mut mixed = exception("KeyError", 12, 1);
    mixed["probe_id"] = json!(id);
    upload(&server, &key, "inst1", vec![mixed]).await.expect_error(400, "bad_request", "null probe_id");
    let mut bare = snapshot(id, 1, "x");
    bare["probe_id"] = Value::Null;
    upload(&server, &key, "inst1", vec![bare]).await.expect_error(400, "bad_request", "needs a probe_id");

    // Deleting the probe leaves exception snapshots alone.
    server.admin("DELETE", &format!("/api/v1/probes/{id}"), None).await.expect(204);
    let left = server.admin("GET", "/api/v1/snapshots", None).await;
    assert_eq!(left.json["snapshots"].as_array().unwrap().len(), 2);
    server.stop().await;
}

async fn retention_caps_exception_snapshots_per_service(db: Db) {
    let mut config = db.config();
    config.snapshots_per_probe = 2;
    let server = TestServer::start_with(config).await;
    let key = server.key("api").await;
    server.register(&key, "inst1", "api", None).await;
    let shots: Vec<Value> = (1..=5).map(|line| exception("KeyError", line, 1)).collect();
    upload(&server, &key, "inst1", shots).await.expect(200);
    let swept = server.server.sweep().await.expect("sweep");
    assert_eq!(swept.capped_snapshots, 3);
    let left = server.admin("GET", "/api/v1/snapshots?kind=exception", None).await;
    let lines: Vec<_> = left.json["snapshots"].as_array().unwrap().iter().map(|s| s["exception"]["line"].clone()).collect();
    assert_eq!(lines, vec![json!(4), json!(5)], "the newest are kept");
    server.stop().await;
}

crate::on_both!(
    the_exception_setting_is_listed_switched_and_reaches_a_waiting_agent_at_once,
    switching_an_unknown_service_or_with_a_bad_body_is_refused,
    exception_snapshots_are_stored_with_their_kind_filtered_and_count_later_occurrences,
    retention_caps_exception_snapshots_per_service,
);
