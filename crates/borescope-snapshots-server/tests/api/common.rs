//! A real server on 127.0.0.1:0 over a real database (an SQLite file in a temporary directory,
//! or a fresh database in the test run's private PostgreSQL), and a small hyper client that
//! speaks to it over TCP. [`on_both!`] runs each test on both databases.

use borescope_snapshots_server::{Backend, DatabaseConfig, Server, ServerConfig, ServerError};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub token: String,
    /// A clone of the served server (for `sweep`).
    pub server: Server,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

/// The configuration tests use: data under `data`, and a long recheck so that an answer to a
/// long poll can only come from the in-process wakeup, never from the periodic re-read.
pub fn config(data: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(DatabaseConfig::DataDir(data.to_path_buf()));
    config.recheck = Duration::from_secs(3600);
    config
}

/// The admin token of servers on Postgres (there is no data directory to generate one in).
pub const PG_TOKEN: &str = "postgres-test-admin-token-0123";

/// One test's database: SQLite in a data directory, or a fresh Postgres database.
pub struct Db {
    pub backend: Backend,
    /// The SQLite data directory (on Postgres: an empty scratch directory).
    pub dir: tempfile::TempDir,
    url: Option<String>,
}

impl Db {
    pub fn sqlite() -> Db {
        Db { backend: Backend::Sqlite, dir: tempfile::tempdir().expect("tempdir"), url: None }
    }

    /// A new database in the run's private PostgreSQL (`borescope_test::postgres`).
    pub fn postgres(test: &str) -> Db {
        let url = borescope_test::postgres::database(test);
        Db { backend: Backend::Postgres, dir: tempfile::tempdir().expect("tempdir"), url: Some(url) }
    }

    /// The test configuration (see [`config`]) on this database.
    pub fn config(&self) -> ServerConfig {
        match &self.url {
            None => config(self.dir.path()),
            Some(url) => {
                let mut config = ServerConfig::new(DatabaseConfig::Url(url.clone()));
                config.recheck = Duration::from_secs(3600);
                config.token = Some(PG_TOKEN.into());
                config
            }
        }
    }

    /// A direct connection to the database, for what the API cannot do (age a row).
    pub async fn connect(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = match &self.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("snapshots.db").display()),
        };
        sqlx::AnyConnection::connect(&url).await.expect("connect to the test database")
    }
}

/// Runs each named `async fn NAME(db: Db)` of the calling module on SQLite (`sqlite::NAME`)
/// and on Postgres (`postgres::NAME`).
#[macro_export]
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::sqlite()).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::postgres(stringify!($name))).await
                }
            )+
        }
    };
}

impl TestServer {
    pub async fn start(db: &Db) -> TestServer {
        TestServer::start_with(db.config()).await
    }

    pub async fn start_with(config: ServerConfig) -> TestServer {
        let server = Server::open(config).await.expect("open server");
        let token = server.admin_token().secret().to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let served = server.clone();
        let task = tokio::spawn(async move {
            served
                .serve(listener, async move {
                    let _ = rx.await;
                })
                .await
        });
        // The retention task sweeps once at start; a test's own sweeps come after it, so they
        // see everything the test wrote.
        server.own_sweeps(1).await;
        TestServer { addr, token, server, shutdown: Some(tx), task: Some(task) }
    }

