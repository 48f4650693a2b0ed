//! Every way attach or exec is refused, each with the precise reason and the fix.

use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;
use insta::assert_snapshot;

#[test]
fn a_blocked_main_thread_is_diagnosed_and_another_thread_can_take_over() {
    let ctx = ctx();
    fixture(&ctx, "sleeper.py");
    let target = TargetProcess::plain(&ctx.work(), &["sleeper.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    let blocked = ctx.run(["attach", &pid, "--timeout", "1"]);
    blocked.expect_code(1).stderr_has("main thread did not run Python code").stderr_has("sleeper.py:15)").stderr_has("hrtimer_nanosleep");
    assert_snapshot!("blocked_main_thread", blocked.snapshot());
    // The request was withdrawn: the program is untouched and another thread can run the job.
    assert!(target.is_running());
    let tid = blocked
        .stderr
        .split("--thread ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .expect("a thread suggestion")
        .to_string();
    ctx.run(["exec", &pid, "--thread", &tid, "-c", "import threading; print(threading.current_thread().name)"])
        .expect_code(0)
        .stdout_has("worker");
    ctx.run(["attach", &pid, "--thread", &tid]).expect_code(0).stdout_has("started by thread `worker`");
    // Detach asks the same thread, so it completes although the main thread still sleeps.
    let stopped = ctx.run(["stop"]);
    stopped.expect_code(0).stdout_has("detached");
    assert!(!stopped.stdout.contains("not unloaded"), "{}", stopped.stdout);
}

#[test]
fn disabled_remote_debugging_is_respected() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let by_env = TargetProcess::plain(&ctx.work(), &["service.py"], &[("PYTHON_DISABLE_REMOTE_DEBUG", "1")]);
    let by_flag = TargetProcess::plain(&ctx.work(), &["-X", "disable-remote-debug", "service.py"], &[]);
    ready(&by_env);
    ready(&by_flag);
    let env = ctx.run(["attach", &by_env.pid.to_string()]);
    env.expect_code(2).stderr_has("its environment sets PYTHON_DISABLE_REMOTE_DEBUG=1").stderr_has("will not attach");
    assert_snapshot!("disabled_by_environment", env.snapshot());
    ctx.run(["exec", &by_flag.pid.to_string(), "-c", "1"])
        .expect_code(2)
        .stderr_has("started with `-X disable-remote-debug`");
    let listed = ctx.run(["ps", "--json", "--interval", "0"]).json();
    let entry = listed["processes"].as_array().unwrap().iter().find(|p| p["pid"] == by_env.pid).expect("listed");
    assert_eq!(entry["attachable"], false);
    assert!(entry["why_not"].as_str().unwrap().contains("PYTHON_DISABLE_REMOTE_DEBUG"));
}

#[test]
fn older_pythons_missing_pids_and_non_python_processes() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    // 3.9–3.13 are attached through ptrace and a pending call (`legacy`); 3.8 is refused.
    let old = TargetProcess::program(&ctx.work(), borescope_test::interpreters::pyenv_python("3.8"), &["service.py"]);
    ready(&old);
    let too_old = ctx.run(["attach", &old.pid.to_string()]);
    too_old.expect_code(2).stderr_has("runs Python 3.8").stderr_has("which borescope cannot attach to").stderr_has("hint: restart it under borescope");
    assert_snapshot!("python_too_old", too_old.snapshot());
    ctx.run(["exec", &old.pid.to_string(), "-c", "1"]).expect_code(2).stderr_has("runs Python 3.8");
    assert!(old.is_running());
    ctx.run(["attach", "4194303"]).expect_code(2).stderr_has("no process with pid 4194303");
    let mut shell = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let not_python = ctx.run(["exec", &shell.id().to_string(), "-c", "1"]);
    let _ = shell.kill();
    let _ = shell.wait();
    not_python.expect_code(2).stderr_has("does not look like a CPython process");
}

#[test]
fn a_process_that_exits_during_attach_is_reported() {
    let ctx = ctx();
    fixture(&ctx, "dies.py");
    let target = TargetProcess::plain(&ctx.work(), &["dies.py"], &[]);
    ready(&target);
    ctx.run(["attach", &target.pid.to_string(), "--timeout", "30"])
        .expect_code(1)
        .stderr_has(&format!("pid {} exited during attach", target.pid));
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn another_user_without_the_capability_gets_the_exact_cause() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = TargetProcess::plain(&ctx.work(), &["service.py"], &[]);
    ready(&target);
    // borescope as `nobody`, with no capabilities at all, against a root-owned process. The
    // binary is copied where `nobody` may run it.
    let bin = ctx.root.join("borescope-copy");
    std::fs::copy(ctx.bin(), &bin).unwrap();
    let private = |path: &std::path::Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    private(&ctx.root, 0o755);
    private(&bin, 0o755);
    let output = ctx
        .isolated("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(&bin)
        .args(["exec", &target.pid.to_string(), "-c", "1"])
        .env("HOME", "/tmp")
        .env("BORESCOPE_RUNTIME_DIR", "/tmp/borescope-test-nobody")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("runs as user `root` (uid 0) and borescope runs as uid 65534 without CAP_SYS_PTRACE"), "{stderr}");
    assert!(stderr.contains("hint: run borescope as root"), "{stderr}");
}
