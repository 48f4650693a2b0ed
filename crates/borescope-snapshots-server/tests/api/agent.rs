//! The agents' endpoints: register, long-poll probes, upload, status, bye; keys bound to a
//! service; hit limits and expiry.

use crate::common::{request, snapshot, upload, Body, Db, TestServer};
use serde_json::json;
use std::time::Duration;

async fn an_agent_registers_and_gets_its_services_probes(db: Db) {
    let mut config = db.config();
    config.redact = vec!["card_number".into()];
    let server = TestServer::start_with(config).await;
    let key = server.key("api").await;
    let registered = server.register(&key, "inst1", "api", Some("prod")).await;
    assert_eq!(registered.json, json!({"instance_id": "inst1", "version": 0}));

    let mine = server.probe(json!({"condition": "x > 1", "captures": ["y"], "max_hits": 3, "frames_with_locals": 2})).await;
    let prod = server.probe(json!({"env": "prod", "line": 30})).await;
    server.probe(json!({"env": "staging", "line": 40})).await;
    server.probe(json!({"service": "billing"})).await;
    let off = server.probe(json!({"line": 50})).await;
    server.admin("PATCH", &format!("/api/v1/probes/{}", off["id"]), Some(json!({"enabled": false}))).await.expect(200);

    let set = server.agent(&key, "GET", "/api/v1/agent/probes?instance=inst1&since=0", None).await;
    set.expect(200);
    let probes = set.json["probes"].as_array().unwrap();
    let ids: Vec<_> = probes.iter().map(|p| p["id"].clone()).collect();
    assert_eq!(ids, vec![mine["id"].clone(), prod["id"].clone()], "this service, this env, enabled: {}", set.text);
    assert_eq!(
        probes[0],
        json!({
            "id": mine["id"], "file": "orders/views.py", "line": 12, "condition": "x > 1", "captures": ["y"],
            "rate": 1.0, "hits_left": 3, "frames_with_locals": 2, "expires_ms": mine["expires_ms"], "want_source": true
        })
    );
    assert!(probes[1].get("hits_left").is_none());
    assert_eq!(set.json["redact"], json!(["card_number"]));
    assert_eq!(set.json["global_rate"], 100.0);
    assert_eq!(set.json["version"], 5, "four probes of `api` and one switch: {}", set.text);
    server.stop().await;
}

async fn a_probe_long_poll_answers_with_the_new_probe_before_its_wait_ends(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    let version = server.register(&key, "inst1", "api", None).await.json["version"].as_i64().unwrap();
    let (addr, agent_key) = (server.addr, key.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={version}&wait=30"), Some(&agent_key), None)
            .await
    });
    // Let the poll be waiting first (the test server re-reads the database only hourly, so only
    // the wakeup can answer it with the new probe within its 30 s).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = server.probe(json!({})).await;
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert!(answer.json["version"].as_i64().unwrap() > version);
    assert_eq!(answer.json["probes"][0]["id"], probe["id"]);

    // Unchanged: the same version and set after the wait.
    let current = answer.json["version"].as_i64().unwrap();
    let idle = server.agent(&key, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={current}&wait=1"), None).await;
    assert_eq!(idle.json["version"], current);
    assert_eq!(idle.json["probes"], answer.json["probes"]);

    // Deleting wakes a poll too, and the set is empty then.
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={current}&wait=30"), Some(&key), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.admin("DELETE", &format!("/api/v1/probes/{}", probe["id"]), None).await.expect(204);
    let answer = waiting.await.unwrap();
    assert!(answer.json["version"].as_i64().unwrap() > current);
    assert_eq!(answer.json["probes"], json!([]));
    server.stop().await;
}

async fn an_agent_key_only_reaches_its_own_service(db: Db) {
    let server = TestServer::start(&db).await;
    let api = server.key("api").await;
    let billing = server.key("billing").await;
    server.register(&billing, "b1", "billing", None).await;
    let register_other = server
        .agent(
            &api,
            "POST",
            "/api/v1/agent/register",
            Some(json!({"instance_id": "x1", "service": "billing", "host": "h", "pid": 1, "python": "3.12",
                        "agent_version": "0.1", "engine": "monitoring"})),
        )
        .await;
    register_other.expect_error(403, "forbidden", "this agent key belongs to service `api`, not `billing`");
    server
        .agent(&api, "GET", "/api/v1/agent/probes?instance=b1", None)
        .await
        .expect_error(403, "forbidden", "instance `b1` belongs to service `billing`");
    let billing_probe = server.probe(json!({"service": "billing"})).await["id"].as_i64().unwrap();
    upload(&server, &api, "b1", vec![snapshot(billing_probe, 1, "x")]).await.expect_error(403, "forbidden", "belongs to service");
    server
        .agent(&api, "POST", "/api/v1/agent/status", Some(json!({"instance_id": "b1", "statuses": []})))
        .await
        .expect(403);
    server.agent(&api, "POST", "/api/v1/agent/bye", Some(json!({"instance_id": "b1"}))).await.expect(403);
    // The same instance id cannot move to another service.
    server.register(&api, "a1", "api", None).await;
    let stolen = server
        .agent(
            &billing,
            "POST",
            "/api/v1/agent/register",
            Some(json!({"instance_id": "a1", "service": "billing", "host": "h", "pid": 1, "python": "3.12",
                        "agent_version": "0.1", "engine": "monitoring"})),
        )
        .await;
    stolen.expect_error(403, "forbidden", "instance id `a1` is registered for service `api`");
    // An api instance uploading a billing probe's snapshot: refused, not stored.
    let up = upload(&server, &api, "a1", vec![snapshot(billing_probe, 1, "x")]).await;
    assert_eq!(up.json, json!({"accepted": 0, "rejected": 1}));
    // Unregistered instances are told to register.
    server
        .agent(&api, "GET", "/api/v1/agent/probes?instance=never", None)
        .await
        .expect_error(404, "not_found", "POST /api/v1/agent/register first");
    server.agent(&api, "GET", "/api/v1/agent/probes?instance=a%20b", None).await.expect_error(400, "bad_request", "instance_id");
    server.agent(&api, "GET", "/api/v1/agent/probes", None).await.expect_error(400, "bad_request", "missing field `instance`");
    server.stop().await;
}

