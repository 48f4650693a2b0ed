//! Snapshots of every report shape (host Python 3.11), with paths, pids and times filtered.

use crate::ctx;
use borescope_test::interpreters::host_python;
use insta::assert_snapshot;

fn probe(fixture: &str, args: &[&str]) -> (String, i32) {
    let ctx = ctx();
    let file = ctx.fixture("python", fixture);
    let python = host_python();
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    all.extend(["--", python.to_str().unwrap(), file.to_str().unwrap()]);
    let run = ctx.run(&all);
    (run.snapshot().to_string(), run.code)
}

#[test]
fn breakpoint_report() {
    let (out, code) = probe("flow.py", &["flow.py:8", "--eval", "a * 10"]);
    assert_eq!(code, 0);
    assert_snapshot!(out);
}

#[test]
fn exception_report() {
    let (out, code) = probe("boom.py", &["boom.py:3"]);
    assert_eq!(code, 1);
    assert_snapshot!(out);
}

#[test]
fn not_reached_report() {
    let (out, code) = probe("never.py", &["never.py:5"]);
    assert_eq!(code, 1);
    assert_snapshot!(out);
}

#[test]
fn timeout_report() {
    let (out, code) = probe("spin.py", &["spin.py:9", "--if", "not ready", "--timeout", "1"]);
    assert_eq!(code, 1);
    assert_snapshot!(out);
}

#[test]
fn several_hits_report() {
    let (out, code) = probe("flow.py", &["flow.py:19", "--hits", "2", "--max-vars", "2"]);
    assert_eq!(code, 0);
    assert_snapshot!(out);
}

#[test]
fn hits_then_exception_report() {
    let (out, code) = probe("steps.py", &["steps.py:2", "--hits", "5"]);
    assert_eq!(code, 1);
    assert_snapshot!(out);
}

#[test]
fn budgets_announce_every_cut() {
    let (out, code) = probe("big.py", &["big.py:9", "--max-vars", "8", "--max-value", "40"]);
    assert_eq!(code, 0);
    assert!(out.contains("more locals not shown (limit 8) (--max-vars N shows more)"), "{out}");
    assert!(out.contains("values longer than 40 characters were cut (--max-value N shows more)"), "{out}");
    assert_snapshot!(out);
}

#[test]
fn depth_and_redaction() {
    let (out, code) = probe("big.py", &["big.py:9", "--max-vars", "100", "--depth", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("nested: dict = {'level1': {'level2': {...1 item}}}"), "{out}");
    assert!(out.contains("api_token: str = <redacted>"), "{out}");
    assert!(out.contains("'password': <redacted>"), "{out}");
    let (shown, _) = probe("big.py", &["big.py:9", "--max-vars", "100", "--no-redact"]);
    assert!(shown.contains("api_token: str = 'tok-123'"), "{shown}");
    // An --eval that reads a secret-looking name is hidden the same way.
    let (out, _) = probe("big.py", &["big.py:9", "--eval", "settings['password']", "--eval", "settings['user']"]);
    assert!(out.contains("settings['password']: str = <redacted>"), "{out}");
    assert!(out.contains("settings['user']: str = 'bob'"), "{out}");
    let (shown, _) = probe("big.py", &["big.py:9", "--eval", "settings['password']", "--no-redact"]);
    assert!(shown.contains("settings['password']: str = 's3cret'"), "{shown}");
}

#[test]
fn total_size_cap() {
    let (out, code) = probe("big.py", &["big.py:9", "--max-output", "700", "--max-vars", "100"]);
    assert_eq!(code, 0);
    assert!(out.contains("report cut at"), "{out}");
    assert_snapshot!(out);
}

#[test]
fn json_schema_fields() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let python = host_python();
    let run = ctx.run(["probe", "--json", "flow.py:8", "--", python.to_str().unwrap(), file.to_str().unwrap()]);
    let report = run.json();
    assert_eq!(report["schema"], "borescope.probe/1");
    for key in ["outcome", "language", "engine", "runtime", "locations", "command", "pid", "stops", "hits_requested", "timeout_secs", "output", "elapsed_ms"] {
        assert!(report.get(key).is_some(), "missing {key}: {report:#}");
    }
    let stop = &report["stops"][0];
    for key in ["reason", "location", "function", "thread", "source", "stack", "frame_index", "locals"] {
        assert!(stop.get(key).is_some(), "missing stop.{key}: {stop:#}");
    }
    assert_eq!(stop["source"]["current_line"], 8);
}
