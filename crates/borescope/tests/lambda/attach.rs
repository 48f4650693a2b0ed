//! `lambda attach` end to end: a stack in moto, the relay through mosquitto, a Lambda execution
//! environment under awslambdaric, and the developer's side under a borescope session: a
//! relayed invocation, a breakpoint hit with `vars`/`eval`/`continue`, a raised error with its
//! type, `status`, and Ctrl-C restoring the function byte for byte; then a CLI killed mid-run
//! and `detach` restoring.

use super::lambda_side::{LambdaSide, config, moto_stack};
use super::{ctx, example, venv_python};
use borescope_test::TestContext;
use borescope_test::moto::MotoServer;
use borescope_test::mosquitto::Broker;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `borescope lambda attach`, its stdout lines collected.
struct Attached {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Attached {
    fn start(ctx: &TestContext, moto: &MotoServer, app: &Path, args: &[&str]) -> Attached {
        let mut command = ctx.command();
        command
            .current_dir(app)
            .args(["lambda", "attach", "--code", "src", "--python", &venv_python(), "--heartbeat", "1"])
            .args(args)
            .envs(moto.env())
            .env("XDG_STATE_HOME", ctx.root.join("state"))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(ctx.root.join("attach.err")).expect("stderr file")));
        let mut child = command.spawn().expect("start lambda attach");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Attached { child, lines, seen: Vec::new() }
    }

    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("lambda attach exited ({status}) before `{needle}`; stdout: {:?}", self.seen);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no `{needle}` from lambda attach; stdout so far: {:?}", self.seen);
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every attach test starts from: the example app, moto with stack `orders-api` (a Python
/// and a Node.js function), a broker, and the Python function's configuration before attach.
struct World {
    app: std::path::PathBuf,
    moto: MotoServer,
    broker: Broker,
    names: serde_json::Value,
    function: String,
    before: serde_json::Value,
}

impl World {
    fn new(ctx: &TestContext) -> World {
        let app = example(ctx);
        let moto = MotoServer::start();
        let broker = Broker::start(&ctx.root.join("broker"));
        let names: serde_json::Value = serde_json::from_str(&moto_stack(&moto, &["create", "orders-api"])).expect("names");
        let function = names["python"].as_str().expect("python function").to_string();
        let before = config(&moto, &function);
        World { app, moto, broker, names, function, before }
    }
}

const EVENT: &str = r#"{"httpMethod": "POST", "path": "/orders", "body": "{\"customer\": \"ada\", \"items\": [{\"sku\": \"tea\", \"price\": 4.5, \"qty\": 2}, {\"sku\": \"cake\", \"price\": 3.0, \"qty\": 1}]}"}"#;

/// The deployed code (what Lambda runs without borescope): answers `{"where": "lambda"}`.
fn deployed(ctx: &TestContext) -> std::path::PathBuf {
    let dir = ctx.root.join("deployed");
    std::fs::create_dir_all(dir.join("orders")).expect("dir");
    std::fs::write(dir.join("orders/__init__.py"), "").expect("write");
    std::fs::write(dir.join("orders/app.py"), "def create_order(event, context):\n    return {\"where\": \"lambda\"}\n").expect("write");
    dir
}

#[test]
fn attach_runs_invocations_here_and_ctrl_c_restores_the_function() {
    let ctx = ctx();
    let World { app, moto, broker, names, function, before } = World::new(&ctx);

    let mut attach = Attached::start(&ctx, &moto, &app, &["--stack", "orders-api", "--relay", &broker.url(), "--session", "lam"]);
    let attached = attach.wait_for("Ctrl-C restores every function");
    assert!(attach.seen.iter().any(|l| l.starts_with("attached 1 function of stack orders-api")), "{:?} {attached}", attach.seen);
    let stderr = std::fs::read_to_string(ctx.root.join("attach.err")).unwrap_or_default();
    assert!(stderr.contains(&format!("skipped {}: ", names["node"].as_str().unwrap_or_default())), "{stderr}");

    let during = config(&moto, &function);
    assert_eq!(during["Timeout"], 300, "the timeout is extended while attached");
    let mut side = LambdaSide::start(&ctx.root.join("lambda"), &during, &deployed(&ctx));

    // 1. Relayed: the local code answers (the deployed code would say "where": "lambda").
    let (error, body) = LambdaSide::invoke(&side.api_address, EVENT, 60_000);
    assert_eq!(error, None, "{body}\nlambda log:\n{}", side.log());
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
    assert_eq!(answer["statusCode"], 201, "{body}");
    assert!(answer["body"].as_str().unwrap_or_default().contains("\"total\": 14.4"), "{body}");
    attach.wait_for(&format!("{function} "));

    // 2. A breakpoint in the local code, hit by an invocation from Lambda (only the big
    // order stops there), while a second execution environment's invocation runs through:
    // invocations paused at a breakpoint hold no other.
    let mut command = ctx.command();
    command.current_dir(&app).args(["break", "src/orders/pricing.py:6", "--if", "subtotal > 100", "--session", "lam"]);
    ctx.run_command(command).expect_code(0);
    side.add_environment();
    let address = side.api_address.clone();
    let big = EVENT.replace(r#"\"qty\": 2"#, r#"\"qty\": 200"#);
    let pending = std::thread::spawn(move || LambdaSide::invoke(&address, &big, 120_000));
    let stop = ctx.run(["continue", "--session", "lam"]);
    stop.expect_code(0).stdout_has("src/orders/pricing.py:6 in total");
    ctx.run(["eval", "subtotal", "--session", "lam"]).expect_code(0).stdout_has("903.0");
    let (error, body) = LambdaSide::invoke(&side.api_address, EVENT, 60_000);
    assert_eq!(error, None, "{body}\nlambda log:\n{}", side.log());
    assert!(body.contains("14.4"), "the small order ran while the big one was paused: {body}");
    ctx.run(["frame", "1", "--session", "lam"]).expect_code(0);
    ctx.run(["eval", "event['path']", "--session", "lam"]).expect_code(0).stdout_has("/orders");
    ctx.run(["eval", "context.function_name", "--session", "lam"]).expect_code(0).stdout_has(&function);
    let mut command = ctx.command();
    command.current_dir(&app).args(["break", "--clear", "src/orders/pricing.py:6", "--session", "lam"]);
    ctx.run_command(command).expect_code(0);
    ctx.run(["continue", "--session", "lam", "--timeout", "1"]);
    let (error, body) = pending.join().expect("invocation thread");
    assert_eq!(error, None, "{body}");
    assert!(body.contains("1083.6"), "{body}");

    // 3. A raised error reaches Lambda with its type.
    let (error, body) = LambdaSide::invoke(&side.api_address, r#"{"body": "{}"}"#, 60_000);
    assert_eq!(error.as_deref(), Some("KeyError"), "{body}");
    assert!(body.contains("items"), "{body}");
    attach.wait_for("error KeyError");

    // A 1 MB event: chunked under IoT's 128 KB limit on the way out, put together here.
    let padding = "x".repeat(1024 * 1024);
    let large = EVENT.replacen(r#""path": "/orders""#, &format!(r#""path": "/orders", "padding": "{padding}""#), 1);
    let (error, body) = LambdaSide::invoke(&side.api_address, &large, 120_000);
    assert_eq!(error, None, "{body}");
    assert!(body.contains("14.4"), "{body}");

    // 4. status names the holder.
    let mut status = ctx.command();
    status.args(["lambda", "status", "--stack", "orders-api", "--json"]).envs(moto.env()).env("XDG_STATE_HOME", ctx.root.join("state"));
    let status = ctx.run_command(status);
    status.expect_code(0);
    let report = status.json();
    let entry = report["functions"].as_array().and_then(|f| f.iter().find(|f| f["name"] == function.as_str())).expect("function in status");
    assert_eq!(entry["instrumented"], true, "{report}");

    // 5. Ctrl-C: the function is back exactly as it was, the session is gone.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(attach.child.id() as i32), nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    attach.wait_for("restored 1 function of stack orders-api");
    let status = attach.child.wait().expect("attach exits");
    assert!(status.success(), "{status}");
    assert_eq!(config(&moto, &function), before, "the function is restored byte for byte");
    assert_eq!(moto_stack(&moto, &["policy", "orders-api-role"]), "[]", "the relay policy is gone");
    ctx.run(["sessions"]).stdout_has("no sessions");

    // 6. An execution environment that still carries the attach (Lambda replaces them after a
    // configuration change; this one was not) finds nobody and runs the deployed handler.
    let (error, body) = LambdaSide::invoke(&side.api_address, EVENT, 60_000);
    assert_eq!((error, body.as_str()), (None, r#"{"where": "lambda"}"#), "lambda log:\n{}", side.log());
    assert!(side.log().contains("[borescope] no answer from the developer's machine within 5 s"), "{}", side.log());

    // What attach printed, start to end.
    let clock = regex::Regex::new(r"^\d\d:\d\d:\d\d ").expect("regex");
    let ms = regex::Regex::new(r" \d+ ms ").expect("regex");
    let printed: Vec<String> = attach
        .seen
        .iter()
        .filter(|line| !line.contains(" idle "))
        .map(|line| ms.replace(&clock.replace(line, "[HH:MM:SS] "), " [MS] ms ").into_owned())
        .collect();
    insta::assert_snapshot!(super::filtered(&ctx, &printed.join("\n")));
}

#[test]
fn detach_restores_after_the_attach_was_killed() {
    let ctx = ctx();
    let World { app, moto, broker, function, before, .. } = World::new(&ctx);
    let mut attach = Attached::start(&ctx, &moto, &app, &["--stack", "orders-api", "--relay", &broker.url(), "--session", "lam2"]);
    attach.wait_for("Ctrl-C restores every function");
    attach.child.kill().expect("kill -9");
    let _ = attach.child.wait();
    assert_ne!(config(&moto, &function), before, "a killed attach cannot restore by itself");
    let mut status = ctx.command();
    status.args(["lambda", "status", "--stack", "orders-api"]).envs(moto.env()).env("XDG_STATE_HOME", ctx.root.join("state"));
    let status = ctx.run_command(status);
    status.expect_code(0);
    let holder = regex::Regex::new(r"attached by \S+ since \S+").expect("regex");
    insta::assert_snapshot!("status_while_attached", holder.replace_all(&super::filtered(&ctx, &status.stdout), "attached by [HOLDER] since [TIME]"));

    let mut detach = ctx.command();
    detach.args(["lambda", "detach", "--stack", "orders-api"]).envs(moto.env()).env("XDG_STATE_HOME", ctx.root.join("state"));
    let run = ctx.run_command(detach);
    run.expect_code(0);
    insta::assert_snapshot!(super::filtered(&ctx, &run.stdout));
    assert_eq!(config(&moto, &function), before);
    // Idempotent.
    let mut again = ctx.command();
    again.args(["lambda", "detach", "--stack", "orders-api"]).envs(moto.env()).env("XDG_STATE_HOME", ctx.root.join("state"));
    ctx.run_command(again).expect_code(0).stdout_has("nothing to restore");
    ctx.run(["stop", "--session", "lam2"]);
}

#[test]
fn attach_refuses_bad_input_and_changes_nothing() {
    let ctx = ctx();
    let World { app, moto, broker, function, before, .. } = World::new(&ctx);
    let relay = broker.url();
    // A "TLS" relay that answers the client's hello with plain HTTP: the TLS client is built
    // (with the process's crypto provider) and the failure is reported, not a crash. It reads
    // the hello and closes gently, so the client always meets the same bytes (never a reset).
    let not_tls = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let tls_relay = format!("wss://127.0.0.1:{}/mqtt", not_tls.local_addr().expect("addr").port());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in not_tls.incoming().map_while(Result::ok) {
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
        }
    });
    let mut out = String::new();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--stack", "nope", "--relay", &relay, "--code", "src"],
        vec!["--stack", "orders-api", "--function", "Missing", "--relay", &relay, "--code", "src"],
        vec!["--stack", "orders-api", "--relay", "ws://127.0.0.1:1/mqtt", "--code", "src"],
        vec!["--stack", "orders-api", "--relay", "http://127.0.0.1:1/mqtt", "--code", "src"],
        vec!["--stack", "orders-api", "--relay", &tls_relay, "--code", "src"],
        vec!["--stack", "orders-api", "--relay", &relay, "--listen", "nine", "--code", "src"],
        vec!["--stack", "orders-api", "--relay", &relay, "--timeout", "901", "--code", "src"],
        vec!["--stack", "orders-api", "--relay", &relay, "--code", "nowhere"],
    ];
    for args in cases {
        let mut command = ctx.command();
        command
            .current_dir(&app)
            .args(["lambda", "attach", "--python", &venv_python()])
            .args(&args)
            .envs(moto.env())
            .env("XDG_STATE_HOME", ctx.root.join("state"));
        let run = ctx.run_command(command);
        let first = run.stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default().to_string();
        out.push_str(&super::filtered(&ctx, &format!("$ lambda attach {}\nexit {}\n{first}\n", args.join(" "), run.code)));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
    assert_eq!(config(&moto, &function), before, "a refused attach changes nothing");
    ctx.run(["sessions"]).stdout_has("no sessions");

    // Another developer's attach is refused with who holds it; --force takes over.
    let mut alice = Attached::start(&ctx, &moto, &app, &["--stack", "orders-api", "--relay", &relay, "--session", "alice"]);
    alice.wait_for("Ctrl-C restores every function");
    let mut command = ctx.command();
    command
        .current_dir(&app)
        .args(["lambda", "attach", "--code", "src", "--python", &venv_python(), "--stack", "orders-api", "--relay", &relay, "--session", "bob"])
        .envs(moto.env())
        .env("USER", "bob")
        .env("XDG_STATE_HOME", ctx.root.join("state-bob"));
    let run = ctx.run_command(command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    ctx.run(["sessions"]).stdout_has("alice");
    assert_ne!(config(&moto, &function), before, "bob's refused attach left alice's in place");
    // `lambda detach` in another terminal ends the running attach.
    let mut detach = ctx.command();
    detach.args(["lambda", "detach", "--stack", "orders-api"]).envs(moto.env()).env("XDG_STATE_HOME", ctx.root.join("state"));
    ctx.run_command(detach).expect_code(0).stdout_has("restored 1 function");
    alice.wait_for("nothing to restore");
    assert!(alice.child.wait().expect("alice exits").success());
    assert_eq!(config(&moto, &function), before);
    ctx.run(["sessions"]).stdout_has("no sessions");

    // The session stopped under a running attach: it ends too, and restores.
    let mut carol = Attached::start(&ctx, &moto, &app, &["--stack", "orders-api", "--relay", &relay, "--session", "carol"]);
    carol.wait_for("Ctrl-C restores every function");
    ctx.run(["stop", "--session", "carol"]).expect_code(0);
    carol.wait_for("restored 1 function");
    let status = carol.child.wait().expect("carol exits");
    assert_eq!(status.code(), Some(1));
    let stderr = std::fs::read_to_string(ctx.root.join("attach.err")).unwrap_or_default();
    assert!(stderr.contains("the local worker ended (session `carol`)"), "{stderr}");
    assert_eq!(config(&moto, &function), before);
}

#[test]
fn invoke_with_stack_takes_the_deployed_handler_and_environment() {
    let ctx = ctx();
    let app = example(&ctx);
    let moto = MotoServer::start();
    moto_stack(&moto, &["create", "orders-api"]);
    let mut command = ctx.command();
    command
        .current_dir(&app)
        .args(["lambda", "invoke", "CreateOrder", "--stack", "orders-api", "--code", "src", "--event", "events/create.json", "--json"])
        .args(["--python", &venv_python()])
        .envs(moto.env());
    let run = ctx.run_command(command);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["function"], "orders-api-create", "{report}");
    assert_eq!(report["handler"], "orders.app.create_order", "{report}");
    assert!(report["result"]["body"].as_str().unwrap_or_default().contains(r#""stage": "dev""#), "{report}");
    // A Node.js function of the stack cannot run here.
    let mut command = ctx.command();
    command
        .current_dir(&app)
        .args(["lambda", "invoke", "Thumbnails", "--stack", "orders-api", "--code", "src", "--event", "events/create.json"])
        .envs(moto.env());
    let run = ctx.run_command(command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    insta::assert_snapshot!(super::filtered(&ctx, run.stderr.trim()));
}

#[test]
fn attach_listen_serves_an_editor_through_debugpy() {
    let ctx = ctx();
    let World { app, moto, broker, function, .. } = World::new(&ctx);
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    let mut attach = Attached::start(&ctx, &moto, &app, &["--stack", "orders-api", "--relay", &broker.url(), "--listen", &port.to_string()]);
    attach.wait_for("invocations run here under debugpy");
    attach.wait_for("Ctrl-C restores every function");
    let stderr = std::fs::read_to_string(ctx.root.join("attach.err")).unwrap_or_default();
    assert!(stderr.contains(&format!(r#""port": {port}"#)), "the launch.json entry is printed: {stderr}");

    // An editor's part, played by borescope's own DAP client: connect to the worker's debugpy.
    let address = format!("127.0.0.1:{port}");
    let mut connect = ctx.command();
    connect.current_dir(&app).args(["attach", &address, "--session", "editor", "--break", "src/orders/pricing.py:6"]);
    ctx.run_command(connect).expect_code(0);
    let during = config(&moto, &function);
    let side = LambdaSide::start(&ctx.root.join("lambda"), &during, &deployed(&ctx));
    let api = side.api_address.clone();
    let pending = std::thread::spawn(move || LambdaSide::invoke(&api, EVENT, 120_000));
    ctx.run(["continue", "--session", "editor"]).expect_code(0).stdout_has("pricing.py:6 in total");
    ctx.run(["eval", "subtotal", "--session", "editor"]).expect_code(0).stdout_has("12.0");
    let mut clear = ctx.command();
    clear.current_dir(&app).args(["break", "--clear", "src/orders/pricing.py:6", "--session", "editor"]);
    ctx.run_command(clear).expect_code(0);
    ctx.run(["continue", "--session", "editor", "--timeout", "1"]);
    let (error, body) = pending.join().expect("invocation thread");
    assert_eq!(error, None, "{body}");
    assert!(body.contains("14.4"), "{body}");
    ctx.run(["stop", "--session", "editor"]).expect_code(0);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(attach.child.id() as i32), nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    attach.wait_for("restored 1 function");
    assert!(attach.child.wait().expect("attach exits").success());
    let leftover = std::process::Command::new("pgrep").args(["-f", "lambda_worker"]).output().expect("pgrep");
    let worker_pids = String::from_utf8_lossy(&leftover.stdout).to_string();
    for pid in worker_pids.lines() {
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/environ")).unwrap_or_default();
        assert!(!cmdline.contains(&ctx.root.display().to_string()), "the editor's worker {pid} outlived attach");
    }
}
