//! Full sessions on attached processes: a plain one, one in a container, one without debugpy.

use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;
use insta::assert_snapshot;

#[test]
fn attach_drive_detach_and_attach_again() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = TargetProcess::plain(&ctx.work(), &["service.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();

    let attached = ctx.run(["attach", &pid]);
    attached.expect_code(0).stdout_has(&format!("attached to pid {pid}; the program keeps running"));
    assert_snapshot!("attached", attached.snapshot());
    ctx.run(["break", "service.py:8"]).expect_code(0).stdout_has("#1 service.py:8 [verified]");

    let hit = ctx.run(["continue"]);
    hit.expect_code(0).stdout_has("Stopped at breakpoint service.py:8 in handle (thread MainThread, hit 1)");
    let locals = ctx.run(["vars"]);
    locals.expect_code(0).stdout_has("total: int = ");
    assert!(!locals.stdout.contains("label"), "line 8 has not run yet:\n{}", locals.stdout);
    ctx.run(["eval", "total == n * 2"]).expect_code(0).stdout_has("True");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at service.py:9 in handle").stdout_has("label: str = 'req-");
    ctx.run(["stack"]).expect_code(0).stdout_has("#1   main      service.py:17");
    ctx.run(["threads"]).expect_code(0).stdout_has("MainThread");
    ctx.run(["break", "service.py:18", "--if", "n % 5 == 0"]).expect_code(0).stdout_has("#2 service.py:18 if n % 5 == 0 [verified]");
    ctx.run(["break", "--delete", "service.py:8"]).expect_code(0);
    let conditional = ctx.run(["continue"]);
    conditional.expect_code(0).stdout_has("service.py:18 in main");
    let n: u64 = conditional
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("n: int = "))
        .and_then(|v| v.trim().parse().ok())
        .expect("n in the locals");
    assert_eq!(n % 5, 0, "the condition held:\n{}", conditional.stdout);
    ctx.run(["sessions"]).expect_code(0).stdout_has("attached pid").stdout_has("paused");
    let ports = |ctx: &borescope_test::TestContext| {
        let listed = ctx.run(["ps", "--json", "--interval", "0"]).json();
        let entry = listed["processes"].as_array().unwrap().iter().find(|p| p["pid"] == target.pid).cloned().expect("listed");
        entry["ports"].as_array().cloned().unwrap_or_default()
    };
    assert_eq!(ports(&ctx).len(), 1, "debugpy listens while attached");

    let stopped = ctx.run(["stop"]);
    stopped.expect_code(0).stdout_has("Session `default` detached; the process keeps running");
    assert!(target.is_running(), "detach must leave the program running");
    assert!(ports(&ctx).is_empty(), "debugpy must stop listening on detach");

    // Healthy after detach: no tracer, no debugger threads, no borescope module but the one
    // running this very check, and still working.
    let probe = "import sys, threading; print(sys.gettrace(), sys.monitoring.get_tool(sys.monitoring.DEBUGGER_ID), \
                 sorted(t.name for t in threading.enumerate()), sorted(m for m in sys.modules if m.startswith('borescope')), \
                 'threads running:', len(sys._current_frames()))";
    // `threading.enumerate` hides pydevd's own threads; `_current_frames` sees every thread.
    ctx.run(["exec", &pid, "-c", probe])
        .expect_code(0)
        .stdout_has("None None ['MainThread'] ['borescope_agent', 'borescope_agent.remote'] threads running: 1");
    let leftovers: Vec<_> = std::fs::read_dir("/tmp").unwrap().flatten().filter(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.starts_with("borescope-attach-") || name.starts_with("borescope-detach-")
    }).filter(|e| e.path().join("job.json").exists() && std::fs::read_to_string(e.path().join("job.json")).unwrap_or_default().contains(&pid)).collect();
    assert!(leftovers.is_empty(), "files left in the target: {leftovers:?}");

    // And it can be attached again.
    ctx.run(["attach", &pid, "--session", "again"]).expect_code(0).stdout_has("attached to pid");
    ctx.run(["stop", "--session", "again"]).expect_code(0);
    assert!(target.is_running());
}

#[test]
fn container_with_its_own_namespaces_and_files() {
    let ctx = ctx();
    // The test names its breakpoint by the container's path, which does not exist on the host.
    let (_dir, script, target) = crate::service_in_container(&ctx, "python3.14");
    let pid = target.pid.to_string();

    let attached = ctx.run(["attach", &pid, "--break", &format!("{script}:9")]);
    attached.expect_code(0);
    let hit = ctx.run(["continue"]);
    hit.expect_code(0)
        .stdout_has(&format!("Stopped at breakpoint {script}:9 in handle"))
        .stdout_has(">  9 |     return total")
        .stdout_has("label: str = 'req-");
    ctx.run(["eval", "__import__('os').getpid()"]).expect_code(0).stdout_has("int = 1");
    // `source` reads the container's file the way the stop report does.
    ctx.run(["source", "-C", "0"]).expect_code(0).stdout_has(&format!("--- {script}:9 (frame #0 handle) ---\n> 9 |     return total\n"));
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());

    // An editor on the host needs the container's paths mapped and a way into its network.
    let listening = ctx.run(["attach", &pid, "--listen-only", "--json"]);
    let report = listening.json();
    assert_eq!(report["schema"], "borescope.listen/1");
    assert_eq!(report["launch_json"]["pathMappings"][0]["remoteRoot"], "/");
    let notices = report["notices"].to_string();
    assert!(notices.contains("own network namespace"), "{notices}");
}

