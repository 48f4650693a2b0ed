//! The admin endpoints: probes, instances, keys, snapshots reading, auth and bad input.

use crate::common::{markers, request, snapshot, upload, Body, Db, TestServer};
use serde_json::json;

async fn health_needs_no_token(db: Db) {
    let server = TestServer::start(&db).await;
    let answer = server.call("GET", "/api/v1/health", None, None).await;
    answer.expect(200);
    assert_eq!(answer.json["status"], "ok");
    assert_eq!(answer.json["database"], db.backend.name());
    assert_eq!(answer.json["version"], env!("CARGO_PKG_VERSION"));
    server.stop().await;
}

async fn probes_are_created_listed_shown_switched_and_deleted(db: Db) {
    let server = TestServer::start(&db).await;
    let created = server
        .probe(json!({"condition": "len(order.items) > 3", "captures": ["order.total"], "max_hits": 5, "env": "prod"}))
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["schema"], "borescope.snap-probe/1");
    assert_eq!(created["state"], "active");
    assert_eq!(created["rate"], 1.0);
    assert_eq!(created["frames_with_locals"], 1);
    assert_eq!(created["hits"], 0);
    assert_eq!(created["env"], "prod");
    assert_eq!(created["captures"], json!(["order.total"]));
    let lifetime = created["expires_ms"].as_i64().unwrap() - created["created_ms"].as_i64().unwrap();
    assert_eq!(lifetime, 3_600_000);
    let logpoint = server.probe(json!({"service": "billing", "log": "total={total}", "ttl_secs": 60})).await;
    assert_eq!(logpoint["rate"], 100.0);

    let all = server.admin("GET", "/api/v1/probes", None).await;
    all.expect(200);
    let ids: Vec<i64> = all.json["probes"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![logpoint["id"].as_i64().unwrap(), id], "newest first");
    let api = server.admin("GET", "/api/v1/probes?service=api", None).await;
    assert_eq!(api.json["probes"].as_array().unwrap().len(), 1);

    let shown = server.admin("GET", &format!("/api/v1/probes/{id}"), None).await;
    shown.expect(200);
    assert_eq!(shown.json, created);

    let off = server.admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({"enabled": false}))).await;
    off.expect(200);
    assert_eq!(off.json["state"], "disabled");
    let on = server.admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({"enabled": true}))).await;
    assert_eq!(on.json["state"], "active");
    let unchanged = server.admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({}))).await;
    assert_eq!(unchanged.json["state"], "active");

    server.admin("DELETE", &format!("/api/v1/probes/{id}"), None).await.expect(204);
    server.admin("GET", &format!("/api/v1/probes/{id}"), None).await.expect_error(404, "not_found", &format!("no probe {id}"));
    server.admin("DELETE", &format!("/api/v1/probes/{id}"), None).await.expect_error(404, "not_found", "no probe");
    server.admin("PATCH", &format!("/api/v1/probes/{id}"), Some(json!({"enabled": true}))).await.expect(404);
    server.admin("GET", "/api/v1/probes/abc", None).await.expect_error(400, "bad_request", "`abc` is not an id");
    server.admin("GET", "/api/v1/probes/0", None).await.expect_error(400, "bad_request", "`0` is not an id");
    server.stop().await;
}

