//! Every live-snapshot text shape, from canned API answers (the JSON a server sends).

use super::*;
use crate::{PathStyle, RenderContext};
use borescope_model::{Budget, SnapAttachReport, SNAP_ATTACH_SCHEMA};
use borescope_snapshots_api::people::{CreatedKey, Instance, KeyInfo, ProbeView, ServiceInfo};
use borescope_snapshots_api::Snapshot;
use serde_json::{json, Value};
use serde::de::DeserializeOwned;

/// 2025-01-02 10:11:12 UTC.
const NOW: i64 = 1_735_812_672_000;

fn from<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("canned JSON matches the API")
}

fn instance(id: &str, host: &str, pid: u32, seen_ago_ms: i64, gone: bool) -> Instance {
    from(json!({
        "instance_id": id, "service": "shop", "env": "prod", "host": host, "pid": pid,
        "python": "3.12.4", "agent_version": "0.1.0", "engine": "monitoring",
        "started_ms": NOW - 7_200_000, "last_seen_ms": NOW - seen_ago_ms, "gone": gone
    }))
}

fn status(id: &str, host: &str, pid: u32, status: &str, message: Option<&str>, hits: u64) -> Value {
    json!({
        "instance_id": id, "host": host, "pid": pid, "status": status, "message": message,
        "hits": hits, "rate_limited": if status == "rate_limited" { 4 } else { 0 }, "updated_ms": NOW - 3000
    })
}