#[test]
fn a_debugpy_download_that_keeps_failing_says_why_and_leaves_nothing_behind() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = TargetProcess::plain(&ctx.work(), &["-S", "service.py"], &[]);
    ready(&target);
    let empty = ctx.root.join("no-wheels");
    std::fs::create_dir_all(&empty).unwrap();
    // The first command starts the daemon, which runs pip with this environment.
    let mut attach = ctx.command();
    attach.args(["attach", &target.pid.to_string()]).env("PIP_FIND_LINKS", &empty);
    ctx.run_command(attach)
        .expect_code(1)
        .stderr_has("cannot import debugpy, and borescope could not provide a copy")
        .stderr_has("pip failed 3 times: ERROR: ")
        .stderr_has("No matching distribution found for debugpy==")
        .stderr_has("-m pip install debugpy");
    let left: Vec<_> = std::fs::read_dir(ctx.cache.join("debugpy")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "no half-made copy is left: {left:?}");
    assert!(target.is_running());
}

#[test]
fn a_program_without_debugpy_gets_borescopes_copy_and_loses_it_on_detach() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    // -S: no site-packages, so the program cannot import debugpy.
    let target = TargetProcess::plain(&ctx.work(), &["-S", "service.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    ctx.run(["attach", &pid, "--no-ship-debugpy"])
        .expect_code(1)
        .stderr_has("cannot import debugpy")
        .stderr_has("-m pip install debugpy");
    ctx.run(["attach", &pid, "--break", "service.py:9"]).expect_code(0).stdout_has("shipped in by borescope");
    ctx.run(["continue"]).expect_code(0).stdout_has("service.py:9 in handle");
    ctx.run(["stop"]).expect_code(0);
    let modules = "import sys; print(sorted(m for m in sys.modules if 'pydev' in m or 'debugpy' in m))";
    ctx.run(["exec", &pid, "-c", modules]).expect_code(0).stdout_has("[]");
}

#[test]
fn attached_values_follow_the_probe_rule_even_after_an_exec() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = TargetProcess::plain(&ctx.work(), &["service.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    ctx.run(["attach", &pid]).expect_code(0);
    // An exec while attached imports borescope's package afresh from its own directory, which
    // is removed afterwards: the session must still reach the agent it values come from.
    ctx.run(["exec", &pid, "-c", "print('between')"]).expect_code(0).stdout_has("between");
    ctx.run(["break", "service.py:9"]).expect_code(0);
    let hit = ctx.run(["continue"]);
    hit.expect_code(0).stdout_has("Stopped at breakpoint service.py:9 in handle (thread MainThread, hit 1)");
    // Definition order (n, total, label), where debugpy's own listing is alphabetical.
    let text = &hit.stdout;
    let at = |name: &str| text.find(&format!("\n{name}: ")).unwrap_or_else(|| panic!("no {name} in\n{text}"));
    assert!(at("n") < at("total") && at("total") < at("label"), "definition order:\n{text}");
    ctx.run(["eval", "total = -1"]).expect_code(0).stdout_has("total: int = -1");
    ctx.run(["vars"]).expect_code(0).stdout_has("total: int = -1");
    ctx.run(["eval", "import os"]).expect_code(0).stdout_has("(ran; a statement has no value)");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
}

#[test]
fn a_shipped_debugpy_is_compiled_once_for_the_interpreter_and_shipped_compiled() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    // A virtualenv of the host's Python without debugpy: borescope ships its copy.
    let python = borescope_test::interpreters::bare_venv_python();
    let target = TargetProcess::program(&ctx.work(), &python, &["service.py"]);
    ready(&target);
    let pid = target.pid.to_string();
    let cached = "import debugpy; c = debugpy.__spec__.cached; print(c.split('/lib/')[1], open(c, 'rb').read(8)[4:8].hex())";
    ctx.run(["attach", &pid]).expect_code(0).stdout_has("shipped in by borescope");
    ctx.run(["stop"]).expect_code(0);
    // The daemon compiles the copy for this interpreter after the first attach.
    let stamp = || {
        std::fs::read_dir(ctx.cache.join("debugpy/1.8.22-bytecode"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| entry.path().join(".borescope-compiled").is_file())
    };
    let started = std::time::Instant::now();
    while !stamp() && started.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(stamp(), "no compiled copy in {}", ctx.cache.display());
    ctx.run(["attach", &pid]).expect_code(0).stdout_has("shipped in by borescope");
    // Hash-based, unchecked byte-code (flags 01): loaded whatever the copied files' times.
    ctx.run(["exec", &pid, "-c", cached]).expect_code(0).stdout_has("debugpy/__pycache__/__init__.cpython-311.pyc 01000000");
    ctx.run(["stop"]).expect_code(0);
    let modules = "import sys; print(sorted(m for m in sys.modules if 'pydev' in m or 'debugpy' in m))";
    ctx.run(["exec", &pid, "-c", modules]).expect_code(0).stdout_has("[]");
}
