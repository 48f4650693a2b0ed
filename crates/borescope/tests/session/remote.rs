//! Sessions on debugpy the user started (`python -m debugpy --listen`), reached by address:
//! the same commands as a started program, path mappings, detaching without ending it, and
//! every address that is not a debugpy to attach to.

use crate::ctx;
use borescope_test::targets::{free_port, DebugpyServer, TargetProcess};
use insta::assert_snapshot;
use std::io::{Read, Write};
use std::time::Duration;

/// The highest "tick N" the program printed.
fn last_tick(target: &TargetProcess) -> u64 {
    target.output().lines().filter_map(|l| l.strip_prefix("tick ")?.trim().parse().ok()).max().unwrap_or(0)
}

#[test]
fn attach_to_listening_debugpy_drive_and_detach() {
    let ctx = ctx();
    let file = ctx.fixture("python", "shop.py");
    let server = DebugpyServer::start(&ctx.work(), &file, true);
    let address = server.address();

    let attached = ctx.run(["attach", &address, "--break", "shop.py:17"]);
    attached.expect_code(0);
    assert_snapshot!("attached_by_address", attached.snapshot());
    let hit = ctx.run(["continue"]);
    hit.expect_code(0)
        .stdout_has("Stopped at breakpoint shop.py:17 in handle (thread MainThread, hit 1)")
        .stdout_has("other: int = 3");
    ctx.run(["eval", "n * 10"]).expect_code(0).stdout_has("n * 10: int = 10");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at shop.py:18 in handle").stdout_has("mine: int = 2");
    ctx.run(["sessions"])
        .expect_code(0)
        .stdout_has(&format!("default [python attached] paused at shop.py:18 after a step; 1 breakpoint; attach {address}"));
    let status = ctx.run(["status", "--json"]).json();
    assert!(status["info"].get("pid").is_none(), "a program reached by address has no pid here: {status:#}");

    // A function breakpoint: debugpy keeps those past a disconnect, and the program would then
    // stop with nobody attached; `stop` must take it away.
    ctx.run(["break", "--function", "Shop.total"]).expect_code(0).stdout_has("#2 function Shop.total [verified]");
    ctx.run(["break", "--delete", "shop.py:17"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:6 in total").stdout_has("self: Shop");
    // debugpy relays the program's output piece by piece; it is shown in whole lines.
    let output = ctx.run(["output"]);
    output.expect_code(0).stdout_has("out| ready\n");
    assert!(!output.stdout.contains("out| \n"), "no empty lines from split writes:\n{}", output.stdout);

    ctx.run(["attach", &address, "--session", "second"])
        .expect_code(1)
        .stderr_has(&format!("the debugpy at {address} already has a client"));
    let stop = ctx.run(["stop"]);
    stop.expect_code(0).stdout_has("Session `default` detached; the process keeps running");
    let before = last_tick(&server.target);
    server.target.wait_for(&format!("tick {}", before + 10), Duration::from_secs(30));
    assert!(server.target.is_running());

    ctx.run(["attach", &address, "--session", "again"]).expect_code(0).stdout_has("attached to debugpy at");
    ctx.run(["stop", "--session", "again"]).expect_code(0).stdout_has("detached");
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn path_map_pairs_local_files_with_the_programs() {
    let ctx = ctx();
    let text = std::fs::read_to_string(ctx.fixture("python", "shop.py")).unwrap();
    let remote = ctx.write("remote/shop.py", &text);
    ctx.write("local/shop.py", &text);
    let server = DebugpyServer::start(&ctx.work().join("remote"), &remote, false);
    let address = server.address();
    server.target.wait_for("ready", Duration::from_secs(20));

    // Without a map the breakpoint names a file the program never runs.
    ctx.run(["attach", &address, "--break", "local/shop.py:17"]).expect_code(0);
    ctx.run(["continue", "--timeout", "1"]).expect_code(0).stdout_has("still running after 1s");
    ctx.run(["stop"]).expect_code(0);

    let remote_dir = ctx.work().join("remote").display().to_string();
    ctx.run(["attach", &address, "--path-map", &format!("local={remote_dir}"), "--break", "local/shop.py:17"]).expect_code(0);
    let hit = ctx.run(["continue"]);
    hit.expect_code(0).stdout_has("Stopped at breakpoint local/shop.py:17 in handle").stdout_has("> 17 |     mine = Shop().total(n)");
    ctx.run(["stack"]).expect_code(0).stdout_has("local/shop.py:26");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(server.target.is_running());
}

#[test]
fn the_program_ending_while_attached() {
    let ctx = ctx();
    let file = ctx.write("short.py", "def work(n):\n    return n + 1\n\n\nprint(work(41))\n");
    let server = DebugpyServer::start(&ctx.work(), &file, true);
    ctx.run(["attach", &server.address(), "--break", "short.py:2"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint short.py:2 in work");
    // debugpy reports the end (not the exit code of a program it attached to).
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit status unknown)").stdout_has("out| 42");
    ctx.run(["status"]).expect_code(0).stdout_has("exited");
    ctx.run(["stop"]).expect_code(0).stdout_has("Session `default` stopped (exit status unknown)");
}

/// A loopback server that answers every connection with `reply` (or, when empty, says
/// nothing and holds it).
fn fake_server(reply: &'static [u8]) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                if reply.is_empty() {
                    let _ = stream.read(&mut buf);
                    std::thread::sleep(Duration::from_secs(10));
                } else {
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(reply);
                }
            });
        }
    });
    port
}