fn probe(extra: Value, statuses: Vec<Value>) -> ProbeView {
    let mut base = json!({
        "schema": "borescope.snap-probe/1", "id": 7, "service": "shop", "env": "prod",
        "file": "orders/views.py", "line": 88, "captures": [], "rate": 1.0, "frames_with_locals": 1,
        "created_ms": NOW - 300_000, "expires_ms": NOW + 3_300_000, "state": "active", "hits": 12,
        "statuses": statuses
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    from(base)
}

fn three() -> Vec<Instance> {
    vec![
        instance("a1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4242, 2000, false),
        instance("b1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4243, 5000, false),
        instance("c1b2c3d4e5f60718293a4b5c6d7e8f90", "web-2", 977, 1000, false),
    ]
}

#[test]
fn added_installed_everywhere() {
    let statuses = vec![
        status("a1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4242, "installed", None, 0),
        status("b1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4243, "emitting", None, 2),
        status("c1b2c3d4e5f60718293a4b5c6d7e8f90", "web-2", 977, "installed", None, 0),
    ];
    let view = probe(json!({"condition": "order.total > 100", "captures": ["len(items)", "order.id"], "max_hits": 50}), statuses);
    insta::assert_snapshot!("added_installed", render_snap_added(&view, &three(), 180, NOW));
}

#[test]
fn added_with_errors_pending_and_silence() {
    let statuses = vec![
        status("a1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4242, "installed", None, 0),
        status("b1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4243, "error", Some("no code at line 88; nearest lines with code: 87, 90"), 0),
        status("d1b2c3d4e5f60718293a4b5c6d7e8f90", "web-9", 1, "pending", Some("orders/views.py is not imported yet"), 0),
    ];
    let mut live = three();
    live.push(instance("d1b2c3d4e5f60718293a4b5c6d7e8f90", "web-9", 1, 1000, false));
    let view = probe(json!({"env": null}), statuses);
    insta::assert_snapshot!("added_mixed", render_snap_added(&view, &live, 3000, NOW));
}

#[test]
fn added_without_live_instances_and_as_a_logpoint() {
    let view = probe(json!({"log": "order {order.id} costs {total}", "rate": 100.0, "ttl_secs": 600}), vec![]);
    insta::assert_snapshot!("added_no_instances_logpoint", render_snap_added(&view, &[], 0, NOW));
}

#[test]
fn probe_list() {
    let probes = vec![
        probe(json!({"id": 9, "condition": "customer['tier'] == 'gold'"}), vec![
            status("a", "web-1", 4242, "installed", None, 3),
            status("b", "web-1", 4243, "rate_limited", None, 9),
            status("c", "web-2", 977, "error", Some("KeyError: 'tier'"), 0),
        ]),
        probe(json!({"id": 8, "line": 90, "state": "disabled", "hits": 0, "log": "price {amount} at {self.rate}", "rate": 100.0}), vec![]),
        probe(json!({"id": 7, "state": "expired", "expires_ms": NOW - 60_000, "env": null, "captures": ["len(items)"]}), vec![
            status("a", "web-1", 4242, "expired", None, 12),
        ]),
    ];
    insta::assert_snapshot!("probe_list", render_snap_probes(&probes, true, NOW));
    assert!(render_snap_probes(&[], false, NOW).contains("`--all` also lists ended ones"));
    assert!(!render_snap_probes(&[], true, NOW).contains("--all"));
}

#[test]
fn probe_details() {
    let statuses = vec![
        status("a", "web-1", 4242, "emitting", None, 12),
        status("b", "web-2", 977, "error", Some("condition failed: KeyError: 'missing'"), 0),
        status("c", "web-3", 51, "pending", Some("orders/views.py is not imported yet"), 0),
    ];
    let view = probe(json!({"condition": "order.total > 100", "captures": ["len(items)", "order.id"], "max_hits": 50, "rate": 2.5, "frames_with_locals": 3}), statuses);
    insta::assert_snapshot!("probe_details", render_snap_probe(&view, NOW));
    let quiet = probe(json!({"log": "hello {name}"}), vec![]);
    insta::assert_snapshot!("probe_details_no_reports", render_snap_probe(&quiet, NOW));
}

#[test]
fn instances_table() {
    let list = vec![
        instance("a1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4242, 2000, false),
        instance("b1b2c3d4e5f60718293a4b5c6d7e8f90", "web-1", 4243, 600_000, false),
        instance("c1b2c3d4e5f60718293a4b5c6d7e8f90", "web-2", 977, 3_600_000, true),
    ];
    insta::assert_snapshot!("instances", render_snap_instances(&list, NOW, 120_000));
    insta::assert_snapshot!("instances_empty", render_snap_instances(&[], NOW, 120_000));
}

#[test]
fn keys() {
    let created: CreatedKey = from(json!({"id": 3, "service": "shop", "key": "bsk_3fA9x0Qm7TtV2pLk8sYwZr4nB6cD1eF5gH9jK0lMn2o"}));
    insta::assert_snapshot!("key_created", render_snap_key_created(&created));
    let keys: Vec<KeyInfo> = from(json!([
        {"id": 3, "service": "shop", "prefix": "bsk_3fA9", "created_ms": NOW - 86_400_000},
        {"id": 4, "service": "billing", "prefix": "bsk_Zx01", "created_ms": NOW}
    ]));
    insta::assert_snapshot!("keys", render_snap_keys(&keys));
    assert!(render_snap_keys(&[]).starts_with("(no agent keys; make one"));
}

#[test]
fn attach_and_detach() {
    let attached = SnapAttachReport {
        schema: SNAP_ATTACH_SCHEMA.into(),
        pid: 4242,
        attached: true,
        changed: true,
        python: Some("3.14.0".into()),
        instance_id: Some("a1b2c3d4e5f60718293a4b5c6d7e8f90".into()),
        engine: Some("monitoring".into()),
        tool_id: Some(3),
        service: Some("loop".into()),
        env: None,
        server: Some("http://127.0.0.1:7300".into()),
        notices: vec![borescope_model::Notice::with_hint(
            "pid 4242 has its own network namespace: its 127.0.0.1 is not this machine's",
            "give --server an address the process can reach",
        )],
    };
    insta::assert_snapshot!("attached", render_snap_attach(&attached));
    let detached = SnapAttachReport { attached: false, instance_id: None, engine: None, tool_id: None, service: None, server: None, notices: vec![], ..attached };
    insta::assert_snapshot!("detached", render_snap_attach(&detached));
    let nothing = SnapAttachReport { changed: false, ..detached };
    assert_eq!(render_snap_attach(&nothing), "No live-snapshot agent ran in pid 4242 (Python 3.14.0); there was nothing to take out\n");
}

fn ctx() -> RenderContext {
    RenderContext::new(Budget::default(), PathStyle::relative_to("/srv/app"))
}

fn snapshot(id: i64, order: &str, extra: Value) -> Snapshot {
    let mut base = json!({
        "schema": "borescope.snapshot/1", "id": id, "service": "shop", "instance_id": "a1b2",
        "host": "web-1", "pid": 4242, "received_ms": NOW,
        "probe_id": 7, "time_ms": NOW - 1234,
        "location": {"file": "/srv/app/orders/views.py", "line": 88},
        "function": "checkout",
        "thread": {"id": 140_000, "name": "Thread-3 (process_request_thread)"},
        "source": {"first_line": 86, "current_line": 88, "lines": [
            "def checkout(order_id, customer):", "    order = load(order_id)", "    total = price(order)", "    return total"]},
        "stack": [
            {"index": 0, "function": "checkout", "file": "/srv/app/orders/views.py", "line": 88, "kind": "user"},
            {"index": 1, "function": "dispatch_request", "file": "/venv/lib/python3.12/site-packages/flask/app.py", "line": 880, "kind": "library"},
            {"index": 2, "function": "wsgi_app", "file": "/venv/lib/python3.12/site-packages/flask/app.py", "line": 1473, "kind": "library"},
            {"index": 3, "function": "run", "file": "/usr/lib/python3.12/threading.py", "line": 1010, "kind": "runtime"}
        ],
        "locals": [
            {"name": "order_id", "type_name": "int", "value": order},
            {"name": "customer", "type_name": "dict", "value": "{'name': 'Ada', 'tier': 'gold'}"},
            {"name": "password", "type_name": "str", "value": "", "redacted": true}
        ],
        "evals": [
            {"expression": "len(customer)", "value": {"name": "len(customer)", "type_name": "int", "value": "2"}},
            {"expression": "customer['missing']", "error": "KeyError: 'missing'"}
        ],
        "capture_us": 1234
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    from(base)
}

#[test]
fn one_snapshot_with_more_frames_and_notices() {
    let shot = snapshot(42, "5", json!({
        "frame_locals": [{"index": 1, "locals": [{"name": "self", "type_name": "Flask", "value": "<Flask 'shop'>"}]}],
        "notices": [{"message": "the capture stopped after 100 ms; 3 locals were not captured"}],
        "locals_omitted": 3
    }));
    insta::assert_snapshot!("snapshot", render_snapshot(&shot, &ctx()));
}

#[test]
fn a_list_of_snapshots_repeats_nothing() {
    let log = snapshot(44, "7", json!({"message": "price 50 at 0.9", "locals": [], "evals": [], "stack": [], "source": null}));
    let shots = vec![snapshot(42, "5", json!({})), snapshot(43, "6", json!({})), log];
    insta::assert_snapshot!("snapshot_list", render_snapshots(&shots, "of probe 7", true, Some(44), &ctx()));
    insta::assert_snapshot!("snapshot_list_empty", render_snapshots(&[], "of probe 7", false, None, &ctx()));
}

fn exception(id: i64, occurrences: u64) -> Snapshot {
    snapshot(id, "5", json!({
        "kind": "exception", "probe_id": null,
        "exception": {
            "type": "shop.PriceError", "message": "no price for sku-9", "file": "/srv/app/orders/views.py", "line": 88,
            "function": "checkout", "origin": "flask", "occurrences": occurrences,
            "chain": [{"relation": "cause", "type": "KeyError", "message": "'sku-9'", "file": "/srv/app/orders/prices.py", "line": 12}]
        },
        "evals": [],
        "frame_locals": [
            {"index": 1, "locals": [{"name": "self", "type_name": "Flask", "value": "<Flask 'shop'>"}]},
            {"index": 2, "locals": [{"name": "environ", "type_name": "dict", "value": "{...12 items}"}, {"name": "token", "type_name": "str", "value": "", "redacted": true}]}
        ]
    }))
}

#[test]
fn an_exception_snapshot_reads_like_a_stop_at_the_raise_with_every_frames_locals() {
    insta::assert_snapshot!("exception", render_snapshot(&exception(50, 49), &ctx()));
    let probe = snapshot(51, "6", json!({}));
    insta::assert_snapshot!("exception_and_probe_list", render_snapshots(&[exception(50, 1), probe], "of service shop", false, None, &ctx()));
}

#[test]
fn the_exception_setting_of_a_service() {
    let mut service = ServiceInfo { schema: String::new(), name: "shop".into(), exceptions: true, instances: 3, live_instances: 2, probes: 1 };
    insta::assert_snapshot!("service_on", render_snap_service(&service, true));
    insta::assert_snapshot!("service_shown_on", render_snap_service(&service, false));
    service.exceptions = false;
    insta::assert_snapshot!("service_off", render_snap_service(&service, true));
    insta::assert_snapshot!("service_shown_off", render_snap_service(&service, false));
}
