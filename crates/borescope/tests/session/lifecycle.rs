//! How sessions start, fail to start, and end, and that nothing is left behind.

use crate::{ctx, python};
use borescope_test::pid_is_gone;

fn debuggee_pid(ctx: &borescope_test::TestContext) -> i64 {
    let sessions = ctx.run(["sessions", "--json"]).json();
    sessions["sessions"][0]["pid"].as_i64().expect("pid")
}

#[test]
fn interpreter_without_debugpy_gets_the_exact_fix() {
    let ctx = ctx();
    let file = ctx.fixture("python", "never.py");
    let bare = borescope_test::interpreters::bare_venv_python();
    let run = ctx.run(["start", "--", bare.to_str().unwrap(), file.to_str().unwrap()]);
    run.expect_code(2)
        .stderr_has("cannot import debugpy")
        .stderr_has(&format!("`{} -m pip install debugpy`", bare.display()))
        .stderr_has("--provision-debugpy");
    assert!(!run.stdout.contains("hello from never.py"));
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn provisioned_debugpy_is_used_only_with_consent() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let bare = borescope_test::interpreters::bare_venv_python();
    let run = ctx.run(["start", "--provision-debugpy", "--break", "flow.py:8", "--", bare.to_str().unwrap(), file.to_str().unwrap()]);
    run.expect_code(0).stdout_has("Stopped at breakpoint flow.py:8 in add");
    assert!(ctx.cache.join("debugpy").is_dir(), "debugpy went into borescope's cache");
    let origin = ctx.run(["eval", "__import__('debugpy').__file__"]);
    origin.expect_code(0).stdout_has(&ctx.cache.join("debugpy").display().to_string());
}

