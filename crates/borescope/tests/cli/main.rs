//! The command line itself: help text, usage errors and exit codes.

mod completions;
mod lambda;
mod server;
mod snap;

use borescope_test::TestContext;
use insta::assert_snapshot;

pub(crate) fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

#[test]
fn top_level_help() {
    let run = ctx().run(["--help"]);
    run.expect_code(0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn probe_help() {
    let run = ctx().run(["probe", "--help"]);
    run.expect_code(0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn start_help() {
    let run = ctx().run(["start", "--help"]);
    run.expect_code(0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn attach_ps_exec_mcp_break_and_source_help() {
    for command in ["attach", "ps", "exec", "mcp", "break", "source"] {
        let run = ctx().run([command, "--help"]);
        run.expect_code(0);
        assert_snapshot!(format!("{command}_help"), run.snapshot());
    }
}

#[test]
fn usage_errors_exit_2() {
    let ctx = ctx();
    ctx.run(["probe"]).expect_code(2).stderr_has("FILE:LINE");
    ctx.run(["no-such-command"]).expect_code(2);
    ctx.run(["break"]).expect_code(2);
    ctx.run(["break", "--list", "--clear"]).expect_code(2);
    ctx.run(["start"]).expect_code(2).stderr_has("COMMAND");
    ctx.run(["frame", "x"]).expect_code(2);
    ctx.run(["attach"]).expect_code(2).stderr_has("<PID|HOST:PORT|svc/NAME|pod/NAME[:PID]>");
    ctx.run(["attach", "not-a-pid"]).expect_code(2).stderr_has("or a Kubernetes target (`svc/NAME`, `pod/NAME`)");
    ctx.run(["attach", "deploy/web"]).expect_code(2);
    ctx.run(["attach", "pod/Web"]).expect_code(2).stderr_has("hint: write `svc/NAME` (a Service) or `pod/NAME`");
    ctx.run(["attach", "pod/web:x"]).expect_code(2).stderr_has("`x` is not a process id");
    ctx.run(["attach", "1234", "-n", "shop"]).expect_code(2).stderr_has("apply to Kubernetes targets");
    ctx.run(["attach", "1234", "--listen-only", "5678"]).expect_code(2).stderr_has("LOCAL_PORT applies to Kubernetes targets");
    ctx.run(["exec", "svc/web", "-c", "1"]).expect_code(2).stderr_has("exec runs in one process");
    ctx.run(["exec", "web", "-c", "1"]).expect_code(2).stderr_has("neither a process id nor `pod/NAME[:PID]`");
    ctx.run(["pods", "-s", "web", "-l", "app=web"]).expect_code(2);
    ctx.run(["pods", "-A", "-n", "shop"]).expect_code(2);
    let mut no_cluster = ctx.command();
    no_cluster.env("KUBECONFIG", ctx.root.join("missing-kubeconfig")).args(["pods"]);
    let refused = ctx.run_command(no_cluster);
    refused.expect_code(1);
    insta::assert_snapshot!("no_kubeconfig", refused.snapshot());
    ctx.run(["exec", "1"]).expect_code(2).stderr_has("SCRIPT.py");
    ctx.run(["exec", "1", "x.py", "-c", "1"]).expect_code(2);
    ctx.run(["ps", "--port", "99999"]).expect_code(2);
    ctx.run(["ps", "--interval", "-1"]).expect_code(2);
}

#[test]
fn sessions_when_none_exist() {
    let run = ctx().run(["sessions"]);
    run.expect_code(0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn version() {
    ctx().run(["--version"]).expect_code(0).stdout_has("borescope ");
}
