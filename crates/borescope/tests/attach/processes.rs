//! `ps` and `exec`.

use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;
use insta::assert_snapshot;

#[test]
fn ps_lists_versions_read_from_the_processes_and_who_can_be_attached() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let new = TargetProcess::plain(&ctx.work(), &["service.py", "plainmarker"], &[]);
    let legacy = TargetProcess::host(&ctx.work(), &["service.py", "legacymarker"]);
    let python38 = borescope_test::interpreters::pyenv_python("3.8");
    let old = TargetProcess::program(&ctx.work(), &python38, &["service.py", "oldmarker"]);
    let old_too = TargetProcess::program(&ctx.work(), &python38, &["service.py", "oldmarker"]);
    let boxed = TargetProcess::container(&ctx.work(), &["--pid"], &["python3.14", "service.py", "boxmarker"], &[]);
    for target in [&new, &legacy, &old, &old_too, &boxed] {
        ready(target);
    }
    let listed = ctx.run(["ps", "--json", "--name", "marker"]);
    listed.expect_code(0);
    let json = listed.json();
    assert_eq!(json["schema"], "borescope.ps/1");
    let find = |pid: u32| json["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).cloned().unwrap_or_else(|| panic!("pid {pid} missing: {json:#}"));
    let plain = find(new.pid);
    assert_eq!(plain["python"], "3.14.10");
    assert_eq!(plain["python_source"], "debug_offsets");
    assert_eq!(plain["attachable"], true);
    assert_eq!(plain["container"], false);
    assert!(plain["rss_bytes"].as_u64().unwrap() > 1_000_000);
    assert!(plain["cpu_percent"].as_f64().is_some());
    assert_eq!(plain["method"], "pep768");
    let through_ptrace = find(legacy.pid);
    assert!(through_ptrace["python"].as_str().unwrap().starts_with("3.11"), "{through_ptrace:#}");
    assert_eq!(through_ptrace["python_source"], "py_version");
    assert_eq!(through_ptrace["attachable"], true);
    assert_eq!(through_ptrace["method"], "ptrace");
    let older = find(old.pid);
    assert!(older["python"].as_str().unwrap().starts_with("3.8"), "{older:#}");
    assert_eq!(older["python_source"], "file_name");
    assert_eq!(older["attachable"], false);
    assert_eq!(older["method"], serde_json::Value::Null);
    assert!(older["why_not"].as_str().unwrap().contains("needs 3.9"), "{older:#}");
    let container = find(boxed.pid);
    assert_eq!(container["container"], true);
    assert_eq!(container["pid_inside"], 1);
    assert_eq!(container["attachable"], true);

    // The reason both old processes share is said once, under the table.
    let text = ctx.run(["ps", "--name", "oldmarker", "--interval", "0"]);
    let (first, second) = (old.pid.min(old_too.pid), old.pid.max(old_too.pid));
    text.expect_code(0)
        .stdout_has(&format!("2 processes run Python older than 3.9 (pids {first}, {second}): attach and exec need 3.9+"));
    assert_eq!(text.stdout.matches("3.9").count(), 2, "one note, not one per process:\n{}", text.stdout);
    // The version cell as ps shows it, then CPU% and RSS, which change from run to run.
    let columns = regex::Regex::new(r" (3\.8\S*) +\S+ +\S+ ").unwrap();
    assert_eq!(columns.find_iter(&text.stdout).count(), 2, "{}", text.stdout);
    let stable = columns
        .replace_all(&text.stdout, " $1  [CPU]  [RSS] ")
        .replace(&first.to_string(), "[PID1]")
        .replace(&second.to_string(), "[PID2]")
        .replace(&std::process::id().to_string(), "[PPID]");
    // Column widths follow the pids' digits; compare the cells, not the padding.
    let stable: String = ctx.filter(&stable).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n");
    assert_snapshot!("ps_text", stable);
    let none = ctx.run(["ps", "--name", "no-such-process-anywhere", "--interval", "0"]);
    none.expect_code(0).stdout_has("(no Python processes)");
}

#[test]
fn exec_runs_code_and_returns_only_its_own_output() {
    let ctx = ctx();
    fixture(&ctx, "chatty.py");
    let target = TargetProcess::plain(&ctx.work(), &["chatty.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    let code = "import __main__, time\nfor i in range(3):\n    print('line', i)\n    time.sleep(0.01)\nprint(__main__.SETTINGS)";
    let run = ctx.run(["exec", &pid, "-c", code]);
    run.expect_code(0);
    assert_eq!(run.stdout, "line 0\nline 1\nline 2\n{'mode': 'fast', 'retries': 3}\n", "the chatter thread's ticks must not be captured");
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let failing = ctx.run(["exec", &pid, "-c", "print('before')\nraise KeyError('missing')"]);
    failing.expect_code(1);
    assert_snapshot!("exec_traceback", failing.snapshot());

    let script = ctx.write("inspect_me.py", "import sys\nprint(sys.version_info[:2])\nimport os\nos._exit\n");
    ctx.run(["exec", &pid, script.to_str().unwrap()]).expect_code(0).stdout_has("(3, 14)");
    let as_json = ctx.run(["exec", &pid, "-c", "print(40 + 2)", "--json"]);
    let report = as_json.json();
    assert_eq!(report["schema"], "borescope.exec/1");
    assert_eq!(report["stdout"], "42\n");
    assert_eq!(report["thread"], "MainThread");
    // SystemExit in injected code never ends the program.
    ctx.run(["exec", &pid, "-c", "raise SystemExit(3)"]).expect_code(1).stderr_has("SystemExit: 3");
    ctx.run(["exec", &pid, "-c", "syntax error here"]).expect_code(1).stderr_has("SyntaxError");
    // Nothing of borescope's stays loaded between execs: only the running job's own modules.
    ctx.run(["exec", &pid, "-c", "import sys; print(sorted(m for m in sys.modules if m.startswith('borescope')))"])
        .expect_code(0)
        .stdout_has("['borescope_agent', 'borescope_agent.remote']");
    assert!(target.is_running());
    assert!(target.output().contains("tick"), "the program's own output still flows");
    ctx.run(["exec", &pid]).expect_code(2).stderr_has("SCRIPT.py");
    ctx.run(["exec", &pid, "missing.py"]).expect_code(2).stderr_has("cannot read `missing.py`");
}

#[test]
fn exec_reads_the_main_scripts_globals_and_keeps_its_own_assignments() {
    let ctx = ctx();
    fixture(&ctx, "chatty.py");
    let target = TargetProcess::plain(&ctx.work(), &["chatty.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    let exec = |code: &str| ctx.run(["exec", &pid, "-c", code]);

    // The main script's global by its name, also from a function the snippet defines.
    exec("print(SETTINGS['mode'])").expect_code(0).stdout_has("fast");
    exec("import json\nSETTINGS = 'shadow'\ndef dump():\n    return json.dumps([SETTINGS, threading.current_thread().name])\nprint(dump())")
        .expect_code(0)
        .stdout_has(r#"["shadow", "MainThread"]"#);
    // Neither the assignment nor the import reached the program.
    exec("import __main__\nprint(SETTINGS, hasattr(__main__, 'json'), hasattr(__main__, 'dump'), __name__)")
        .expect_code(0)
        .stdout_has("{'mode': 'fast', 'retries': 3} False False __borescope_exec__");
    let missing = exec("print(no_such_name)");
    missing.expect_code(1).stderr_has("NameError: name 'no_such_name' is not defined");
    assert!(!missing.stderr.contains("KeyError"), "the lookup chain must not show: {}", missing.stderr);
    // Changing a global on purpose, as the help says.
    exec("import __main__; __main__.SETTINGS = {'mode': 'slow'}").expect_code(0);
    exec("print(SETTINGS)").expect_code(0).stdout_has("{'mode': 'slow'}");
    assert!(target.is_running());
}
