//! Zero-prep: `snap attach PID` loads the agent into a running Python 3.14 process in the
//! container stand-in (its own mount and PID namespaces) through PEP 768, and `--detach`
//! leaves the process as it was: no monitoring tool, no thread, no module, no import hook.

use crate::{armed_in, ctx, instances, line_of, Server};
use borescope_test::targets::TargetProcess;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn snap_attach_and_detach_on_a_running_python_3_14() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("loop");
    let script = ctx.work().join("hot_loop.py").display().to_string();
    let target = TargetProcess::container(&ctx.work(), &["--pid"], &["python3.14", &script, "120"], &[]);
    target.wait_for("ready", WAIT);
    let pid = target.pid.to_string();

    let mut attach = ctx.command();
    attach.args(["snap", "attach", &pid, "--server", &server.url, "--key", &key, "--service", "loop"]);
    ctx.run_command(attach).expect_code(0);
    let all = instances(&server, "loop", 1);
    assert_eq!(all[0]["pid"].as_u64(), Some(u64::from(target.pid)), "{all:#?}");

    let location = format!("hot_loop.py:{}", line_of(&ctx, "hot_loop.py", "PROBE: hot"));
    let view = server.snap(&ctx, &["add", &location, "--service", "loop", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    server.wait_probe(id, WAIT, |v| armed_in(v, &[target.pid]));
    let shot = &server.snapshots(id, 1, WAIT)[0];
    assert_eq!(shot["function"], "work");

    let mut detach = ctx.command();
    detach.args(["snap", "attach", &pid, "--detach"]);
    ctx.run_command(detach).expect_code(0);
    assert!(target.is_running(), "{}", target.output());
    let gone = server.get("/api/v1/instances?service=loop");
    assert_eq!(gone["instances"][0]["gone"], true, "the agent said goodbye: {gone:#}");

    let check = "import sys, threading\n\
print('tools', [t for t in range(6) if sys.monitoring.get_tool(t)])\n\
print('threads', [t.name for t in threading.enumerate()])\n\
print('modules', sorted(m for m in sys.modules if m.startswith('borescope_agent.snap')))\n\
print('hooks', [type(f).__name__ for f in sys.meta_path if 'borescope' in type(f).__module__])\n";
    let run = ctx.run(["exec", &pid, "-c", check]);
    run.expect_code(0)
        .stdout_has("tools []")
        .stdout_has("threads ['MainThread']")
        .stdout_has("modules []")
        .stdout_has("hooks []");
}