#[test]
fn addresses_that_are_not_a_debugger() {
    let ctx = ctx();
    let port = free_port();
    let nothing = ctx.run(["attach", &format!(":{port}")]);
    nothing.expect_code(2);
    assert_snapshot!("nothing_listens", nothing.snapshot().replace(&port.to_string(), "[PORT]"));

    let web = fake_server(b"HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    ctx.run(["attach", &format!("127.0.0.1:{web}")])
        .expect_code(2)
        .stderr_has("speaks neither DAP (debugpy) nor Node's inspector protocol (an HTTP server answered)");
    let silent = fake_server(b"");
    ctx.run(["attach", &format!("127.0.0.1:{silent}")]).expect_code(2).stderr_has("(nothing answered)");

    let bad = ctx.run(["attach", "db:"]);
    bad.expect_code(2);
    assert_snapshot!("neither_pid_nor_address", bad.snapshot());
    ctx.run(["attach", ":5678", "--listen-only"]).expect_code(2).stderr_has("--listen-only applies to `attach PID`");
    ctx.run(["attach", "1", "--path-map", ".=/app"]).expect_code(2).stderr_has("--path-map applies to `attach HOST:PORT`");
    ctx.run(["attach", ":5678", "--path-map", "nodir=/app"]).expect_code(2).stderr_has("no local directory `nodir`");
    ctx.run(["attach", ":5678", "--path-map", "/app"]).expect_code(2).stderr_has("is not LOCAL=REMOTE");
    // A bad breakpoint is refused before the server is touched: the silent one never sees a
    // connection.
    ctx.fixture("python", "shop.py");
    ctx.run(["attach", &format!("127.0.0.1:{silent}"), "--break", "shop.py:3"]).expect_code(2).stderr_has("`shop.py:3`: no code on this line (blank line)");
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn debugpy_serving_from_inside_the_program() {
    let ctx = ctx();
    ctx.fixture("python", "shop.py");
    // `debugpy.listen(..., in_process_debug_adapter=True)`: no adapter process, and a server
    // that stays silent until asked.
    let port = free_port();
    let script = ctx.write(
        "serve.py",
        &format!("import debugpy\ndebugpy.listen((\"127.0.0.1\", {port}), in_process_debug_adapter=True)\nimport shop\n"),
    );
    let python = borescope_test::interpreters::venv_python();
    let target = TargetProcess::program(&ctx.work(), &python, &[script.to_str().unwrap()]);
    target.wait_for("ready", Duration::from_secs(20));
    let address = format!("127.0.0.1:{port}");
    ctx.run(["attach", &address, "--break", "shop.py:7"]).expect_code(0).stdout_has("attached to debugpy at");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:7 in total").stdout_has("self: Shop");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    let before = last_tick(&target);
    target.wait_for(&format!("tick {}", before + 10), Duration::from_secs(30));
}
