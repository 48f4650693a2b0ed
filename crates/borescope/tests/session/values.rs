//! One capture rule: a session shows the values a probe shows at the same line (same locals,
//! order and text, same stack), on Python 3.11 and on 3.14 with Debian's older debugpy; drill-down,
//! `eval` of expressions and statements, redaction of secret-looking reads, and hit counts.

use crate::{ctx, python};
use borescope_test::TestContext;
use serde_json::Value;

/// Which interpreter a scenario runs on.
#[derive(Clone, Copy, Debug)]
enum Py {
    /// CPython 3.11 from the test venv (debugpy 1.8.22).
    Venv,
    /// CPython 3.14 in the sid rootfs (Debian's debugpy).
    Sid,
}

impl Py {
    fn cmd(self, file: &str) -> Vec<String> {
        match self {
            Py::Venv => vec![python(), file.to_string()],
            Py::Sid => vec![
                borescope_test::interpreters::in_sid().display().to_string(),
                "python3.14".into(),
                file.to_string(),
            ],
        }
    }
}

fn with_command(args: &[&str], command: &[String]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push("--".into());
    all.extend(command.iter().cloned());
    all
}

/// (name, type, value, redacted) of each local, in order.
fn locals(stop: &Value) -> Vec<(String, String, String, bool)> {
    stop["locals"]
        .as_array()
        .unwrap_or_else(|| panic!("no locals in {stop:#}"))
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or_default().to_string(),
                v["type_name"].as_str().unwrap_or_default().to_string(),
                v["value"].as_str().unwrap_or_default().to_string(),
                v["redacted"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// (function, file, line, kind) of each frame, innermost first.
fn stack(stop: &Value) -> Vec<(String, String, u64, String)> {
    stop["stack"]
        .as_array()
        .unwrap_or_else(|| panic!("no stack in {stop:#}"))
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The probe's stop and the session's first stop at `location` of `file`.
fn probe_and_session(ctx: &TestContext, py: Py, file: &str, location: &str) -> (Value, Value) {
    let probe = ctx.run(with_command(&["probe", "--json", location], &py.cmd(file)));
    let probe = probe.json()["stops"][0].clone();
    let start = ctx.run(with_command(&["start", "--json", "--break", location], &py.cmd(file)));
    start.expect_code(0);
    let session = start.json()["stop"].clone();
    ctx.run(["stop"]).expect_code(0);
    (probe, session)
}

fn same_values_as_a_probe(py: Py) {
    let ctx = ctx();
    let file = ctx.fixture("python", "values.py").display().to_string();
    for location in ["values.py:19", "values.py:24"] {
        let (probe, session) = probe_and_session(&ctx, py, &file, location);
        assert_eq!(locals(&session), locals(&probe), "{location} ({py:?}): session\n{session:#}\nprobe\n{probe:#}");
        assert_eq!(stack(&session), stack(&probe), "{location} ({py:?})");
        assert_eq!(session["frame_index"], probe["frame_index"], "{location} ({py:?})");
    }
    // What that rule is, in text: definition order, objects by their attributes, nested
    // containers with item counts, secrets hidden, modules/classes/functions hidden at module level.
    let start = ctx.run(with_command(&["start", "--break", "values.py:19"], &py.cmd(&file)));
    start.expect_code(0);
    let text = &start.stdout;
    let order: Vec<usize> = ["order_id:", "config:", "zeta:", "alpha:", "nested:", "password:"]
        .iter()
        .map(|name| text.find(&format!("\n{name}")).unwrap_or_else(|| panic!("no {name} in\n{text}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "definition order:\n{text}");
    start
        .stdout_has("alpha: Plain = Plain(name='first', tags=['a', 'b'])")
        .stdout_has("nested: dict = {'outer': {'inner': [...3 items]}, 'api_key': <redacted>}")
        .stdout_has("password: str = <redacted>")
        .stdout_has("config: dict = {'user': 'bob', 'api_key': <redacted>}");
    ctx.run(["stop"]).expect_code(0);
    let start = ctx.run(with_command(&["start", "--break", "values.py:24"], &py.cmd(&file)));
    start.expect_code(0).stdout_has("LIMIT: int = 3").stdout_has("outcome: tuple = (7, 1)");
    for hidden in ["json:", "os:", "Plain:", "handle:"] {
        assert!(!start.stdout.contains(hidden), "{hidden} is hidden at module level:\n{}", start.stdout);
    }
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn session_shows_what_a_probe_shows_python311() {
    same_values_as_a_probe(Py::Venv);
}

#[test]
fn session_shows_what_a_probe_shows_python314() {
    same_values_as_a_probe(Py::Sid);
}

#[test]
fn exception_stop_shows_the_whole_traceback_like_a_probe() {
    let ctx = ctx();
    let file = ctx
        .write("parse.py", "import json\n\n\ndef parse(text):\n    data = json.loads(text)\n    return data\n\n\nparse('{bad')\n")
        .display()
        .to_string();
    let probe = ctx.run(with_command(&["probe", "--json", "parse.py:6"], &Py::Venv.cmd(&file)));
    let probe = probe.json()["stops"][0].clone();
    ctx.run(with_command(&["start", "--stop-on-entry"], &Py::Venv.cmd(&file))).expect_code(0);
    let stopped = ctx.run(["continue", "--json"]);
    let session = stopped.json()["stop"].clone();
    assert_eq!(stack(&session), stack(&probe), "session\n{session:#}\nprobe\n{probe:#}");
    assert_eq!(session["frame_index"], 3, "the user frame is selected: {session:#}");
    assert_eq!(session["reason"]["raised_at"], probe["reason"]["raised_at"]);
    assert_eq!(locals(&session), locals(&probe));
    let text = ctx.run(["status"]);
    text.expect_code(0).stdout_has("raised at ").stdout_has("decoder.py");
    ctx.run(["stack"]).expect_code(0).stdout_has("#0-#2 ... 3 runtime frames (decoder.py, __init__.py)");
    // A library frame of the traceback can be selected like any other.
    ctx.run(["frame", "0"]).expect_code(0).stdout_has("raw_decode").stdout_has("s: str = '{bad'");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn vars_path_lists_items_and_attributes() {
    let ctx = ctx();
    let file = ctx.fixture("python", "values.py").display().to_string();
    ctx.run(with_command(&["start", "--break", "values.py:19"], &Py::Venv.cmd(&file))).expect_code(0);
    ctx.run(["vars", "alpha"])
        .expect_code(0)
        .stdout_has("--- alpha (frame #0 handle")
        .stdout_has("name: str = 'first'")
        .stdout_has("tags: list = ['a', 'b']");
    ctx.run(["vars", "nested"])
        .expect_code(0)
        .stdout_has("['outer']: dict = {'inner': [1, 2, 3]}")
        .stdout_has("['api_key']: str = <redacted>");
    ctx.run(["vars", "nested['outer']['inner']"]).expect_code(0).stdout_has("[0]: int = 1").stdout_has("[2]: int = 3");
    ctx.run(["vars", "zeta"]).expect_code(0).stdout_has("zeta: int = 1");
    ctx.run(["vars", "password"]).expect_code(0).stdout_has("password: str = <redacted>");
    ctx.run(["--no-redact", "vars", "password"]).expect_code(0).stdout_has("password: str = 'hunter2'");
    ctx.run(["vars", "nope"]).expect_code(2).stderr_has("cannot read `nope`: NameError: name 'nope' is not defined");
    let json = ctx.run(["vars", "--json", "alpha"]).json();
    assert_eq!(json["variables"][1]["name"], "tags");
    assert_eq!(json["variables"][1]["expandable"], true, "{json:#}");
    ctx.run(["stop"]).expect_code(0);
}

fn eval_runs_statements_in_the_frame(py: Py) {
    let ctx = ctx();
    let file = ctx.fixture("python", "values.py").display().to_string();
    ctx.run(with_command(&["start", "--break", "values.py:19"], &py.cmd(&file))).expect_code(0);
    ctx.run(["eval", "zeta = 5"]).expect_code(0).stdout_has("zeta: int = 5");
    ctx.run(["vars"]).expect_code(0).stdout_has("zeta: int = 5");
    ctx.run(["eval", "a, b = zeta + 1, 'x'"]).expect_code(0).stdout_has("a: int = 6").stdout_has("b: str = 'x'");
    ctx.run(["eval", "for i in range(2): pass"]).expect_code(0).stdout_has("(ran; a statement has no value)");
    ctx.run(["eval", "None"]).expect_code(0).stdout_has("None: NoneType = None");
    ctx.run(["eval", "[zeta for _ in range(2)]"]).expect_code(0).stdout_has("[zeta for _ in range(2)]: list = [5, 5]");
    ctx.run(["eval", "alpha"]).expect_code(0).stdout_has("alpha: Plain = Plain(name='first', tags=['a', 'b'])");
    ctx.run(["eval", "1/0"]).stdout_has("error: ZeroDivisionError: division by zero");
    // Secret-looking reads are hidden like `vars` hides them, unless asked not to.
    ctx.run(["eval", "password"]).expect_code(0).stdout_has("password: str = <redacted>");
    ctx.run(["eval", "config['api_key']"]).expect_code(0).stdout_has("config['api_key']: str = <redacted>");
    ctx.run(["eval", "config"]).expect_code(0).stdout_has("{'user': 'bob', 'api_key': <redacted>}");
    ctx.run(["--no-redact", "eval", "password"]).expect_code(0).stdout_has("password: str = 'hunter2'");
    let json = ctx.run(["eval", "--json", "zeta = 6"]).json();
    assert_eq!(json["result"]["statement"]["assigned"][0]["name"], "zeta", "{json:#}");
    assert_eq!(json["result"]["statement"]["assigned"][0]["value"], "6", "{json:#}");
    assert!(json["result"].get("value").is_none(), "{json:#}");
    // debugpy hands the agent's answer over whole, however long.
    let long = ctx.run(["eval", "--json", "--max-value", "200000", "'x' * 150000"]).json();
    assert_eq!(long["result"]["value"]["value"].as_str().map(str::len), Some(150_002), "quotes included");
    // The program runs on with the value the statement wrote.
    ctx.run(["next"]).expect_code(0).stdout_has("result: tuple = (7, 6)");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn eval_runs_statements_in_the_frame_python311() {
    eval_runs_statements_in_the_frame(Py::Venv);
}

#[test]
fn eval_runs_statements_in_the_frame_python314() {
    eval_runs_statements_in_the_frame(Py::Sid);
}

#[test]
fn stop_headers_count_hits_per_breakpoint() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py").display().to_string();
    ctx.run(with_command(&["start", "--break", "flow.py:19"], &Py::Venv.cmd(&file)))
        .expect_code(0)
        .stdout_has("Stopped at breakpoint flow.py:19 in squares (thread MainThread, hit 1)");
    ctx.run(["continue"]).expect_code(0).stdout_has("(thread MainThread, hit 2)").stdout_has("i: int = 1");
    // A step that ends elsewhere is no hit; the next breakpoint stop goes on counting.
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at flow.py:20");
    ctx.run(["continue"]).expect_code(0).stdout_has("(thread MainThread, hit 3)").stdout_has("i: int = 2");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn without_the_agent_values_come_from_debugpy() {
    let ctx = ctx();
    // The program unloads borescope's package (which is not on sys.path): the session cannot
    // reach its agent and shows debugpy's own variables (alphabetical) instead of failing.
    let file = ctx.write(
        "unload.py",
        "import sys\nfor name in [m for m in sys.modules if m.startswith('borescope_agent')]:\n    del sys.modules[name]\nzeta = 1\nalpha = 41\nprint(alpha + zeta)\n",
    );
    let start = ctx.run(with_command(&["start", "--break", "unload.py:6"], &Py::Venv.cmd(&file.display().to_string())));
    start.expect_code(0).stdout_has("Stopped at breakpoint unload.py:6");
    let text = &start.stdout;
    let (alpha, zeta) = (text.find("\nalpha: int = 41"), text.find("\nzeta: int = 1"));
    assert!(alpha.is_some() && zeta.is_some() && alpha < zeta, "debugpy's listing:\n{text}");
    ctx.run(["eval", "alpha + zeta"]).expect_code(0).stdout_has("alpha + zeta: int = 42");
    ctx.run(["vars", "alpha"]).expect_code(0).stdout_has("alpha: int = 41");
    ctx.run(["stop"]).expect_code(0);
}
