//! Every bad input: a one-line error naming the fix, exit code 2, and the program never runs.

use crate::{ctx, each_python, Py};
use insta::assert_snapshot;

fn bad(args: &[&str]) -> (String, i32) {
    let ctx = ctx();
    ctx.fixture("python", "flow.py");
    ctx.fixture("python", "lines.py");
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    let run = ctx.run(&all);
    (run.snapshot().to_string(), run.code)
}

#[test]
fn missing_file() {
    let (out, code) = bad(&["nope.py:3"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn line_past_the_end() {
    let (out, code) = bad(&["flow.py:400"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn blank_line_names_neighbours() {
    let (out, code) = bad(&["flow.py:10"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn comment_line() {
    let (out, code) = bad(&["lines.py:12"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn not_file_colon_line() {
    let (out, code) = bad(&["flow.py"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn hit_zero_and_hit_with_hits() {
    assert_eq!(bad(&["flow.py:8", "--hit", "0"]).1, 2);
    let (out, code) = bad(&["flow.py:8", "--hit", "2", "--hits", "2"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn env_without_equals() {
    let (out, code) = bad(&["flow.py:8", "--env", "NOEQUALS"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn unknown_command() {
    let (out, code) = bad(&["flow.py:8", "--", "no-such-interpreter-xyz", "flow.py"]);
    assert_eq!(code, 2);
    assert!(out.contains("command not found: `no-such-interpreter-xyz` is not on the program's PATH"), "{out}");
}

#[test]
fn missing_script() {
    let (out, code) = bad(&["flow.py:8", "--", "python3", "nosuch.py"]);
    assert_eq!(code, 2);
    assert!(out.contains("script not found: `nosuch.py`"), "{out}");
}

#[test]
fn missing_interpreter() {
    let (out, code) = bad(&["flow.py:8", "--python", "/nonexistent/python3"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

#[test]
fn bad_timeout() {
    let (out, code) = bad(&["flow.py:8", "--timeout", "-1"]);
    assert_eq!(code, 2);
    assert_snapshot!(out);
}

each_python!(docstring_middle_is_refused_by_the_interpreter, |ctx, py| {
    let file = ctx.fixture("python", "lines.py");
    let mut args = vec!["probe".to_string(), "lines.py:3".into(), "--".into()];
    args.extend(py.cmd(&[file.to_str().unwrap()]));
    let run = ctx.run(&args);
    // Which neighbour holds code is the interpreter's call (3.11 puts none on the docstring).
    run.expect_code(2).stderr_has("lines.py:3`: no code on this line; nearest lines with code: ").stderr_has(", 5");
    assert!(run.stdout.is_empty());
    let _ = Py::Host;
});

each_python!(bad_condition_syntax_is_refused_before_running, |ctx, py| {
    let file = ctx.fixture("python", "never.py");
    let mut args = vec!["probe".to_string(), "never.py:5".into(), "--if".into(), "x >".into(), "--".into()];
    args.extend(py.cmd(&[file.to_str().unwrap()]));
    let run = ctx.run(&args);
    run.expect_code(2).stderr_has("--if `x >` is not a valid expression");
    assert!(!run.stdout.contains("hello from never.py"), "the program must not run");
});

each_python!(bad_eval_syntax_is_refused_before_running, |ctx, py| {
    let file = ctx.fixture("python", "never.py");
    let mut args = vec!["probe".to_string(), "never.py:5".into(), "--eval".into(), "1 +* 2".into(), "--".into()];
    args.extend(py.cmd(&[file.to_str().unwrap()]));
    ctx.run(&args).expect_code(2).stderr_has("--eval `1 +* 2` is not a valid expression");
});

#[test]
fn isolated_python_never_loads_the_agent_and_says_so() {
    let ctx = ctx();
    let file = ctx.fixture("python", "never.py");
    let python = borescope_test::interpreters::host_python();
    let run = ctx.run(["probe", "never.py:5", "--", python.to_str().unwrap(), "-I", file.to_str().unwrap()]);
    run.expect_code(1).stdout_has("agent never started");
}