async fn wrong_or_missing_credentials_are_refused(db: Db) {
    let server = TestServer::start(&db).await;
    let missing = server.call("GET", "/api/v1/probes", None, None).await;
    missing.expect_error(401, "unauthorized", "needs the admin token");
    assert_eq!(missing.headers.get("www-authenticate").unwrap(), "Bearer");
    server
        .call("GET", "/api/v1/probes", Some("not-the-token-at-all"), None)
        .await
        .expect_error(401, "unauthorized", "wrong admin token");
    let key = server.key("api").await;
    server.call("GET", "/api/v1/probes", Some(&key), None).await.expect_error(403, "forbidden", "agent keys can only use");
    for (method, path) in [
        ("POST", "/api/v1/probes"),
        ("GET", "/api/v1/instances"),
        ("GET", "/api/v1/snapshots"),
        ("GET", "/api/v1/snapshots/1"),
        ("POST", "/api/v1/keys"),
        ("GET", "/api/v1/keys"),
        ("DELETE", "/api/v1/keys/1"),
        ("PATCH", "/api/v1/probes/1"),
        ("DELETE", "/api/v1/probes/1"),
    ] {
        server.call(method, path, Some("wrong-token-0000000"), None).await.expect(401);
    }
    // The admin token is not an agent key.
    let token = server.token.clone();
    server
        .call("GET", "/api/v1/agent/probes?instance=abc", Some(&token), None)
        .await
        .expect_error(401, "unauthorized", "takes an agent key");
    server
        .call("GET", "/api/v1/agent/probes?instance=abc", Some("bsk_unknown"), None)
        .await
        .expect_error(401, "unauthorized", "unknown agent key");
    server.call("GET", "/api/v1/nowhere", None, None).await.expect_error(404, "not_found", "no endpoint GET /api/v1/nowhere");
    server.stop().await;
}

async fn malformed_bodies_get_a_400_with_a_message(db: Db) {
    let server = TestServer::start(&db).await;
    let token = server.token.clone();
    let post = |body: Body| {
        let token = token.clone();
        let addr = server.addr;
        async move { request(addr, "POST", "/api/v1/probes", Some(&token), Some(body)).await }
    };
    post(Body::raw("{not json")).await.expect_error(400, "bad_request", "malformed request body: key must be a string at line 1 column 2");
    post(Body::raw("")).await.expect_error(400, "bad_request", "malformed request body: EOF");
    post(Body::json(json!({"service": "api", "line": 3}))).await.expect_error(400, "bad_request", "missing field `file`");
    post(Body::json(json!({"service": "api", "file": "a.py", "line": "twelve"})))
        .await
        .expect_error(400, "bad_request", "invalid type: string \"twelve\", expected u32");
    post(Body::json(json!({"service": "api", "file": "a.py", "line": 3, "condition": "open('/etc/passwd')"})))
        .await
        .expect_error(
            400,
            "bad_request",
            "condition `open('/etc/passwd')`: calls are not allowed except len, str, int, float, bool, isinstance: open(...)",
        );
    post(Body::json(json!({"service": "api", "file": "a.py", "line": 3, "ttl_secs": 100_000})))
        .await
        .expect_error(400, "bad_request", "ttl_secs 100000 must be between 1 and 86400");
    post(Body { bytes: b"\x1f\x8b garbage".to_vec(), headers: vec![("content-encoding", "gzip".into())] })
        .await
        .expect_error(400, "bad_request", "the body is not valid gzip");
    post(Body { bytes: b"{}".to_vec(), headers: vec![("content-encoding", "br".into())] })
        .await
        .expect_error(400, "bad_request", "unsupported Content-Encoding `br`");
    let gzipped = post(Body::gzip(&json!({"service": "api", "file": "a.py", "line": 3}))).await;
    gzipped.expect(201);
    let huge = vec![b' '; (8 << 20) + 10];
    post(Body::raw(huge)).await.expect_error(413, "too_large", "larger than 8 MiB");
    let bomb = Body::gzip(&json!({"service": "api", "file": "x".repeat((8 << 20) + 10), "line": 3}));
    assert!(bomb.bytes.len() < 1 << 20, "compresses well");
    post(bomb).await.expect_error(413, "too_large", "larger than 8 MiB once decompressed");
    server
        .admin("GET", "/api/v1/snapshots?limit=many", None)
        .await
        .expect_error(400, "bad_request", "bad query string");
    server.admin("GET", "/api/v1/snapshots?limit=501", None).await.expect_error(400, "bad_request", "limit=501");
    server.admin("GET", "/api/v1/snapshots?wait=31", None).await.expect_error(400, "bad_request", "at most 30 seconds");
    server
        .admin("POST", "/api/v1/keys", Some(json!({"service": "bad name!"})))
        .await
        .expect_error(400, "bad_request", "service `bad name!` is not a valid name");
    server.stop().await;
}

