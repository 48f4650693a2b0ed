//! Several servers on one Postgres database: migrations when they start together, wakeups
//! that cross servers (LISTEN/NOTIFY; the servers re-read the database only hourly here, so
//! only a notification can answer a long poll in time), the id cursor with concurrent writers,
//! and the listening connection coming back after it was cut.

use crate::common::{markers, request, snapshot, upload, Db, TestServer};
use borescope_snapshots_server::Server;
use serde_json::{json, Value};
use std::time::Duration;

/// Two servers on one fresh database.
async fn two(db: &Db) -> (TestServer, TestServer) {
    (TestServer::start_with(db.config()).await, TestServer::start_with(db.config()).await)
}

/// A count from the database.
async fn count(db: &Db, sql: &str) -> i64 {
    let mut conn = db.connect().await;
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_the_database_once() {
    let db = Db::postgres("migrate_together");
    let (a, b, c) = tokio::join!(Server::open(db.config()), Server::open(db.config()), Server::open(db.config()));
    for opened in [a, b, c] {
        opened.expect("every server opens");
    }
    let applied = count(&db, "SELECT count(*) FROM _sqlx_migrations").await;
    let distinct = count(&db, "SELECT count(DISTINCT version) FROM _sqlx_migrations").await;
    assert!(applied >= 1 && applied == distinct, "each migration applied once: {applied} rows, {distinct} versions");
    assert_eq!(count(&db, "SELECT count(*) FROM upload_batches").await, 0, "the newest table is there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_created_on_one_server_reaches_an_agent_polling_another() {
    let db = Db::postgres("probe_across");
    let (a, b) = two(&db).await;
    let key = a.key("api").await;
    let version = b.register(&key, "inst1", "api", None).await.json["version"].as_i64().unwrap();
    let poll = |since: i64| {
        let (addr, key) = (b.addr, key.clone());
        tokio::spawn(async move {
            request(addr, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={since}&wait=30"), Some(&key), None).await
        })
    };
    let waiting = poll(version);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = a.probe(json!({})).await;
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert_eq!(answer.json["probes"][0]["id"], probe["id"], "{}", answer.text);

    // Deleting on A wakes the agent on B too.
    let current = answer.json["version"].as_i64().unwrap();
    let waiting = poll(current);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.admin("DELETE", &format!("/api/v1/probes/{}", probe["id"]), None).await.expect(204);
    let answer = waiting.await.unwrap();
    assert!(answer.json["version"].as_i64().unwrap() > current);
    assert_eq!(answer.json["probes"], json!([]));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_uploaded_to_one_server_wakes_a_reader_on_another() {
    let db = Db::postgres("snapshot_across");
    let (a, b) = two(&db).await;
    let key = a.key("api").await;
    b.register(&key, "inst1", "api", None).await;
    let probe = a.probe(json!({})).await["id"].as_i64().unwrap();
    let (addr, token) = (a.addr, a.token.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/snapshots?probe={probe}&wait=30"), Some(&token), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    upload(&b, &key, "inst1", vec![snapshot(probe, 1, "via-b")]).await.expect(200);
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert_eq!(markers(&answer.json), ["via-b"]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_again_to_another_server_is_stored_once() {
    let db = Db::postgres("batch_across");
    let (a, b) = two(&db).await;
    let key = a.key("api").await;
    a.register(&key, "inst1", "api", None).await;
    let probe = a.probe(json!({})).await["id"].as_i64().unwrap();
    // A stored it, but its answer never reached the agent (A died): the agent sends it to B.
    let body = json!({"instance_id": "inst1", "batch": "c0ffee-1", "snapshots": [snapshot(probe, 1, "once"), snapshot(probe, 2, "twice?")]});
    let first = a.agent(&key, "POST", "/api/v1/agent/snapshots", Some(body.clone())).await;
    a.stop().await;
    let again = b.agent(&key, "POST", "/api/v1/agent/snapshots", Some(body)).await;
    assert_eq!(again.json, first.json);
    assert_eq!(again.json["accepted"], 2);
    let page = b.admin("GET", &format!("/api/v1/snapshots?probe={probe}"), None).await;
    assert_eq!(markers(&page.json), ["once", "twice?"]);
    b.stop().await;
}

/// Waits until `n` sessions of this database wait for a lock, or `done` is true.
async fn until_waiting(db: &Db, n: i64, done: impl Fn() -> bool) {
    loop {
        let waiting = count(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await;
        if waiting >= n || done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_cursor_never_skips_a_snapshot_that_commits_late() {
    use sqlx::Connection;
    let db = Db::postgres("cursor_order");
    let (a, b) = two(&db).await;
    let key = a.key("api").await;
    a.register(&key, "on-a", "api", None).await;
    b.register(&key, "on-b", "api", None).await;
    let blocked = a.probe(json!({"line": 10})).await["id"].as_i64().unwrap();
    let free = a.probe(json!({"line": 20})).await["id"].as_i64().unwrap();
    // B's snapshot is for a third probe: B shares no row with A (a shared probe row would
    // make B wait for A anyway, through its hit counter).
    let other = a.probe(json!({"line": 30})).await["id"].as_i64().unwrap();

    // Another session holds the `blocked` probe's row: A's upload inserts its first snapshot
    // (taking an id), then waits on that row before it can commit.
    let mut holder = db.connect().await;
    let mut held = holder.begin().await.unwrap();
    sqlx::query("SELECT id FROM probes WHERE id = $1 FOR UPDATE").bind(blocked).execute(&mut *held).await.unwrap();
    let slow = {
        let (addr, key) = (a.addr, key.clone());
        tokio::spawn(async move {
            let body = json!({"instance_id": "on-a", "snapshots": [snapshot(free, 1, "a-first"), snapshot(blocked, 2, "a-second")]});
            request(addr, "POST", "/api/v1/agent/snapshots", Some(&key), Some(crate::common::Body::json(body))).await
        })
    };
    until_waiting(&db, 1, || false).await;
    // Meanwhile B stores one (it must not become visible ahead of A's smaller id).
    let fast = {
        let (addr, key) = (b.addr, key.clone());
        tokio::spawn(async move {
            let body = json!({"instance_id": "on-b", "snapshots": [snapshot(other, 3, "b")]});
            request(addr, "POST", "/api/v1/agent/snapshots", Some(&key), Some(crate::common::Body::json(body))).await
        })
    };
    until_waiting(&db, 2, || fast.is_finished()).await;

    // A reader pages by cursor while A's transaction is open, and again after.
    let first = a.admin("GET", "/api/v1/snapshots?service=api", None).await;
    let cursor = first.json["next"].as_i64().map_or(String::new(), |next| format!("&after={next}"));
    held.commit().await.unwrap();
    slow.await.unwrap().expect(200);
    fast.await.unwrap().expect(200);
    let second = a.admin("GET", &format!("/api/v1/snapshots?service=api{cursor}"), None).await;
    let mut seen: Vec<String> = markers(&first.json);
    seen.extend(markers(&second.json));
    seen.sort();
    assert_eq!(seen, ["a-first", "a-second", "b"], "every snapshot exactly once: {} then {}", first.text, second.text);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wakeups_cross_again_after_the_listening_connection_is_cut() {
    let db = Db::postgres("listener_cut");
    let (a, b) = two(&db).await;
    let key = a.key("api").await;
    let version = b.register(&key, "inst1", "api", None).await.json["version"].as_i64().unwrap();
    let listeners = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    assert_eq!(count(&db, listeners).await, 2, "one LISTEN connection per server");
    let cut = count(
        &db,
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%') AS cut",
    )
    .await;
    assert_eq!(cut, 2);
    // Both servers listen again (a condition, not a time).
    while count(&db, listeners).await < 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (addr, agent_key) = (b.addr, key.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/agent/probes?instance=inst1&since={version}&wait=30"), Some(&agent_key), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe: Value = a.probe(json!({})).await;
    let answer = waiting.await.unwrap();
    assert_eq!(answer.json["probes"][0]["id"], probe["id"], "{}", answer.text);
    a.stop().await;
    b.stop().await;
}
