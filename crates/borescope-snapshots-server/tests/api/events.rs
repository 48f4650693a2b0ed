//! The web page's live feed and probe sources: `GET /api/v1/events` (SSE) delivers snapshots
//! uploaded after connecting and probe changes, resumes from `Last-Event-ID`, and ends when the
//! server shuts down; agents report a probe's source when the probe set asks, and people read it
//! from `GET /api/v1/probes/{id}/source`.

use crate::common::{snapshot, upload, Db, TestServer};
use crate::web::log_in;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// An open event stream.
struct Stream {
    body: Incoming,
    buffer: String,
}

impl Stream {
    async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Stream {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
        tokio::spawn(connection);
        let mut builder = Request::builder().uri(path).header("host", addr.to_string());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = sender.send_request(builder.body(Empty::<Bytes>::new()).expect("request")).await.expect("send");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Stream { body: response.into_body(), buffer: String::new() }
    }

    /// The next event (comments skipped): (event name, id, data); None when the stream ended.
    async fn next(&mut self) -> Option<(String, Option<String>, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = (String::from("message"), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if block.lines().all(|l| l.starts_with(':')) {
                    continue;
                }
                return Some((name, id, data));
            }
            let frame = self.body.frame().await?.expect("stream frame");
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }

    /// The next `snapshot` event's id and summary, skipping other events.
    async fn snapshot(&mut self) -> (i64, Value) {
        loop {
            let (name, id, data) = self.next().await.expect("the stream ended");
            if name == "snapshot" {
                let summary: Value = serde_json::from_str(&data).expect("json");
                let id: i64 = id.expect("snapshot events carry their id").parse().expect("id");
                assert_eq!(summary["id"], id);
                return (id, summary);
            }
        }
    }
}

async fn agent_with_probe(server: &TestServer) -> (String, i64) {
    let key = server.key("api").await;
    server.register(&key, "inst1", "api", None).await;
    let probe = server.probe(json!({})).await;
    (key, probe["id"].as_i64().unwrap())
}

async fn the_event_stream_delivers_new_snapshots_and_resumes_after_the_last_event_id(db: Db) {
    let server = TestServer::start(&db).await;
    let (key, probe) = agent_with_probe(&server).await;
    upload(&server, &key, "inst1", vec![snapshot(probe, 1_000, "old")]).await.expect(200);

    let browser = log_in(&server).await;
    let mut stream = Stream::open(server.addr, "/api/v1/events?backlog=0", &[("cookie", &browser.cookie)]).await;
    upload(&server, &key, "inst1", vec![snapshot(probe, 2_000, "first")]).await.expect(200);
    let (first, summary) = stream.snapshot().await;
    assert_eq!(
        summary,
        json!({
            "id": first, "kind": "probe", "probe_id": probe, "service": "api", "instance_id": "inst1", "host": "web-1",
            "pid": 4242, "time_ms": 2_000, "received_ms": summary["received_ms"], "file": "/srv/app/orders/views.py",
            "line": 12, "function": "checkout", "message": null, "exception": null
        }),
        "the first event is the snapshot uploaded after connecting, not the older one"
    );
    // A probe change reaches the stream as a `probes` event.
    server.admin("PATCH", &format!("/api/v1/probes/{probe}"), Some(json!({"enabled": false}))).await.expect(200);
    let (name, _, _) = stream.next().await.expect("an event");
    assert_eq!(name, "probes");
    drop(stream);

    upload(&server, &key, "inst1", vec![snapshot(probe, 3_000, "while away")]).await.expect(200);
    let last = first.to_string();
    let mut resumed = Stream::open(server.addr, "/api/v1/events", &[("cookie", &browser.cookie), ("last-event-id", &last)]).await;
    let (id, summary) = resumed.snapshot().await;
    assert!(id > first);
    assert_eq!(summary["time_ms"], 3_000, "resumed right after the last event seen");

    // Without a cursor, the newest snapshots come first as a backlog (bearer auth works too).
    let token = format!("Bearer {}", server.token);
    let mut fresh = Stream::open(server.addr, "/api/v1/events?backlog=2", &[("authorization", &token)]).await;
    assert_eq!(fresh.snapshot().await.1["time_ms"], 2_000);
    assert_eq!(fresh.snapshot().await.1["time_ms"], 3_000);
    server.stop().await;
}