async fn gzip_uploads_are_stored_and_unknown_probes_rejected(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({})).await["id"].as_i64().unwrap();
    let body = json!({"instance_id": "a1", "snapshots": [snapshot(probe, 5, "zipped"), snapshot(9999, 5, "lost")], "dropped": 7});
    let answer = server.call("POST", "/api/v1/agent/snapshots", Some(&key), Some(Body::gzip(&body))).await;
    answer.expect(200);
    assert_eq!(answer.json, json!({"accepted": 1, "rejected": 1}));
    let page = server.admin("GET", &format!("/api/v1/snapshots?probe={probe}"), None).await;
    assert_eq!(crate::common::markers(&page.json), ["zipped"]);
    let shown = server.admin("GET", &format!("/api/v1/probes/{probe}"), None).await;
    assert_eq!(shown.json["hits"], 1);
    let bad = server
        .call("POST", "/api/v1/agent/snapshots", Some(&key), Some(Body::json(json!({"instance_id": "a1", "snapshots": [{"probe_id": "x"}]}))))
        .await;
    bad.expect_error(400, "bad_request", "malformed request body");
    server.stop().await;
}

async fn a_probe_is_done_at_max_hits_and_refuses_more(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({"max_hits": 2})).await;
    let id = probe["id"].as_i64().unwrap();
    let first = upload(&server, &key, "a1", vec![snapshot(id, 1, "one")]).await;
    assert_eq!(first.json, json!({"accepted": 1, "rejected": 0}));
    let set = server.agent(&key, "GET", "/api/v1/agent/probes?instance=a1", None).await;
    assert_eq!(set.json["probes"][0]["hits_left"], 1);
    let version = set.json["version"].as_i64().unwrap();
    let more = upload(&server, &key, "a1", vec![snapshot(id, 2, "two"), snapshot(id, 3, "three")]).await;
    assert_eq!(more.json, json!({"accepted": 1, "rejected": 1}));
    let shown = server.admin("GET", &format!("/api/v1/probes/{id}"), None).await;
    assert_eq!(shown.json["state"], "done");
    assert_eq!(shown.json["hits"], 2);
    // Done changes the set: a poll since the old version answers at once, without it.
    let set = server.agent(&key, "GET", &format!("/api/v1/agent/probes?instance=a1&since={version}&wait=30"), None).await;
    assert!(set.json["version"].as_i64().unwrap() > version);
    assert_eq!(set.json["probes"], json!([]));
    upload(&server, &key, "a1", vec![snapshot(id, 4, "four")]).await.expect(200);
    let page = server.admin("GET", &format!("/api/v1/snapshots?probe={id}"), None).await;
    assert_eq!(crate::common::markers(&page.json), ["one", "two"]);
    server
        .admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({"enabled": true})))
        .await
        .expect_error(409, "conflict", "reached its max_hits");
    let listed = server.admin("GET", "/api/v1/probes", None).await;
    assert_eq!(listed.json["probes"], json!([]), "ended probes are listed only with all=true");
    let all = server.admin("GET", "/api/v1/probes?all=true", None).await;
    assert_eq!(all.json["probes"][0]["id"], id);
    server.stop().await;
}

async fn a_probe_expires_after_its_ttl(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({"ttl_secs": 1})).await;
    let id = probe["id"].as_i64().unwrap();
    let expires = probe["expires_ms"].as_i64().unwrap();
    assert_eq!(expires - probe["created_ms"].as_i64().unwrap(), 1000);
    // Wait for the clock to pass the expiry (a wait for a condition, not a timing assertion).
    while std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 <= expires {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = server.admin("GET", &format!("/api/v1/probes/{id}"), None).await;
    assert_eq!(shown.json["state"], "expired");
    let set = server.agent(&key, "GET", "/api/v1/agent/probes?instance=a1", None).await;
    assert_eq!(set.json["probes"], json!([]));
    server
        .admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({"enabled": true})))
        .await
        .expect_error(409, "conflict", "expired");
    server.stop().await;
}

