//! How `start` begins a session: held before the first line until the first run command,
//! commands that cannot start, standard input, conditions on `--break`, and `restart`.

use crate::{ctx, python};
use insta::assert_snapshot;

#[test]
fn start_holds_the_program_until_the_first_run_command() {
    let ctx = ctx();
    let file = ctx.fixture("python", "quick.py");
    let start = ctx.run(["start", "--", &python(), file.to_str().unwrap()]);
    start.expect_code(0);
    assert_snapshot!("held_start", start.snapshot());
    ctx.run(["status"]).expect_code(0).stdout_has("ready (held before its first line)");
    assert!(ctx.run(["output"]).stdout.contains("(no new output)"), "nothing ran yet");
    // A breakpoint on the very first line binds before any code runs.
    ctx.run(["break", "quick.py:1"]).expect_code(0).stdout_has("#1 quick.py:1 [verified]");
    ctx.run(["vars"]).expect_code(1).stderr_has("the program has not started");
    ctx.run(["out"]).expect_code(1).stderr_has("has not started");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.py:1 in <module>");
    ctx.run(["break", "quick.py:3"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.py:3").stdout_has("y: int = 2");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 0)").stdout_has("out| y 2");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn next_as_the_first_command_stops_at_the_first_line() {
    let ctx = ctx();
    let file = ctx.fixture("python", "quick.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("is ready");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped on entry at quick.py:1");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at quick.py:2").stdout_has("x: int = 1");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn run_flag_starts_at_once() {
    let ctx = ctx();
    // The program ends only once the test lets it, so `start` always answers while it runs.
    let file = ctx.write(
        "gated.py",
        "import os, sys, time\nwhile not os.path.exists('go'):\n    time.sleep(0.01)\nprint('hello from gated.py')\nsys.exit(3)\n",
    );
    ctx.run(["start", "--run", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("is running");
    ctx.write("go", "");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 3)");
    ctx.run(["output"]).expect_code(0).stdout_has("out| hello from gated.py");
    ctx.run(["start", "--run", "--stop-on-entry", "--", &python(), file.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn commands_that_cannot_start_are_refused_with_the_cause() {
    let ctx = ctx();
    let missing = ctx.run(["start", "--", &python(), "missing.py"]);
    missing.expect_code(2);
    assert_snapshot!("missing_script", missing.snapshot());
    let unknown = ctx.run(["start", "--", "nosuchcmd-borescope"]);
    unknown.expect_code(2);
    assert_snapshot!("unknown_command", unknown.snapshot());
    ctx.write("notexec.sh", "echo hi\n");
    ctx.run(["start", "--", "./notexec.sh"]).expect_code(2).stderr_has("`./notexec.sh` is not executable");
    ctx.run(["start", "--", "node", "missing.js"]).expect_code(2).stderr_has("script not found: `missing.js`");
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
}

#[test]
fn status_says_where_and_why_the_program_is_paused() {
    let ctx = ctx();
    let file = ctx.fixture("python", "boom.py");
    ctx.run(["start", "--run", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    // Nobody waits for the stop: `status` must find out where the program is by itself.
    let mut status = ctx.run(["status"]);
    for _ in 0..250 {
        if status.stdout.contains("paused") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        status = ctx.run(["status"]);
    }
    status.expect_code(0).stdout_has("paused at boom.py:2 on uncaught KeyError").stdout_has("Uncaught exception KeyError");
    ctx.run(["sessions"]).expect_code(0).stdout_has("paused at boom.py:2 on uncaught KeyError");
    let json = ctx.run(["status", "--json"]).json();
    assert_eq!(json["info"]["reason"]["kind"], "exception", "{json}");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn piped_standard_input_reaches_the_program() {
    let ctx = ctx();
    let file = ctx.fixture("python", "ask.py");
    let start = ctx.run_with_stdin(["start", "--", &python(), file.to_str().unwrap()], b"world\nmore\n");
    start.expect_code(0);
    assert!(!start.stdout.contains("borescope input"), "a forwarded stdin needs no `input`:\n{}", start.stdout);
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("out| name? hello world")
        .stdout_has("out| then ['more']");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn a_terminal_is_not_shared_and_input_is_typed_with_borescope_input() {
    let ctx = ctx();
    let file = ctx.fixture("python", "ask.py");
    let start = ctx.run_in_terminal(["start", "--", &python(), file.to_str().unwrap()]);
    start.expect_code(0).stdout_has("standard input: the program reads from borescope").stdout_has("borescope input 'TEXT'");
    ctx.run(["input", "world"]).expect_code(0).stdout_has("sent 6 bytes to the standard input of session `default`");
    ctx.run(["input", "a", "--no-newline"]).expect_code(0).stdout_has("sent 1 byte");
    ctx.run(["input", "b", "--eof"]).expect_code(0).stdout_has("closed it");
    ctx.run(["continue"]).expect_code(0).stdout_has("out| name? hello world").stdout_has("out| then ['ab']");
    ctx.run(["input", "late"]).expect_code(1).stderr_has("cannot type into the program: this program reads the standard input `start` was given");
    ctx.run(["input"]).expect_code(2);
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn start_break_takes_conditions_and_refuses_ones_that_do_not_compile() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let file = file.to_str().unwrap();
    let bad = ctx.run(["start", "--break", "flow.py:19", "--if", "i ==", "--", &python(), file]);
    bad.expect_code(2);
    assert_snapshot!("uncompilable_condition", bad.snapshot());
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
    ctx.run(["start", "--if", "i == 2", "--", &python(), file]).expect_code(2).stderr_has("add --break FILE:LINE");
    ctx.run(["start", "--break", "flow.py:19", "--if", "i == 2", "--", &python(), file])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint flow.py:19")
        .stdout_has("i: int = 2");
    // Set later, the same checks run in the program's own interpreter.
    ctx.run(["break", "flow.py:19", "--if", "i =="]).expect_code(2).stderr_has("--if `i ==` is not a valid expression: invalid syntax");
    ctx.run(["break", "flow.py:19", "--log", "i={i"]).expect_code(2).stderr_has("a `{` is never closed");
    ctx.run(["break", "flow.py:19", "--log", "i={i +}"]).expect_code(2).stderr_has("--log `i +` is not a valid expression");
    ctx.run(["break", "flow.py:19", "--log", "i={i}"]).expect_code(0).stdout_has("[verified]");
    let list = ctx.run(["break", "--list"]);
    assert!(!list.stdout.contains("i =="), "a refused condition is not kept:\n{}", list.stdout);
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn restart_runs_the_program_again_with_its_breakpoints() {
    let ctx = ctx();
    let file = ctx.fixture("python", "quick.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let first_pid = ctx.run(["sessions", "--json"]).json()["sessions"][0]["pid"].as_i64().unwrap();
    ctx.run(["break", "quick.py:3"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.py:3");
    let restarted = ctx.run(["restart"]);
    restarted.expect_code(0).stdout_has("is ready");
    assert!(borescope_test::pid_is_gone(first_pid), "the old run is ended");
    ctx.run(["break", "--list"]).expect_code(0).stdout_has("#1 quick.py:3 [verified]");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.py:3").stdout_has("y: int = 2");
    ctx.run(["stop"]).expect_code(0);
    ctx.run(["restart"]).expect_code(2).stderr_has("no session `default`");
}

#[test]
fn restart_keeps_a_break_start_running_to_its_first_stop() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    ctx.run(["start", "--break", "flow.py:8", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("flow.py:8");
    let again = ctx.run(["restart", "--json"]).json();
    assert_eq!(again["stop"]["location"]["line"], 8, "{again}");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn break_after_the_program_ended_is_kept_for_restart() {
    let ctx = ctx();
    let file = ctx.fixture("python", "quick.py");
    ctx.run(["start", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 0)");
    // Neither hangs nor fails: the program is gone, so the change waits for `restart`.
    ctx.run(["break", "quick.py:2"])
        .expect_code(0)
        .stdout_has("breakpoint #1 set; the program has ended, so it takes effect when `borescope restart` runs it again");
    ctx.run(["threads"]).expect_code(1).stderr_has("the program has exited (exit code 0)");
    ctx.run(["restart"]).expect_code(0).stdout_has("is ready");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.py:2").stdout_has("x: int = 1");
    ctx.run(["stop"]).expect_code(0);
}
