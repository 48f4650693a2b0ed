//! The full command flow and what each command prints.

use crate::{ctx, python};
use insta::assert_snapshot;

#[test]
fn full_session_flow() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let file = file.to_str().unwrap();
    let py = python();

    let start = ctx.run(["start", "--break", "flow.py:34", "--", &py, file]);
    start.expect_code(0);
    assert_snapshot!("start_stops_at_first_breakpoint", start.snapshot());

    let vars = ctx.run(["vars"]);
    vars.expect_code(0).stdout_has("argv: list = []");
    let eval = ctx.run(["eval", "len(argv) + 40"]);
    eval.expect_code(0).stdout_has("len(argv) + 40: int = 40");
    // After `--` the words are one expression; options before it still count.
    let words = ctx.run(["eval", "--json", "--", "len(argv)", "+", "2"]).json();
    assert_eq!(words["result"]["value"]["value"], "2");

    let step = ctx.run(["step"]);
    step.expect_code(0).stdout_has("Stopped after step at flow.py:8 in add");
    let stack = ctx.run(["stack"]);
    assert_snapshot!("stack_after_step_in", stack.snapshot());

    let out = ctx.run(["out"]);
    out.expect_code(0).stdout_has("flow.py:34 in main");
    let next = ctx.run(["next"]);
    next.expect_code(0).stdout_has("Stopped after step at flow.py:35 in main").stdout_has("total: int = 2");

    ctx.run(["break", "flow.py:13"]).expect_code(0).stdout_has("#2 flow.py:13 [verified]");
    let hit = ctx.run(["continue"]);
    hit.expect_code(0).stdout_has("Stopped at breakpoint flow.py:13 in worker (thread Worker-7, hit 1)");

    let threads = ctx.run(["threads"]);
    threads.expect_code(0).stdout_has("--- threads (* = current thread) ---\n").stdout_has("MainThread");
    assert!(threads.stdout.lines().any(|l| l.starts_with("* ") && l.contains("Worker-7")), "{}", threads.stdout);

    ctx.run(["break", "--delete", "flow.py:13"]).expect_code(0).stdout_has("deleted the breakpoint at flow.py:13");
    let listed = ctx.run(["break", "--list"]);
    assert_snapshot!("breakpoint_list", listed.snapshot());

    ctx.run(["break", "flow.py:19", "--if", "i == 2"]).expect_code(0);
    let cond = ctx.run(["continue"]);
    cond.expect_code(0).stdout_has("i: int = 2");
    let frame = ctx.run(["frame", "1"]);
    frame.expect_code(0).stdout_has("--- locals (frame #1 main").stdout_has("thread: Thread");
    ctx.run(["eval", "out"]).expect_code(0).stdout_has("out: list = [49]");
    ctx.run(["vars", "thread"]).expect_code(0).stdout_has("--- thread (frame #1 main").stdout_has("name: str = 'Worker-7'");

    ctx.run(["break", "--clear"]).expect_code(0);
    let end = ctx.run(["continue"]);
    end.expect_code(0).stdout_has("Program exited (exit code 0)").stdout_has("values [0, 1, 4, 9]");
    let status = ctx.run(["status"]);
    status.expect_code(0).stdout_has("exited (exit code 0)");
    let output = ctx.run(["output"]);
    output.expect_code(0).stdout_has("out| gathered [2, 4]");
    let stop = ctx.run(["stop"]);
    stop.expect_code(0).stdout_has("Session `default` stopped: the program had already exited (exit code 0)");
    ctx.run(["status"]).expect_code(2).stderr_has("no session `default`");
}

#[test]
fn uncaught_exception_stops_with_its_frames() {
    let ctx = ctx();
    let file = ctx.fixture("python", "boom.py");
    let start = ctx.run(["start", "--stop-on-entry", "--", &python(), file.to_str().unwrap()]);
    start.expect_code(0).stdout_has("Stopped on entry at boom.py:1");
    let stop = ctx.run(["continue"]);
    assert_snapshot!("uncaught_exception", stop.snapshot());
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 1)");
}