async fn keys_are_shown_once_listed_by_prefix_and_deleted(db: Db) {
    let server = TestServer::start(&db).await;
    let created = server.admin("POST", "/api/v1/keys", Some(json!({"service": "api"}))).await;
    created.expect(201);
    let key = created.json["key"].as_str().unwrap().to_string();
    let id = created.json["id"].as_i64().unwrap();
    assert!(key.starts_with("bsk_") && key.len() == 47, "{key}");
    let listed = server.admin("GET", "/api/v1/keys", None).await;
    listed.expect(200);
    assert_eq!(listed.json["keys"][0]["prefix"], key[..8]);
    assert_eq!(listed.json["keys"][0]["service"], "api");
    assert!(!listed.text.contains(&key), "the secret is never listed");
    let mut conn = db.connect().await;
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT hash, prefix FROM agent_keys").fetch_all(&mut conn).await.unwrap();
    assert!(stored.iter().all(|(hash, prefix)| !hash.contains(&key) && !prefix.contains(&key)), "the secret is not stored in clear");

    server.register(&key, "inst1", "api", None).await;
    server.admin("DELETE", &format!("/api/v1/keys/{id}"), None).await.expect(204);
    server.admin("DELETE", &format!("/api/v1/keys/{id}"), None).await.expect_error(404, "not_found", "no agent key");
    server
        .agent(&key, "GET", "/api/v1/agent/probes?instance=inst1", None)
        .await
        .expect_error(401, "unauthorized", "unknown agent key");
    server.stop().await;
}

async fn snapshots_page_by_cursor_and_filter_by_probe_service_and_time(db: Db) {
    let server = TestServer::start(&db).await;
    let api_key = server.key("api").await;
    let billing_key = server.key("billing").await;
    server.register(&api_key, "a1", "api", None).await;
    server.register(&billing_key, "b1", "billing", None).await;
    let p1 = server.probe(json!({})).await["id"].as_i64().unwrap();
    let p2 = server.probe(json!({"line": 20})).await["id"].as_i64().unwrap();
    let p3 = server.probe(json!({"service": "billing"})).await["id"].as_i64().unwrap();
    let up = upload(&server, &api_key, "a1", vec![snapshot(p1, 1000, "a"), snapshot(p2, 2000, "b"), snapshot(p1, 3000, "c")]).await;
    up.expect(200);
    assert_eq!(up.json, json!({"accepted": 3, "rejected": 0}));
    upload(&server, &billing_key, "b1", vec![snapshot(p3, 4000, "d")]).await.expect(200);

    let first = server.admin("GET", "/api/v1/snapshots?limit=2", None).await;
    first.expect(200);
    assert_eq!(markers(&first.json), ["a", "b"]);
    let next = first.json["next"].as_i64().unwrap();
    let second = server.admin("GET", &format!("/api/v1/snapshots?limit=2&after={next}"), None).await;
    assert_eq!(markers(&second.json), ["c", "d"]);
    let last = second.json["next"].as_i64().unwrap();
    let empty = server.admin("GET", &format!("/api/v1/snapshots?after={last}"), None).await;
    assert_eq!(markers(&empty.json), Vec::<String>::new());
    assert_eq!(empty.json["next"], last, "an empty page keeps the cursor");
    let none = server.admin("GET", "/api/v1/snapshots?service=nobody", None).await;
    assert!(none.json.get("next").is_none(), "nothing before an empty first page: {}", none.text);

    let by_probe = server.admin("GET", &format!("/api/v1/snapshots?probe={p1}"), None).await;
    assert_eq!(markers(&by_probe.json), ["a", "c"]);
    let by_service = server.admin("GET", "/api/v1/snapshots?service=billing", None).await;
    assert_eq!(markers(&by_service.json), ["d"]);
    let by_time = server.admin("GET", "/api/v1/snapshots?since_ms=2000&until_ms=3000", None).await;
    assert_eq!(markers(&by_time.json), ["b", "c"]);

    let one = &first.json["snapshots"][0];
    assert_eq!(one["schema"], "borescope.snapshot/1");
    assert_eq!(one["service"], "api");
    assert_eq!(one["instance_id"], "a1");
    assert_eq!(one["host"], "web-1");
    assert_eq!(one["pid"], 4242);
    assert_eq!(one["probe_id"], p1);
    assert_eq!(one["function"], "checkout");
    assert_eq!(one["stack"][0]["kind"], "user");
    let id = one["id"].as_i64().unwrap();
    let shown = server.admin("GET", &format!("/api/v1/snapshots/{id}"), None).await;
    shown.expect(200);
    assert_eq!(&shown.json, one);
    server.admin("GET", "/api/v1/snapshots/999999", None).await.expect_error(404, "not_found", "no snapshot 999999");

    // Deleting a probe deletes its snapshots.
    server.admin("DELETE", &format!("/api/v1/probes/{p1}"), None).await.expect(204);
    let left = server.admin("GET", "/api/v1/snapshots?service=api", None).await;
    assert_eq!(markers(&left.json), ["b"]);
    server.stop().await;
}

