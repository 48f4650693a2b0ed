//! Restart, shutdown and retention.

use crate::common::{config, markers, request, snapshot, upload, Db, TestServer};
use borescope_snapshots_server::{Backend, DatabaseConfig, Server, ServerConfig, TokenOrigin};
use serde_json::json;
use sqlx::Connection;
use std::time::Duration;

async fn a_restart_keeps_acknowledged_snapshots_probes_keys_and_the_token(db: Db) {
    let server = TestServer::start(&db).await;
    match db.backend {
        Backend::Sqlite => assert!(matches!(server.server.admin_token().origin(), TokenOrigin::Generated(_))),
        Backend::Postgres => assert_eq!(server.server.admin_token().origin(), &TokenOrigin::Given),
    }
    let token = server.token.clone();
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let probe = server.probe(json!({"max_hits": 10})).await["id"].as_i64().unwrap();
    let up = upload(&server, &key, "a1", (0..5).map(|i| snapshot(probe, i, &format!("s{i}"))).collect()).await;
    assert_eq!(up.json["accepted"], 5);
    server.stop().await;

    let again = TestServer::start(&db).await;
    if db.backend == Backend::Sqlite {
        assert!(matches!(again.server.admin_token().origin(), TokenOrigin::Stored(_)));
    }
    assert_eq!(again.token, token);
    let page = again.admin("GET", &format!("/api/v1/snapshots?probe={probe}"), None).await;
    assert_eq!(markers(&page.json), ["s0", "s1", "s2", "s3", "s4"]);
    let shown = again.admin("GET", &format!("/api/v1/probes/{probe}"), None).await;
    assert_eq!(shown.json["hits"], 5);
    // The key still works, and the instance is still known.
    again.agent(&key, "GET", "/api/v1/agent/probes?instance=a1", None).await.expect(200);
    again.stop().await;
}

async fn shutdown_answers_waiting_long_polls(db: Db) {
    let server = TestServer::start(&db).await;
    let key = server.key("api").await;
    let version = server.register(&key, "a1", "api", None).await.json["version"].as_i64().unwrap();
    let (addr, agent_key) = (server.addr, key.clone());
    let waiting = tokio::spawn(async move {
        request(addr, "GET", &format!("/api/v1/agent/probes?instance=a1&since={version}&wait=30"), Some(&agent_key), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop().await;
    let answer = waiting.await.unwrap();
    answer.expect(200);
    assert_eq!(answer.json["version"], version, "unchanged: answered because the server stopped");
}

/// Moves a snapshot's receive time back by `age`, straight in the database.
async fn backdate(db: &Db, id: i64, age: Duration) {
    let mut conn = db.connect().await;
    sqlx::query("UPDATE snapshots SET received_ms = received_ms - $1 WHERE id = $2")
        .bind(age.as_millis() as i64)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn retention_deletes_old_snapshots_and_caps_each_probe(db: Db) {
    let mut config: ServerConfig = db.config();
    config.retention = Duration::from_secs(3600);
    config.snapshots_per_probe = 3;
    let server = TestServer::start_with(config).await;
    let key = server.key("api").await;
    server.register(&key, "a1", "api", None).await;
    let capped = server.probe(json!({})).await["id"].as_i64().unwrap();
    let aged = server.probe(json!({"line": 20})).await["id"].as_i64().unwrap();
    upload(&server, &key, "a1", (0..5).map(|i| snapshot(capped, i, &format!("c{i}"))).collect()).await.expect(200);
    upload(&server, &key, "a1", vec![snapshot(aged, 1, "old"), snapshot(aged, 2, "new")]).await.expect(200);
    let page = server.admin("GET", &format!("/api/v1/snapshots?probe={aged}"), None).await;
    let old_id = page.json["snapshots"][0]["id"].as_i64().unwrap();
    backdate(&db, old_id, Duration::from_secs(2 * 3600)).await;

    let swept = server.server.sweep().await.unwrap();
    assert_eq!(swept.expired_snapshots, 1);
    assert_eq!(swept.capped_snapshots, 2);
    let capped_page = server.admin("GET", &format!("/api/v1/snapshots?probe={capped}"), None).await;
    assert_eq!(markers(&capped_page.json), ["c2", "c3", "c4"], "the newest are kept");
    let aged_page = server.admin("GET", &format!("/api/v1/snapshots?probe={aged}"), None).await;
    assert_eq!(markers(&aged_page.json), ["new"]);
    // The hit count is history, not storage: it stays.
    assert_eq!(server.admin("GET", &format!("/api/v1/probes/{capped}"), None).await.json["hits"], 5);
    let again = server.server.sweep().await.unwrap();
    assert_eq!(again, Default::default(), "nothing more to delete");
    server.stop().await;
}

crate::on_both!(
    a_restart_keeps_acknowledged_snapshots_probes_keys_and_the_token,
    shutdown_answers_waiting_long_polls,
    retention_deletes_old_snapshots_and_caps_each_probe,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_refuses_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut zero = config(dir.path());
    zero.retention = Duration::ZERO;
    assert!(Server::open(zero).await.err().unwrap().to_string().contains("retention"));
    let mut short = config(dir.path());
    short.token = Some("short".into());
    let error = Server::open(short).await.err().unwrap();
    assert!(error.is_input_error());
    assert!(error.to_string().contains("at least 16 characters"), "{error}");
    let url = ServerConfig::new(DatabaseConfig::Url("mysql://db/x".into()));
    let error = Server::open(url).await.err().unwrap();
    assert!(error.to_string().contains("is not a database URL borescope serves"), "{error}");
    let no_token = ServerConfig::new(DatabaseConfig::Url(format!("sqlite:{}", dir.path().join("u.db").display())));
    let error = Server::open(no_token).await.err().unwrap();
    assert!(error.to_string().contains("needs --token"), "{error}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let error = Server::open(config(&file.join("sub"))).await.err().unwrap();
    assert!(error.is_input_error());
    assert!(error.to_string().starts_with("cannot use the data directory"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_url_with_a_given_token_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(DatabaseConfig::Url(format!("sqlite:{}?mode=rwc", dir.path().join("url.db").display())));
    config.token = Some("a-token-long-enough-1234".into());
    let server = TestServer::start_with(config).await;
    assert_eq!(server.token, "a-token-long-enough-1234");
    assert_eq!(server.server.admin_token().origin(), &TokenOrigin::Given);
    server.probe(json!({})).await;
    server.stop().await;
    assert!(dir.path().join("url.db").exists());
}
