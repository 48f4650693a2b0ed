//! Live snapshots end to end: a real `borescope server` (SQLite in a temp directory), real apps
//! (Flask on the werkzeug server, FastAPI on uvicorn, gunicorn with pre-fork workers) started
//! with `borescope run` or the pip-installed agent or attached to with `snap attach`, real HTTP
//! requests to those apps, and probes created with the CLI. Python 3.11 (host, rewrite engine)
//! and 3.14 (Debian sid rootfs, sys.monitoring).

mod apps;
mod attach;
mod cli_shapes;
mod exceptions;
mod faults;
mod flows;
mod limits;
mod mcp_tools;
mod replicas;
mod web_page;

use borescope_test::http;
use borescope_test::targets::TargetProcess;
use borescope_test::TestContext;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A test context for the borescope binary, with the snapshot fixtures in its work directory.
pub fn ctx() -> TestContext {
    let ctx = TestContext::new(env!("CARGO_BIN_EXE_borescope"));
    for name in ["shop_flask.py", "pricing.py", "late_module.py", "shop_fastapi.py", "hot_loop.py", "embedded.py"] {
        ctx.fixture("snapshots", name);
    }
    ctx
}

/// The line of a fixture holding `marker` (`PROBE: view`).
pub fn line_of(ctx: &TestContext, file: &str, marker: &str) -> u32 {
    let text = std::fs::read_to_string(ctx.work().join(file)).expect("fixture");
    let index = text.lines().position(|l| l.contains(marker)).unwrap_or_else(|| panic!("no {marker} in {file}"));
    u32::try_from(index + 1).expect("line")
}

/// A running `borescope server`, stopped on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The admin token.
    pub token: String,
    /// Its data directory.
    pub data: std::path::PathBuf,
}

impl Server {
    /// A server with a fresh database on a free port.
    pub fn start(ctx: &TestContext) -> Server {
        Server::start_at(ctx, &ctx.root.join("server-data"), "127.0.0.1:0")
    }

    /// A server on `data` listening on `listen` (reuse both to restart it).
    pub fn start_at(ctx: &TestContext, data: &std::path::Path, listen: &str) -> Server {
        Server::start_with(ctx, data, &["--listen", listen, "--data", &data.display().to_string()])
    }

    /// A server on the Postgres database `url` (several may share one: replicas).
    pub fn start_postgres(ctx: &TestContext, url: &str) -> Server {
        Server::start_with(ctx, &ctx.root, &["--listen", "127.0.0.1:0", "--database", url])
    }