async fn the_event_stream_needs_a_credential_and_ends_at_shutdown(db: Db) {
    let server = TestServer::start(&db).await;
    let bare = crate::web::send(server.addr, "GET", "/api/v1/events", &[], b"").await;
    bare.expect_error(401, "unauthorized", "Authorization: Bearer");
    let token = format!("Bearer {}", server.token);
    let bad = crate::web::send(server.addr, "GET", "/api/v1/events", &[("authorization", &token), ("last-event-id", "x")], b"").await;
    bad.expect_error(400, "bad_request", "Last-Event-ID");
    let mut stream = Stream::open(server.addr, "/api/v1/events", &[("authorization", &token)]).await;
    // Shutdown does not wait for the open stream: stop() returns, and the stream ends.
    server.stop().await;
    assert_eq!(stream.next().await, None);
}

async fn agents_report_a_probes_source_once_and_people_read_it(db: Db) {
    let server = TestServer::start(&db).await;
    let (key, probe) = agent_with_probe(&server).await;
    let poll = server.agent(&key, "GET", "/api/v1/agent/probes?instance=inst1&since=0", None).await;
    assert_eq!(poll.json["probes"][0]["want_source"], true);
    let path = format!("/api/v1/probes/{probe}/source");
    assert_eq!(server.admin("GET", &path, None).await.json, json!({"probe_id": probe, "line": 12}));

    let lines: Vec<String> = (1..=31).map(|n| format!("line {n}")).collect();
    let report = |source: Value| json!({"instance_id": "inst1", "statuses": [{"probe_id": probe, "status": "installed", "source": source}]});
    let too_wide = json!({"path": "/srv/app/orders/views.py", "first_line": 1, "lines": ["x".repeat(241)]});
    server.agent(&key, "POST", "/api/v1/agent/status", Some(report(too_wide))).await.expect_error(400, "bad_request", "240 characters");
    let mut too_long = lines.clone();
    too_long.push("one more".into());
    let too_many = json!({"path": "/srv/app/orders/views.py", "first_line": 1, "lines": too_long});
    server.agent(&key, "POST", "/api/v1/agent/status", Some(report(too_many))).await.expect_error(400, "bad_request", "31 lines");

    let source = json!({"path": "/srv/app/orders/views.py", "first_line": 1, "lines": lines});
    server.agent(&key, "POST", "/api/v1/agent/status", Some(report(source.clone()))).await.expect(204);
    let shown = server.admin("GET", &path, None).await;
    shown.expect(200);
    assert_eq!(shown.json["source"], source);
    assert_eq!(shown.json["instance_id"], "inst1");
    // The first report stays; the next poll no longer asks.
    let other = json!({"path": "/elsewhere.py", "first_line": 2, "lines": ["y"]});
    server.agent(&key, "POST", "/api/v1/agent/status", Some(report(other))).await.expect(204);
    assert_eq!(server.admin("GET", &path, None).await.json["source"], source);
    let poll = server.agent(&key, "GET", "/api/v1/agent/probes?instance=inst1&since=0", None).await;
    assert!(poll.json["probes"][0].get("want_source").is_none(), "{}", poll.text);
    // Deleted with its probe.
    server.admin("DELETE", &format!("/api/v1/probes/{probe}"), None).await.expect(204);
    server.admin("GET", &path, None).await.expect(404);
    server.stop().await;
}

crate::on_both!(
    the_event_stream_delivers_new_snapshots_and_resumes_after_the_last_event_id,
    the_event_stream_needs_a_credential_and_ends_at_shutdown,
    agents_report_a_probes_source_once_and_people_read_it,
);
