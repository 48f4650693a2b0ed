//! `borescope snap` and `borescope run` without a server: help, bad input refused before any
//! request (exit 2), an unreachable server (exit 1), and `run` handing the agent job to the
//! program it becomes.

use crate::ctx;
use borescope_test::TestContext;
use insta::assert_snapshot;

/// `http://127.0.0.1:PORT` with nothing listening (a port just bound and released).
fn closed_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// `borescope snap ARGS` against `server`.
fn snap(ctx: &TestContext, server: &str, args: &[&str]) -> borescope_test::Run {
    let mut command = ctx.command();
    command.arg("snap").args(args).env("BORESCOPE_SERVER", server);
    ctx.run_command(command)
}

#[test]
fn snap_and_run_help() {
    let ctx = ctx();
    for args in [
        vec!["snap", "--help"],
        vec!["snap", "add", "--help"],
        vec!["snap", "hits", "--help"],
        vec!["snap", "key", "--help"],
        vec!["snap", "attach", "--help"],
        vec!["snap", "exceptions", "--help"],
        vec!["run", "--help"],
    ] {
        let run = ctx.run(&args);
        run.expect_code(0);
        assert_snapshot!(format!("{}_help", args[..args.len() - 1].join("_")), run.snapshot());
    }
}

#[test]
fn no_server_is_one_line_and_exit_1() {
    let ctx = ctx();
    let server = closed_server();
    let mut shown = String::new();
    for args in [
        vec!["list"],
        vec!["add", "orders/views.py:88", "--service", "api"],
        vec!["show", "7"],
        vec!["rm", "7"],
        vec!["disable", "7"],
        vec!["agents"],
        vec!["key", "add", "--service", "api"],
        vec!["key", "list"],
        vec!["hits", "7"],
        vec!["hits", "7", "--follow", "--json"],
        vec!["exceptions", "--service", "api", "on"],
    ] {
        let run = snap(&ctx, &server, &args);
        run.expect_code(1).stderr_has("error: no borescope server at http://127.0.0.1:");
        shown.push_str(&format!("$ snap {}\n{}\n", args.join(" "), run.snapshot()));
    }
    assert_snapshot!("snap_no_server", shown);
}

#[test]
fn bad_input_is_refused_before_any_request() {
    // The server is unreachable: a command that sent anything would fail with exit code 1.
    let ctx = ctx();
    let server = closed_server();
    let mut shown = String::new();
    for args in [
        vec!["add", "views.py", "--service", "api"],
        vec!["add", "views.py:0", "--service", "api"],
        vec!["add", "views.py:12"],
        vec!["add", "views.py:12", "--service", "my api"],
        vec!["add", "views.py:12", "--service", "api", "--ttl", "5x"],
        vec!["add", "views.py:12", "--service", "api", "--ttl", "3d"],
        vec!["add", "views.py:12", "--service", "api", "--rate", "-2"],
        vec!["add", "views.py:12", "--service", "api", "--frames", "11"],
        vec!["add", "views.py:12", "--service", "api", "--max-hits", "0"],
        vec!["add", "views.py:12", "--service", "api", "--if", ""],
        vec!["add", "views.py:12", "--service", "api", "--log", "x={x}", "--capture", "y"],
        vec!["add", "views.py:12", "--service", "api", "--wait", "-1"],
        vec!["hits", "7", "--since", "yesterday"],
        vec!["hits", "--limit", "0"],
        vec!["hits", "--service", "a/b"],
        vec!["hits", "--kind", "crash"],
        vec!["hits", "7", "--kind", "exception"],
        vec!["exceptions", "--service", "api", "maybe"],
        vec!["exceptions", "--service", "my api", "on"],
        vec!["exceptions", "--service", "my api"],
        vec!["agents", "--service", ""],
        vec!["show", "seven"],
        vec!["attach", "123"],
        vec!["attach", "123", "--detach", "--service", "api"],
        vec!["attach", "123", "--service", "api"],
        vec!["attach", "123", "--service", "api", "--key", "bsk_abc", "--env", "the prod"],
    ] {
        let run = snap(&ctx, &server, &args);
        run.expect_code(2);
        assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.snapshot());
        assert_eq!(run.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "one error line: {}", run.snapshot());
        shown.push_str(&format!("$ snap {}\n{}\n", args.join(" "), run.snapshot()));
    }
    assert_snapshot!("snap_bad_input", shown);
}

#[test]
fn server_urls_other_than_plain_http_are_refused() {
    let ctx = ctx();
    let mut shown = String::new();
    for server in ["https://snap.example.com", "127.0.0.1:7300", "http://user:secret@127.0.0.1:7300"] {
        let run = snap(&ctx, server, &["list"]);
        run.expect_code(2);
        shown.push_str(&format!("$ BORESCOPE_SERVER={server} snap list\n{}\n", run.snapshot()));
    }
    let run = ctx.run(["mcp", "--server", "https://snap.example.com"]);
    run.expect_code(2).stderr_has("https is not supported yet");
    assert_snapshot!("snap_bad_urls", shown);
}

#[test]
fn run_checks_its_settings_before_starting_anything() {
    let ctx = ctx();
    let python = borescope_test::interpreters::host_python().display().to_string();
    let mut shown = String::new();
    for args in [
        vec!["run", "--service", "api", "--", &python, "-c", "1"],
        vec!["run", "--key", "not-a-key", "--service", "api", "--", &python, "-c", "1"],
        vec!["run", "--key", "bsk_abc", "--service", "api", "--server", "https://x", "--", &python, "-c", "1"],
        vec!["run", "--key", "bsk_abc", "--service", "api", "--", "no-such-program-here"],
        vec!["run", "--key", "bsk_abc", "--", &python],
        vec!["run", "--key", "bsk_abc", "--service", "api"],
    ] {
        let run = ctx.run(&args);
        run.expect_code(2);
        shown.push_str(&format!("$ {}\n{}\n", args.join(" ").replace(&python, "[PYTHON]"), run.snapshot().replace(&python, "[PYTHON]")));
    }
    assert_snapshot!("run_bad_input", shown);
}

#[test]
fn run_becomes_the_program_with_the_agent_job() {
    let ctx = ctx();
    let python = borescope_test::interpreters::host_python();
    let code = "import json, os, sys\n\
job = json.loads(os.environ['BORESCOPE_AGENT_JOB'])\n\
print(os.getpid())\n\
print(job['kind'], job['server'], job['key'], job['service'], job['env'])\n\
print(os.environ['PYTHONPATH'].split(':')[0] == os.environ['BORESCOPE_AGENT_PATH'], os.environ['PYTHONPATH'].split(':')[1])\n\
sys.exit(7)\n";
    let mut command = ctx.command();
    command
        .args(["run", "--server", "http://127.0.0.1:9/", "--service", "api", "--env", "prod", "--"])
        .arg(&python)
        .args(["-c", code])
        .env("BORESCOPE_AGENT_KEY", "bsk_abc123")
        .env("PYTHONPATH", "/opt/app-lib")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("borescope run");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(7), "the program's exit code: {output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first().copied(), Some(pid.to_string().as_str()), "run execs the program (same pid): {stdout}");
    assert_eq!(lines.get(1).copied(), Some("snapshots http://127.0.0.1:9 bsk_abc123 api prod"), "{stdout}");
    assert_eq!(lines.get(2).copied(), Some("True /opt/app-lib"), "the agent first, the program's path kept: {stdout}");
}