#[test]
fn a_stop_nobody_waited_for_is_shown_before_resuming() {
    let ctx = ctx();
    // The program raises only once the test lets it, so `start` always answers while it runs.
    let go = ctx.work().join("go");
    let file = ctx.write(
        "late_boom.py",
        &format!(
            "import os, time\nwhile not os.path.exists({go:?}):\n    time.sleep(0.01)\n{{'a': 1}}['missing']\n",
            go = go.to_str().unwrap()
        ),
    );
    ctx.run(["start", "--run", "--", &python(), file.to_str().unwrap()])
        .expect_code(0)
        .stdout_has("is running")
        .stdout_has("the program runs; set breakpoints");
    std::fs::write(&go, "").unwrap();
    // Wait until the exception has stopped the program, without resuming it.
    for _ in 0..200 {
        if ctx.run(["status"]).stdout.contains("paused") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("Uncaught exception KeyError")
        .stdout_has("the program stopped here after the previous command; it was not resumed");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 1)");
}

#[test]
fn raised_mode_stops_at_caught_exceptions() {
    let ctx = ctx();
    let file = ctx.write(
        "caught.py",
        "def f():\n    try:\n        {}['k']\n    except KeyError:\n        return 'handled'\n\nprint(f())\n",
    );
    ctx.run(["start", "--exceptions", "raised", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let stop = ctx.run(["continue"]);
    stop.expect_code(0).stdout_has("Exception raised KeyError").stdout_has("caught.py:3");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 0)");
}

#[test]
fn logpoint_never_pauses_and_logs() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    ctx.run(["start", "--stop-on-entry", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("Stopped on entry");
    ctx.run(["break", "flow.py:19", "--log", "square of {i}"]).expect_code(0).stdout_has("log \"square of {i}\"");
    let end = ctx.run(["continue"]);
    end.expect_code(0).stdout_has("Program exited (exit code 0)");
    let output = ctx.run(["output"]);
    output.stdout_has("square of 0").stdout_has("square of 3");
}

#[test]
fn hit_count_breakpoint() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    ctx.run(["start", "--stop-on-entry", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    ctx.run(["break", "flow.py:19", "--hit", "3"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("i: int = 2").stdout_has("(thread MainThread, hit 3)");
}

#[test]
fn json_answers_carry_the_schema() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let start = ctx.run(["start", "--json", "--break", "flow.py:8", "--", &python(), file.to_str().unwrap()]);
    let report = start.json();
    assert_eq!(report["schema"], "borescope.session/1");
    assert_eq!(report["type"], "report");
    assert_eq!(report["state"], "paused");
    assert_eq!(report["stop"]["function"], "add");
    assert_eq!(report["stop"]["location"]["line"], 8);
    let vars = ctx.run(["vars", "--json"]).json();
    assert_eq!(vars["type"], "variables");
    assert_eq!(vars["variables"][0]["name"], "a");
    let eval = ctx.run(["eval", "a + b", "--json"]).json();
    assert_eq!(eval["result"]["value"]["value"], "2");
    let sessions = ctx.run(["sessions", "--json"]).json();
    assert_eq!(sessions["sessions"][0]["name"], "default");
    assert_eq!(sessions["sessions"][0]["state"], "paused");
}

#[test]
fn eval_errors_are_reported_not_fatal() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    ctx.run(["start", "--break", "flow.py:8", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    ctx.run(["eval", "undefined_name"]).expect_code(1).stdout_has("error: NameError: name 'undefined_name' is not defined");
    let failed = ctx.run(["eval", "undefined_name", "--json"]);
    failed.expect_code(1);
    assert!(failed.json()["result"]["error"].as_str().is_some_and(|e| e.contains("NameError")));
    ctx.run(["frame", "9"]).expect_code(2).stderr_has("there is no frame 9; the stack has 3 frames (frames 0-2 can be selected)");
    ctx.run(["vars", "a"]).expect_code(0).stdout_has("a: int = 0");
}

#[test]
fn python_314_session_with_older_debugpy() {
    let ctx = ctx();
    let file = ctx.fixture("python", "boom.py");
    let in_sid = borescope_test::interpreters::in_sid();
    let start = ctx.run(["start", "--break", "boom.py:2", "--", in_sid.to_str().unwrap(), "python3.14", file.to_str().unwrap()]);
    start.expect_code(0).stdout_has("Stopped at breakpoint boom.py:2 in lookup");
    ctx.run(["eval", "key"]).expect_code(0).stdout_has("key: str = 'missing'");
    let exception = ctx.run(["continue"]);
    exception.expect_code(0).stdout_has("Uncaught exception KeyError: 'missing'");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 1)");
}