async fn statuses_are_joined_into_the_probe_per_instance(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    server.register(&key, "a2", "api", None).await;
    let id = server.probe(json!({})).await["id"].as_i64().unwrap();
    let report = |instance: &str, status: serde_json::Value| {
        json!({"instance_id": instance, "statuses": [status]})
    };
    server
        .agent(&key, "POST", "/api/v1/agent/status", Some(report("a1", json!({"probe_id": id, "status": "installed"}))))
        .await
        .expect(204);
    server
        .agent(
            &key,
            "POST",
            "/api/v1/agent/status",
            Some(report("a2", json!({"probe_id": id, "status": "error", "message": "no code at line 12; nearest lines with code: 11, 14"}))),
        )
        .await
        .expect(204);
    // A report on a deleted probe is skipped, not an error.
    server
        .agent(&key, "POST", "/api/v1/agent/status", Some(report("a1", json!({"probe_id": 99999, "status": "installed"}))))
        .await
        .expect(204);
    server
        .agent(
            &key,
            "POST",
            "/api/v1/agent/status",
            Some(report("a1", json!({"probe_id": id, "status": "rate_limited", "hits": 10, "rate_limited": 7}))),
        )
        .await
        .expect(204);
    let shown = server.admin("GET", &format!("/api/v1/probes/{id}"), None).await;
    let statuses = shown.json["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 2, "{}", shown.text);
    let a1 = statuses.iter().find(|s| s["instance_id"] == "a1").unwrap();
    assert_eq!(a1["status"], "rate_limited");
    assert_eq!(a1["hits"], 10);
    assert_eq!(a1["rate_limited"], 7);
    assert_eq!(a1["host"], "web-1");
    assert_eq!(a1["pid"], 4242);
    let a2 = statuses.iter().find(|s| s["instance_id"] == "a2").unwrap();
    assert_eq!(a2["status"], "error");
    assert_eq!(a2["message"], "no code at line 12; nearest lines with code: 11, 14");
    let listed = server.admin("GET", "/api/v1/probes", None).await;
    assert_eq!(listed.json["probes"][0]["statuses"], shown.json["statuses"]);
    server
        .agent(&key, "POST", "/api/v1/agent/status", Some(report("a1", json!({"probe_id": id, "status": "sleeping"}))))
        .await
        .expect_error(400, "bad_request", "unknown variant `sleeping`");

    // An instance that said goodbye no longer counts.
    server.agent(&key, "POST", "/api/v1/agent/bye", Some(json!({"instance_id": "a2"}))).await.expect(204);
    let shown = server.admin("GET", &format!("/api/v1/probes/{id}"), None).await;
    assert_eq!(shown.json["statuses"].as_array().unwrap().len(), 1);
    assert_eq!(shown.json["statuses"][0]["instance_id"], "a1");
    server.stop().await;
}

async fn a_batch_sent_again_is_answered_as_before_and_stored_once(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({"max_hits": 10})).await["id"].as_i64().unwrap();
    let body = json!({"instance_id": "a1", "batch": "7f3a-01", "snapshots": [snapshot(probe, 1, "one"), snapshot(9999, 2, "lost")]});
    let send = || server.agent(&key, "POST", "/api/v1/agent/snapshots", Some(body.clone()));
    let first = send().await;
    assert_eq!(first.json, json!({"accepted": 1, "rejected": 1}));
    let again = send().await;
    assert_eq!(again.json, first.json, "the retry gets the first answer");
    let page = server.admin("GET", &format!("/api/v1/snapshots?probe={probe}"), None).await;
    assert_eq!(crate::common::markers(&page.json), ["one"], "stored once");
    assert_eq!(server.admin("GET", &format!("/api/v1/probes/{probe}"), None).await.json["hits"], 1);
    // Another batch id is another batch; the id is per instance.
    let other = json!({"instance_id": "a1", "batch": "7f3a-02", "snapshots": [snapshot(probe, 3, "two")]});
    assert_eq!(server.agent(&key, "POST", "/api/v1/agent/snapshots", Some(other)).await.json["accepted"], 1);
    let bad = json!({"instance_id": "a1", "batch": "no spaces", "snapshots": []});
    server
        .agent(&key, "POST", "/api/v1/agent/snapshots", Some(bad))
        .await
        .expect_error(400, "bad_request", "batch `no spaces` is not valid");
    server.stop().await;
}

crate::on_both!(
    a_batch_sent_again_is_answered_as_before_and_stored_once,
    an_agent_registers_and_gets_its_services_probes,
    a_probe_long_poll_answers_with_the_new_probe_before_its_wait_ends,
    an_agent_key_only_reaches_its_own_service,
    gzip_uploads_are_stored_and_unknown_probes_rejected,
    a_probe_is_done_at_max_hits_and_refuses_more,
    a_probe_expires_after_its_ttl,
    statuses_are_joined_into_the_probe_per_instance,
);
