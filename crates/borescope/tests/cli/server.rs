//! `borescope server` as a process: what it prints, how it refuses bad input (exit 2, nothing
//! left behind), how it stops, and that a killed server keeps what it acknowledged.

use super::ctx;
use borescope_test::{kill9, sigterm, TestContext};
use insta::assert_snapshot;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};

/// A `borescope server` child, killed on drop.
struct ServerProcess {
    child: Child,
    /// The first line it printed.
    first: String,
    lines: BufReader<std::process::ChildStdout>,
}

impl ServerProcess {
    fn start(ctx: &TestContext, args: &[&str]) -> ServerProcess {
        let mut command = ctx.command();
        command.arg("server").args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start borescope server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("first line");
        if first.is_empty() {
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!("borescope server printed nothing; stderr:\n{stderr}");
        }
        ServerProcess { child, first, lines }
    }

    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("line");
        line
    }

    fn pid(&self) -> i64 {
        i64::from(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        kill9(self.pid());
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request (`Connection: close`): the status and the body as JSON (or null).
fn http(addr: &str, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn server_refuses_bad_input_with_exit_2_and_leaves_nothing_behind() {
    let ctx = ctx();
    std::fs::write(ctx.work().join("a-file"), "x").unwrap();
    let data = ctx.root.join("data");
    let data_arg = data.display().to_string();
    let cases: &[(&str, &[&str])] = &[
        ("listen_not_an_address", &["--listen", "nowhere"]),
        ("listen_foreign_address", &["--listen", "192.0.2.1:7300", "--data", &data_arg]),
        ("retention_not_a_duration", &["--retention", "soon", "--data", &data_arg]),
        ("retention_zero", &["--retention", "0s", "--data", &data_arg]),
        ("data_under_a_file", &["--listen", "127.0.0.1:0", "--data", "a-file/sub"]),
        ("database_and_data", &["--database", "sqlite:x.db", "--data", &data_arg]),
        ("database_unknown_scheme", &["--listen", "127.0.0.1:0", "--database", "mysql://db/x", "--token", "0123456789abcdef"]),
        ("database_without_token", &["--listen", "127.0.0.1:0", "--database", "sqlite:x.db"]),
        ("token_too_short", &["--listen", "127.0.0.1:0", "--data", &data_arg, "--token", "short"]),
        ("redact_not_a_name", &["--redact", "card number", "--data", &data_arg]),
    ];
    for (name, args) in cases {
        let run = ctx.run(std::iter::once("server").chain(args.iter().copied()));
        run.expect_code(2);
        assert_snapshot!(format!("server_bad_{name}"), run.snapshot());
        assert!(!data.join("admin-token").exists(), "{name}: no token left behind");
    }
    assert!(!data.join("snapshots.db").exists(), "no database left behind");
    assert!(!ctx.work().join("x.db").exists());
}

#[test]
fn server_on_a_busy_address_exits_1() {
    let ctx = ctx();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let data = ctx.root.join("data");
    let run = ctx.run(["server", "--listen", &addr, "--data", &data.display().to_string()]);
    run.expect_code(1);
    assert_snapshot!(run.snapshot(), @r"
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: cannot listen on 127.0.0.1:[PORT]: the address is in use
    hint: another program (or another borescope server) serves there; pick another --listen port
    ");
    assert!(!data.exists(), "no data directory left behind");
}

#[test]
fn server_says_where_it_listens_shows_a_new_token_once_and_stops_on_sigterm() {
    let ctx = ctx();
    let data = ctx.root.join("data").display().to_string();
    let mut server = ServerProcess::start(&ctx, &["--listen", "127.0.0.1:0", "--data", &data]);
    let text = [server.first.clone(), server.next_line(), server.next_line(), server.next_line(), server.next_line()].concat();
    let token = text.split("admin token: ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_string();
    let shown = ctx.filter(&text.replace(&token, "[TOKEN]"));
    assert_snapshot!(shown, @r"
    borescope server listening on http://127.0.0.1:[PORT] (API under http://127.0.0.1:[PORT]/api/v1)
    web page: http://127.0.0.1:[PORT]/ (log in with the admin token)
    database: sqlite [TMP]/data/snapshots.db
    admin token: [TOKEN] (generated now and stored in [TMP]/data/admin-token; shown only this once)
    agents need a key: borescope snap key add --service NAME
    ");
    let addr = text.split("http://").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_string();
    let (status, health) = http(&addr, "GET", "/api/v1/health", "", None);
    assert_eq!(status, 200);
    assert_eq!(health["database"], "sqlite");
    let (status, _) = http(&addr, "GET", "/api/v1/probes", &token, None);
    assert_eq!(status, 200);
    sigterm(server.pid());
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop on SIGTERM");

    // Second start: the stored token is not shown again.
    let again = ServerProcess::start(&ctx, &["--listen", "127.0.0.1:0", "--data", &data, "--json"]);
    let line: Value = serde_json::from_str(&again.first).unwrap();
    assert_eq!(line["schema"], "borescope.server/1");
    assert_eq!(line["token_generated"], false);
    assert!(line.get("token").is_none());
    assert_eq!(line["token_file"], format!("{data}/admin-token"));
    assert_eq!(line["database"], format!("sqlite {data}/snapshots.db"));
    assert_eq!(line["url"], format!("http://{}", line["listen"].as_str().unwrap()));
    assert_eq!(line["page"], format!("http://{}/", line["listen"].as_str().unwrap()));
    assert!(!again.first.contains(&token));
}

#[test]
fn a_killed_server_keeps_every_acknowledged_snapshot() {
    let ctx = ctx();
    let data = ctx.root.join("data").display().to_string();
    let token = "a-test-admin-token-0123456789";
    let args = ["--listen", "127.0.0.1:0", "--data", &data, "--token", token, "--json"];
    let server = ServerProcess::start(&ctx, &args);
    let line: Value = serde_json::from_str(&server.first).unwrap();
    assert_eq!(line["token_generated"], false);
    let addr = line["listen"].as_str().unwrap().to_string();
    let (status, key) = http(&addr, "POST", "/api/v1/keys", token, Some(json!({"service": "api"})));
    assert_eq!(status, 201);
    let key = key["key"].as_str().unwrap().to_string();
    let register = json!({"instance_id": "i1", "service": "api", "host": "h", "pid": 7, "python": "3.12.1",
                          "agent_version": "0.1.0", "engine": "monitoring"});
    assert_eq!(http(&addr, "POST", "/api/v1/agent/register", &key, Some(register)).0, 200);
    let (status, probe) = http(&addr, "POST", "/api/v1/probes", token, Some(json!({"service": "api", "file": "a.py", "line": 1})));
    assert_eq!(status, 201);
    let snapshots: Vec<Value> =
        (0..50).map(|i| json!({"probe_id": probe["id"], "time_ms": i, "locals": [{"name": "i", "value": i.to_string()}]})).collect();
    let (status, uploaded) =
        http(&addr, "POST", "/api/v1/agent/snapshots", &key, Some(json!({"instance_id": "i1", "snapshots": snapshots})));
    assert_eq!(status, 200);
    assert_eq!(uploaded, json!({"accepted": 50, "rejected": 0}));
    // No goodbye: the process dies at once, as in a crash or an OOM kill.
    drop(server);

    let again = ServerProcess::start(&ctx, &args);
    let line: Value = serde_json::from_str(&again.first).unwrap();
    let addr = line["listen"].as_str().unwrap().to_string();
    let (status, page) = http(&addr, "GET", "/api/v1/snapshots?service=api", token, None);
    assert_eq!(status, 200);
    let values: Vec<String> =
        page["snapshots"].as_array().unwrap().iter().map(|s| s["locals"][0]["value"].as_str().unwrap().to_string()).collect();
    assert_eq!(values, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    let (_, shown) = http(&addr, "GET", &format!("/api/v1/probes/{}", probe["id"]), token, None);
    assert_eq!(shown["hits"], 50);
}