async fn a_snapshot_long_poll_answers_with_the_snapshot_stored_while_it_waited(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({})).await["id"].as_i64().unwrap();
    upload(&server, &key, "a1", vec![snapshot(probe, 1, "old")]).await.expect(200);
    let page = server.admin("GET", "/api/v1/snapshots", None).await;
    let cursor = page.json["next"].as_i64().unwrap();

    let (addr, token) = (server.addr, server.token.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/snapshots?after={cursor}&wait=30"), Some(&token), None).await
    });
    // Give the poll time to be waiting, so the wakeup path is what answers it (the test's
    // server re-reads the database only hourly). Were the upload first, it must still be seen.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    upload(&server, &key, "a1", vec![snapshot(probe, 2, "new")]).await.expect(200);
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert_eq!(markers(&answer.json), ["new"]);

    // Nothing new: it answers empty, with the cursor, once the wait is over.
    let idle = server.admin("GET", &format!("/api/v1/snapshots?after={}&wait=1", answer.json["next"]), None).await;
    assert_eq!(markers(&idle.json), Vec::<String>::new());
    assert_eq!(idle.json["next"], answer.json["next"]);
    server.stop().await;
}

async fn instances_are_listed_with_what_they_registered(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", Some("prod")).await;
    let billing = server.key("billing").await;
    server.register(&billing, "b1", "billing", None).await;
    let all = server.admin("GET", "/api/v1/instances", None).await;
    all.expect(200);
    assert_eq!(all.json["instances"].as_array().unwrap().len(), 2);
    let api = server.admin("GET", "/api/v1/instances?service=api", None).await;
    let one = &api.json["instances"][0];
    assert_eq!(api.json["instances"].as_array().unwrap().len(), 1);
    assert_eq!(one["instance_id"], "a1");
    assert_eq!(one["env"], "prod");
    assert_eq!(one["host"], "web-1");
    assert_eq!(one["pid"], 4242);
    assert_eq!(one["python"], "3.12.4");
    assert_eq!(one["agent_version"], "0.1.0");
    assert_eq!(one["engine"], "monitoring");
    assert_eq!(one["gone"], false);
    assert!(one["last_seen_ms"].as_i64().unwrap() >= one["started_ms"].as_i64().unwrap());
    server.agent(&key, "POST", "/api/v1/agent/bye", Some(json!({"instance_id": "a1"}))).await.expect(204);
    let after = server.admin("GET", "/api/v1/instances?service=api", None).await;
    assert_eq!(after.json["instances"][0]["gone"], true);
    server.stop().await;
}

crate::on_both!(
    health_needs_no_token,
    probes_are_created_listed_shown_switched_and_deleted,
    wrong_or_missing_credentials_are_refused,
    malformed_bodies_get_a_400_with_a_message,
    keys_are_shown_once_listed_by_prefix_and_deleted,
    snapshots_page_by_cursor_and_filter_by_probe_service_and_time,
    a_snapshot_long_poll_answers_with_the_snapshot_stored_while_it_waited,
    instances_are_listed_with_what_they_registered,
);