    /// Shuts down gracefully and waits until the database is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ended cleanly");
        }
    }

    /// A request with the admin token.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let token = self.token.clone();
        self.call(method, path, Some(&token), body.map(Body::json)).await
    }

    /// A request with an agent key.
    pub async fn agent(&self, key: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, Some(key), body.map(Body::json)).await
    }

    pub async fn call(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Body>) -> Answer {
        request(self.addr, method, path, bearer, body).await
    }

    /// A new agent key for `service`.
    pub async fn key(&self, service: &str) -> String {
        let answer = self.admin("POST", "/api/v1/keys", Some(json!({"service": service}))).await;
        answer.expect(201);
        answer.json["key"].as_str().expect("key").to_string()
    }

    /// Registers an instance of `service` with `key`.
    pub async fn register(&self, key: &str, instance: &str, service: &str, env: Option<&str>) -> Answer {
        let answer = self
            .agent(
                key,
                "POST",
                "/api/v1/agent/register",
                Some(json!({
                    "instance_id": instance, "service": service, "env": env, "host": "web-1", "pid": 4242,
                    "python": "3.12.4", "agent_version": "0.1.0", "engine": "monitoring"
                })),
            )
            .await;
        answer.expect(200);
        answer
    }

    /// Creates a probe (the fields merged over a default one for `api`).
    pub async fn probe(&self, fields: Value) -> Value {
        let mut body = json!({"service": "api", "file": "orders/views.py", "line": 12});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), fields.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        let answer = self.admin("POST", "/api/v1/probes", Some(body)).await;
        answer.expect(201);
        answer.json
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A request body and its extra headers.
pub struct Body {
    pub bytes: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Body {
    pub fn json(value: Value) -> Body {
        Body { bytes: serde_json::to_vec(&value).expect("json"), headers: vec![("content-type", "application/json".into())] }
    }

    pub fn raw(bytes: impl Into<Vec<u8>>) -> Body {
        Body { bytes: bytes.into(), headers: vec![("content-type", "application/json".into())] }
    }

    pub fn gzip(value: &Value) -> Body {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&serde_json::to_vec(value).expect("json")).expect("gzip");
        Body {
            bytes: encoder.finish().expect("gzip"),
            headers: vec![("content-type", "application/json".into()), ("content-encoding", "gzip".into())],
        }
    }
}

/// A finished request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Answer {
        assert_eq!(self.status, status, "answer: {}", self.text);
        self
    }

    /// Asserts an error answer: its status, code, and that its message contains `part`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str, part: &str) -> String {
        self.expect(status);
        assert_eq!(self.json["error"], code, "answer: {}", self.text);
        let message = self.json["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(part), "`{message}` should contain `{part}`");
        assert!(!message.contains('\n'), "one line: {message}");
        message
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn request(addr: SocketAddr, method: &str, path: &str, bearer: Option<&str>, body: Option<Body>) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder().method(method).uri(path).header("host", addr.to_string());
    if let Some(bearer) = bearer {
        builder = builder.header("authorization", format!("Bearer {bearer}"));
    }
    let bytes = match body {
        Some(body) => {
            for (name, value) in body.headers {
                builder = builder.header(name, value);
            }
            body.bytes
        }
        None => Vec::new(),
    };
    let request = builder.body(Full::new(Bytes::from(bytes))).expect("request");
    let response = sender.send_request(request).await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body).to_string();
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
    Answer { status, headers, json, text }
}

/// A snapshot as an agent uploads it.
pub fn snapshot(probe_id: i64, time_ms: i64, marker: &str) -> Value {
    json!({
        "probe_id": probe_id,
        "time_ms": time_ms,
        "location": {"file": "/srv/app/orders/views.py", "line": 12},
        "function": "checkout",
        "thread": {"id": 1, "name": "MainThread"},
        "stack": [{"index": 0, "function": "checkout", "file": "/srv/app/orders/views.py", "line": 12, "kind": "user"}],
        "locals": [{"name": "marker", "value": format!("'{marker}'"), "type_name": "str"}],
        "capture_us": 120
    })
}

/// Uploads snapshots for `instance` with `key`.
pub async fn upload(server: &TestServer, key: &str, instance: &str, snapshots: Vec<Value>) -> Answer {
    server
        .agent(key, "POST", "/api/v1/agent/snapshots", Some(json!({"instance_id": instance, "snapshots": snapshots})))
        .await
}

/// The `marker` local of each snapshot in a page.
pub fn markers(page: &Value) -> Vec<String> {
    page["snapshots"]
        .as_array()
        .map(|all| all.iter().map(|s| s["locals"][0]["value"].as_str().unwrap_or_default().trim_matches('\'').to_string()).collect())
        .unwrap_or_default()
}
