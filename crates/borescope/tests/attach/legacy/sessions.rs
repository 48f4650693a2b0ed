//! Full sessions and `exec` on Python 3.11–3.13: attach, break, continue, vars, eval, stop, and
//! attach again; a busy CPU loop; a container stand-in with its own namespaces.

use super::{entry_bytes, pending_call_pages, per_python, tracer, Py};
use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;

per_python!(attach_break_continue_vars_eval_stop_and_again, cycle);
per_python!(exec_runs_code_in_the_main_thread_and_returns_its_output, exec);
per_python!(a_busy_cpu_loop_is_attached_and_stopped_at_a_breakpoint, busy);

fn cycle(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = py.start(&ctx, &["service.py"]);
    ready(&target);
    let pid = target.pid.to_string();
    let entry = entry_bytes(target.pid);

    let attached = ctx.run(["attach", &pid]);
    attached.expect_code(0).stdout_has(&format!("attached to pid {pid}; the program keeps running"));
    if py.ships_debugpy() {
        attached.stdout_has("shipped in by borescope");
    }
    assert_eq!(tracer(target.pid), 0, "ptrace must be detached once the job is queued");
    assert_eq!(entry_bytes(target.pid), entry, "the entry point must be restored byte for byte");
    assert_eq!(pending_call_pages(target.pid), 0, "the pending call's page is unmapped once the job reported");
    ctx.run(["break", "service.py:8"]).expect_code(0).stdout_has("#1 service.py:8 [verified]");
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint service.py:8 in handle (thread MainThread, hit 1)");
    let locals = ctx.run(["vars"]);
    locals.expect_code(0).stdout_has("total: int = ").stdout_has("n: int = ");
    assert!(!locals.stdout.contains("label"), "line 8 has not run yet:\n{}", locals.stdout);
    ctx.run(["eval", "total == n * 2"]).expect_code(0).stdout_has("True");
    ctx.run(["eval", "__import__('sys').version_info[:2]"]).expect_code(0).stdout_has(&py.tuple());
    ctx.run(["stack"]).expect_code(0).stdout_has("main      service.py:17");

    let stopped = ctx.run(["stop"]);
    stopped.expect_code(0).stdout_has("Session `default` detached; the process keeps running");
    assert!(target.is_running(), "detach must leave the program running");
    assert_eq!(entry_bytes(target.pid), entry, "every injection restores the entry point");

    // Healthy after detach: no tracer, no debugger thread, and on the interpreters that got
    // borescope's debugpy, none of it left loaded.
    let probe = "import sys, threading; print(sys.gettrace(), sorted(t.name for t in threading.enumerate()), \
                 len(sys._current_frames()), sorted(m for m in sys.modules if 'pydev' in m or 'debugpy' in m)[:3])";
    let health = ctx.run(["exec", &pid, "-c", probe]);
    health.expect_code(0).stdout_has("None ['MainThread'] 1 ");
    // debugpy's output redirection and its per-thread state are undone too (the program's
    // own streams again; `exec` puts its capture in front of them only while it runs).
    let traces = "import sys, threading; print([type(getattr(s, '_original', s)).__name__ for s in (sys.stdout, sys.stderr)], \
                  sorted(a for a in vars(threading.main_thread()) if 'pydev' in a or a == 'additional_info'))";
    ctx.run(["exec", &pid, "-c", traces]).expect_code(0).stdout_has("['TextIOWrapper', 'TextIOWrapper'] []");
    if py.ships_debugpy() {
        health.stdout_has("None ['MainThread'] 1 []");
        // The copy's files are gone: nothing of it may stay reachable, or the program's own
        // `breakpoint()` raises `ModuleNotFoundError: No module named 'debugpy'`.
        ctx.run(["exec", &pid, "-c", "import sys; print(sys.breakpointhook is sys.__breakpointhook__)"])
            .expect_code(0)
            .stdout_has("True");
    }
    // And it can be attached again.
    ctx.run(["attach", &pid, "--session", "again", "--break", "service.py:9"]).expect_code(0).stdout_has("attached to pid");
    ctx.run(["continue", "--session", "again"]).expect_code(0).stdout_has("service.py:9 in handle").stdout_has("label: str = 'req-");
    ctx.run(["stop", "--session", "again"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
    assert_eq!(tracer(target.pid), 0);
}

fn exec(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "chatty.py");
    let target = py.start(&ctx, &["chatty.py"]);
    ready(&target);
    let pid = target.pid.to_string();
    let code = "import sys, threading\nfor i in range(3):\n    print('line', i)\nprint(sys.version_info[:2], threading.current_thread().name, SETTINGS)";
    let run = ctx.run(["exec", &pid, "-c", code]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!("line 0\nline 1\nline 2\n{} MainThread {{'mode': 'fast', 'retries': 3}}\n", py.tuple()),
        "the chatter thread's ticks must not be captured"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let report = ctx.run(["exec", &pid, "-c", "print(40 + 2)", "--json"]).json();
    assert_eq!(report["schema"], "borescope.exec/1");
    assert_eq!(report["stdout"], "42\n");
    assert_eq!(report["thread"], "MainThread");
    // An exception or SystemExit in the injected code is the snippet's, never the program's.
    ctx.run(["exec", &pid, "-c", "raise KeyError('missing')"]).expect_code(1).stderr_has("KeyError: 'missing'");
    ctx.run(["exec", &pid, "-c", "raise SystemExit(3)"]).expect_code(1).stderr_has("SystemExit: 3");
    // Nothing bound in the program's namespace by the pending call itself.
    ctx.run(["exec", &pid, "-c", "import __main__; print(sorted(n for n in vars(__main__) if 'borescope' in n or n in ('f', 'code')))"])
        .expect_code(0)
        .stdout_has("[]");
    assert!(target.is_running());
    assert!(target.output().contains("tick"), "the program's own output still flows");
    assert_eq!(tracer(target.pid), 0);
}

fn busy(py: Py) {
    let ctx = ctx();
    fixture(&ctx, "busy.py");
    let target = py.start(&ctx, &["busy.py"]);
    ready(&target);
    let pid = target.pid.to_string();
    ctx.run(["exec", &pid, "-c", "import __main__, threading; print(threading.current_thread().name, __main__.spin(3))"])
        .expect_code(0)
        .stdout_has("MainThread 5");
    ctx.run(["attach", &pid, "--break", "busy.py:17"]).expect_code(0).stdout_has("attached to pid");
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint busy.py:17 in spin (thread MainThread")
        .stdout_has("n: int = 5000");
    ctx.run(["eval", "total == sum(i * i for i in range(n))"]).expect_code(0).stdout_has("True");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
    // Still spinning: its CPU time keeps growing.
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<u64> = stat.rsplit_once(')').unwrap().1.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        fields[10] + fields[11]
    };
    let before = cpu();
    super::wait_until("the busy loop uses CPU again", || cpu() > before);
}

#[test]
fn python_313_in_a_container_with_its_own_namespaces() {
    let ctx = ctx();
    let (_dir, script, target) = crate::service_in_container(&ctx, "python3.13");
    let pid = target.pid.to_string();
    let entry = entry_bytes(target.pid);

    ctx.run(["exec", &pid, "-c", "import os, sys; print(os.getpid(), sys.version_info[:2])"])
        .expect_code(0)
        .stdout_has("1 (3, 13)");
    ctx.run(["attach", &pid, "--break", &format!("{script}:9")]).expect_code(0).stdout_has("attached to pid");
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has(&format!("Stopped at breakpoint {script}:9 in handle"))
        .stdout_has(">  9 |     return total")
        .stdout_has("label: str = 'req-");
    ctx.run(["vars"]).expect_code(0).stdout_has("total: int = ");
    ctx.run(["eval", "__import__('os').getpid()"]).expect_code(0).stdout_has("int = 1");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
    assert_eq!(entry_bytes(target.pid), entry);
    assert_eq!(tracer(target.pid), 0);

    ctx.run(["attach", &pid, "--session", "again"]).expect_code(0).stdout_has("attached to pid");
    ctx.run(["stop", "--session", "again"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
}

/// The oldest supported interpreters (pyenv builds): they export no `Py_Version`, so their
/// version comes from the file name; the pending call and a session work the same.
#[test]
fn python_39_and_310_run_exec_and_a_session() {
    for minor in ["3.9", "3.10"] {
        let ctx = ctx();
        fixture(&ctx, "service.py");
        let target = TargetProcess::program(&ctx.work(), borescope_test::interpreters::pyenv_python(minor), &["service.py"]);
        ready(&target);
        let pid = target.pid.to_string();
        let tuple = format!("(3, {})", &minor[2..]);
        ctx.run(["exec", &pid, "-c", "import sys, threading; print(sys.version_info[:2], threading.current_thread().name)"])
            .expect_code(0)
            .stdout_has(&format!("{tuple} MainThread"));
        ctx.run(["attach", &pid, "--break", "service.py:9"]).expect_code(0).stdout_has("shipped in by borescope");
        ctx.run(["continue"]).expect_code(0).stdout_has("service.py:9 in handle").stdout_has("label: str = 'req-");
        ctx.run(["eval", "__import__('sys').version_info[:2]"]).expect_code(0).stdout_has(&tuple);
        ctx.run(["stop"]).expect_code(0).stdout_has("detached");
        assert!(target.is_running(), "Python {minor}");
        assert_eq!(tracer(target.pid), 0);
        assert_eq!(pending_call_pages(target.pid), 0);
    }
}