    fn start_with(ctx: &TestContext, data: &std::path::Path, args: &[&str]) -> Server {
        let token = "test-admin-token-5f2a9c".to_string();
        let mut child = ctx
            .command()
            .arg("server")
            .args(args)
            .args(["--token", &token, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start borescope server");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("server output");
        let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("server said {line:?}: {e}"));
        let url = started["url"].as_str().expect("url").trim_end_matches('/').to_string();
        Server { child, url, token, data: data.to_path_buf() }
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `host:port` of the server.
    pub fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// A GET on the API as an admin.
    pub fn get(&self, path: &str) -> Value {
        let response = http::get(&format!("{}{path}", self.url), Some(&self.token));
        assert!(response.status < 300, "GET {path}: {} {}", response.status, response.text());
        response.json()
    }

    /// A new agent key for `service`.
    pub fn key(&self, service: &str) -> String {
        let response = http::post_json(&format!("{}/api/v1/keys", self.url), Some(&self.token), &json!({"service": service}));
        assert_eq!(response.status, 201, "{}", response.text());
        response.json()["key"].as_str().expect("key").to_string()
    }

    /// `borescope snap ARGS --json` against this server; the parsed answer.
    pub fn snap(&self, ctx: &TestContext, args: &[&str]) -> Value {
        let run = self.snap_run(ctx, args, true);
        run.expect_code(0);
        run.json()
    }

    /// `borescope snap ARGS` against this server (with `--json` when asked).
    pub fn snap_run(&self, ctx: &TestContext, args: &[&str], json: bool) -> borescope_test::Run {
        let mut command = ctx.command();
        command.arg("snap").args(args).env("BORESCOPE_SERVER", &self.url).env("BORESCOPE_TOKEN", &self.token);
        if json {
            command.arg("--json");
        }
        ctx.run_command(command)
    }

    /// Snapshots of probe `id`, waiting up to `timeout` until there are at least `count`.
    pub fn snapshots(&self, id: i64, count: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let page = self.get(&format!("/api/v1/snapshots?probe={id}&limit=500&wait=2"));
            let found = page["snapshots"].as_array().cloned().unwrap_or_default();
            if found.len() >= count || Instant::now() >= deadline {
                return found;
            }
        }
    }

    /// Waits until `want(statuses)` holds for probe `id`; returns the probe view.
    pub fn wait_probe(&self, id: i64, timeout: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let view = self.get(&format!("/api/v1/probes/{id}"));
            if want(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "probe {id} never reached the wanted state: {view:#}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Statuses of a probe view, as `(pid, status)`.
pub fn statuses(view: &Value) -> Vec<(u64, String)> {
    view["statuses"]
        .as_array()
        .map(|all| all.iter().map(|s| (s["pid"].as_u64().unwrap_or(0), s["status"].as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default()
}

/// True when every instance in `pids` reports the probe armed.
pub fn armed_in(view: &Value, pids: &[u32]) -> bool {
    let found = statuses(view);
    pids.iter().all(|pid| {
        found.iter().any(|(p, s)| *p == u64::from(*pid) && matches!(s.as_str(), "installed" | "emitting" | "rate_limited"))
    })
}

/// Which Python an app runs on.
#[derive(Clone, Copy, Debug)]
pub enum Py {
    /// The host's 3.11 in the web virtualenv.
    Host,
    /// 3.14 from the sid rootfs.
    Sid,
}

impl Py {
    /// The command that runs this Python.
    pub fn argv(self) -> Vec<String> {
        match self {
            Py::Host => vec![borescope_test::interpreters::web_venv_python().display().to_string()],
            Py::Sid => {
                let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sid-python");
                vec![script.display().to_string()]
            }
        }
    }
}

/// `borescope run --server ... --key ... --service SERVICE -- PYTHON ARGS` in the work
/// directory; the returned process is the Python process (run execs it).
pub fn run_app(ctx: &TestContext, server: &Server, key: &str, service: &str, py: Py, args: &[&str]) -> TargetProcess {
    run_app_on(ctx, &server.url, key, service, py, args)
}

/// [`run_app`] with `--server SERVERS` (one URL, or replicas: `URL1,URL2`).
pub fn run_app_on(ctx: &TestContext, servers: &str, key: &str, service: &str, py: Py, args: &[&str]) -> TargetProcess {
    let mut argv: Vec<String> = vec!["run".into(), "--server".into(), servers.into(), "--key".into(), key.into()];
    argv.extend(["--service".into(), service.into(), "--".into()]);
    argv.extend(py.argv());
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    TargetProcess::program(&ctx.work(), ctx.bin(), &argv)
}

/// Starts the Flask shop under `borescope run` on a port the system picks; waits for it to
/// answer.
pub fn flask_shop(ctx: &TestContext, server: &Server, key: &str, py: Py) -> (TargetProcess, u16) {
    let app = run_app(ctx, server, key, "shop", py, &["shop_flask.py", "0"]);
    let port = app_port(&app);
    wait_http(&app, port);
    (app, port)
}

/// The port an app says it listens on (`http://127.0.0.1:PORT` in its log: werkzeug, gunicorn
/// and uvicorn all print it). Apps bind port 0, so tests running at once never race for a port.
pub fn app_port(app: &TargetProcess) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = app.output();
        let port = output
            .split("http://127.0.0.1:")
            .skip(1)
            .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u16>().ok())
            .find(|port| *port != 0);
        if let Some(port) = port {
            return port;
        }
        assert!(app.is_running() && Instant::now() < deadline, "the app never said where it listens:\n{output}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until an app answers `GET /ping` (or any request) on `port`.
pub fn wait_http(app: &TargetProcess, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        assert!(app.is_running(), "the app exited:\n{}", app.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the app never listened on {port}:\n{}", app.output());
}

/// `GET http://127.0.0.1:PORT/path` on an app; panics unless it answers 200.
pub fn hit(port: u16, path: &str) -> String {
    let response = http::get(&format!("http://127.0.0.1:{port}{path}"), None);
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    response.text()
}

/// The instances the server knows for `service`, waiting until there are `count` live ones.
pub fn instances(server: &Server, service: &str, count: usize) -> Vec<Value> {
    instances_of(server, service, count, None)
}

/// Like [`instances`]; on failure the panic also shows what `app` printed.
pub fn instances_of(server: &Server, service: &str, count: usize, app: Option<&TargetProcess>) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = server.get(&format!("/api/v1/instances?service={service}"));
        let live: Vec<Value> =
            list["instances"].as_array().cloned().unwrap_or_default().into_iter().filter(|i| !i["gone"].as_bool().unwrap_or(false)).collect();
        if live.len() >= count {
            return live;
        }
        assert!(
            Instant::now() < deadline,
            "{service} never had {count} instances: {list:#}\nthe app printed:\n{}",
            app.map(TargetProcess::output).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A local variable of a snapshot by name.
pub fn local<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["locals"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no local {name} in {snapshot:#}"))
}

/// `Command` for the host's plain Python (no framework), for the pip install test.
pub fn host_python() -> Command {
    Command::new(borescope_test::interpreters::host_python())
}