#[test]
fn bad_breakpoint_starts_nothing() {
    let ctx = ctx();
    let file = ctx.fixture("python", "never.py");
    ctx.run(["start", "--break", "never.py:2", "--", &python(), file.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("`never.py:2`: no code on this line (blank line); nearest lines with code: 1, 4");
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
    ctx.run(["start", "--break", "missing.py:2", "--", &python(), file.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("file not found");
}

#[test]
fn commands_without_a_session_say_how_to_start_one() {
    let ctx = ctx();
    ctx.run(["vars"]).expect_code(2).stderr_has("no session `default`").stderr_has("borescope start");
    ctx.run(["status", "--session", "../evil"]).expect_code(2).stderr_has("is not allowed");
}

#[test]
fn program_end_is_reported_at_once_with_its_code() {
    let ctx = ctx();
    let file = ctx.fixture("python", "never.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    // `continue` on a program that exits reports the exit; later commands say it too.
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 3)");
    for command in [["next"], ["step"], ["continue"]] {
        ctx.run(command).expect_code(0).stdout_has("Program exited (exit code 3)");
    }
    ctx.run(["vars"]).expect_code(1).stderr_has("the program has exited (exit code 3)");
}

#[test]
fn running_program_can_be_paused_and_commands_say_it_runs() {
    let ctx = ctx();
    let file = ctx.fixture("python", "spin.py");
    ctx.run(["start", "--run", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("is running");
    ctx.run(["vars"]).expect_code(1).stderr_has("the program is running");
    let waited = ctx.run(["continue", "--timeout", "0.5"]);
    waited.expect_code(0).stdout_has("is running").stdout_has("still running after 0.5s");
    let paused = ctx.run(["pause"]);
    paused.expect_code(0).stdout_has("Paused at").stdout_has("spin.py");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn killed_debuggee_is_reported_truthfully() {
    let ctx = ctx();
    let file = ctx.fixture("python", "spin.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let pid = debuggee_pid(&ctx);
    borescope_test::kill9(pid);
    let run = ctx.run(["continue"]);
    run.expect_code(0).stdout_has("Program exited (killed by signal 9)");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn stop_kills_the_program_and_its_children() {
    let ctx = ctx();
    let file = ctx.write(
        "parent.py",
        "import subprocess, sys, time\nchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\nprint('child', child.pid, flush=True)\ntime.sleep(60)\n",
    );
    ctx.run(["start", "--run", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let pid = debuggee_pid(&ctx);
    let mut child_pid = None;
    for _ in 0..200 {
        let output = ctx.run(["output"]).stdout;
        if let Some(line) = output.lines().find(|l| l.contains("child ")) {
            child_pid = line.split_whitespace().last().and_then(|p| p.parse::<i64>().ok());
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let child_pid = child_pid.expect("child started");
    ctx.run(["stop"]).expect_code(0).stdout_has("stopped: the program was ended by SIGTERM");
    assert!(pid_is_gone(pid), "debuggee left behind");
    for _ in 0..100 {
        if pid_is_gone(child_pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(pid_is_gone(child_pid), "debuggee's child left behind");
}

/// A program that handles SIGTERM in one of three ways: `exit` (print, exit 3 from the handler),
/// `flag` (the handler only asks the loop to finish; the program then exits 4) or `ignore`.
fn sigterm_program(ctx: &borescope_test::TestContext, mode: &str) -> std::path::PathBuf {
    let handler = match mode {
        "exit" => "def on_term(signum, frame):\n    print('SIGTERM: cleaning up', flush=True)\n    sys.exit(3)\n",
        "flag" => "def on_term(signum, frame):\n    global running\n    print('SIGTERM: finishing', flush=True)\n    running = False\n",
        _ => "on_term = signal.SIG_IGN\n",
    };
    ctx.write(
        &format!("term_{mode}.py"),
        &format!(
            "import signal, sys, time\nrunning = True\n{handler}signal.signal(signal.SIGTERM, on_term)\nwhile running:\n    time.sleep(0.02)\nprint('loop done', flush=True)\nsys.exit(4)\n"
        ),
    )
}

/// The line of `time.sleep` in [`sigterm_program`]'s loop.
fn sleep_line(file: &std::path::Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().position(|l| l.contains("time.sleep(0.02)")).unwrap() + 1;
    format!("{}:{line}", file.file_name().unwrap().to_str().unwrap())
}

#[test]
fn stop_lets_a_paused_program_run_its_sigterm_handler() {
    let ctx = ctx();
    let file = sigterm_program(&ctx, "exit");
    ctx.run(["start", "--break", &sleep_line(&file), "--", &python(), file.to_str().unwrap()])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint");
    let pid = debuggee_pid(&ctx);
    let answer = ctx.run(["stop", "--json"]).json();
    assert_eq!(answer["ending"]["how"], "terminated", "{answer:#}");
    assert_eq!(answer["exit"]["code"], 3, "{answer:#}");
    assert!(answer["output"].to_string().contains("SIGTERM: cleaning up"), "{answer:#}");
    assert!(pid_is_gone(pid), "the program is left behind");
}

#[test]
fn stop_lets_a_paused_python_314_program_run_its_sigterm_handler() {
    // On 3.12+ (sys.monitoring) debugpy stops on the handler's SystemExit as an uncaught
    // exception; letting go of the debugger after SIGTERM lets the program exit anyway.
    let ctx = ctx();
    let file = sigterm_program(&ctx, "exit");
    let sid = borescope_test::interpreters::sid_python();
    ctx.run(["start", "--break", &sleep_line(&file), "--", sid.to_str().unwrap(), file.to_str().unwrap()])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint");
    let pid = debuggee_pid(&ctx);
    ctx.run(["stop"])
        .expect_code(0)
        .stdout_has("Session `default` stopped: the program exited with code 3 on SIGTERM")
        .stdout_has("out| SIGTERM: cleaning up");
    assert!(pid_is_gone(pid), "the program is left behind");
}

#[test]
fn stop_resumes_a_paused_program_whose_handler_only_sets_a_flag() {
    // The handler returns; the program ends only if it runs on after it, so borescope must let
    // go of the debugger (breakpoints gone, threads resumed) once SIGTERM is sent.
    let ctx = ctx();
    let file = sigterm_program(&ctx, "flag");
    ctx.run(["start", "--break", &sleep_line(&file), "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let pid = debuggee_pid(&ctx);
    let stopped = ctx.run(["stop"]);
    insta::assert_snapshot!("stop_after_a_flag_setting_handler", stopped.snapshot());
    assert!(pid_is_gone(pid), "the program is left behind");
}

#[test]
fn a_program_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let ctx = ctx();
    let file = sigterm_program(&ctx, "ignore");
    ctx.run(["start", "--break", &sleep_line(&file), "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let pid = debuggee_pid(&ctx);
    ctx.run(["stop"])
        .expect_code(0)
        .stdout_has("Session `default` stopped: the program did not end within 2 s of SIGTERM and was killed (SIGKILL)");
    assert!(pid_is_gone(pid), "the program is left behind");
    let json = ctx.run(["sessions", "--json"]).json();
    assert_eq!(json["sessions"].as_array().map(Vec::len), Some(0), "{json:#}");
}

#[test]
fn stopping_a_program_that_already_exited_says_so() {
    let ctx = ctx();
    let file = ctx.fixture("python", "never.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 3)");
    ctx.run(["stop"]).expect_code(0).stdout_has("stopped: the program had already exited (exit code 3)");
}

#[test]
fn killed_daemon_is_noticed_and_its_programs_ended() {
    let ctx = ctx();
    let file = ctx.fixture("python", "spin.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let pid = debuggee_pid(&ctx);
    let daemon = ctx.daemon_pids()[0];
    borescope_test::kill9(daemon as i64);
    for _ in 0..200 {
        if pid_is_gone(daemon as i64) && pid_is_gone(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(pid_is_gone(pid), "the debuggee died with its daemon");
    let run = ctx.run(["status"]);
    run.expect_code(1).stderr_has("ended when the previous session daemon stopped unexpectedly");
    ctx.run(["sessions"]).expect_code(0).stdout_has("lost when the previous daemon stopped");
    ctx.run(["stop"]).expect_code(1);
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn two_named_sessions_at_once() {
    let ctx = ctx();
    let flow = ctx.fixture("python", "flow.py");
    let boom = ctx.fixture("python", "boom.py");
    ctx.run(["start", "--session", "one", "--break", "flow.py:8", "--", &python(), flow.to_str().unwrap()]).expect_code(0);
    ctx.run(["start", "--session", "two", "--break", "boom.py:2", "--", &python(), boom.to_str().unwrap()]).expect_code(0);
    ctx.run(["eval", "a + b", "--session", "one"]).expect_code(0).stdout_has("a + b: int = 2");
    ctx.run(["eval", "-s", "two", "key"]).expect_code(0).stdout_has("key: str = 'missing'");
    let list = ctx.run(["sessions"]);
    list.expect_code(0).stdout_has("one [python").stdout_has("two [python");
    ctx.run(["start", "--session", "one", "--", &python(), flow.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("session `one` is already debugging");
    ctx.run(["stop", "-s", "one"]).expect_code(0);
    ctx.run(["stop", "-s", "two"]).expect_code(0);
}

#[test]
fn runtime_dir_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let ctx = ctx();
    std::fs::create_dir_all(&ctx.runtime).unwrap();
    std::fs::set_permissions(&ctx.runtime, std::fs::Permissions::from_mode(0o777)).unwrap();
    ctx.run(["sessions"]).expect_code(1).stderr_has("chmod 700");
}

#[test]
fn a_daemon_that_still_holds_the_lock_is_waited_for() {
    // A daemon exiting after its idle time still holds the lock for a moment after its socket
    // is gone; a command that starts a new daemon then must retry, not fail.
    let ctx = ctx();
    ctx.run(["sessions"]).expect_code(0);
    let daemon = ctx.daemon_pids()[0];
    borescope_test::sigterm(i64::from(daemon));
    while !pid_is_gone(i64::from(daemon)) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let build = std::fs::read_dir(&ctx.runtime).unwrap().flatten().find(|e| e.file_name().to_string_lossy().starts_with("build-")).unwrap();
    let lock = std::fs::File::options().write(true).open(build.path().join("daemon.lock")).unwrap();
    lock.lock().unwrap();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(lock);
    });
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
    holder.join().unwrap();
}
