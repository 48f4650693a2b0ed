//! Two borescope builds on one machine (an installed one and a development build, or a build and
//! its rebuild): each runs its own daemon with its own sessions, `sessions` of one says what the
//! other holds, and neither ever stops the other's daemon or programs.

use crate::{ctx, python};
use borescope_test::{pid_is_gone, TestContext};
use std::path::PathBuf;

/// A copy of the binary under test with another modification time: another build identity.
fn other_build(ctx: &TestContext) -> PathBuf {
    let copy = ctx.root.join("other-build/borescope");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(ctx.bin(), &copy).unwrap();
    let past = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options().write(true).open(&copy).unwrap().set_modified(past).unwrap();
    copy
}

fn session_pid(run: &borescope_test::Run, name: &str) -> i64 {
    let json = run.json();
    let sessions = json["sessions"].as_array().expect("sessions");
    let session = sessions.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no session {name}: {json:#}"));
    session["pid"].as_i64().expect("pid")
}

#[test]
fn two_builds_keep_their_own_daemons_and_say_what_the_other_holds() {
    let ctx = ctx();
    let other = other_build(&ctx);
    let spin = ctx.fixture("python", "spin.py");
    let spin = spin.to_str().unwrap();
    ctx.run(["start", "--run", "--session", "one", "--", &python(), spin]).expect_code(0);
    let one = session_pid(&ctx.run(["sessions", "--json"]), "one");

    // The other build has no session of its own and says, in one line, who holds `one`.
    let listed = ctx.run_bin(&other, ["sessions"]);
    insta::assert_snapshot!("other_build_sessions", listed.snapshot());
    let json = ctx.run_bin(&other, ["sessions", "--json"]).json();
    assert_eq!(json["sessions"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["other_builds"][0]["sessions"], serde_json::json!(["one"]), "{json:#}");
    assert_eq!(json["other_builds"][0]["executable"], ctx.bin().display().to_string(), "{json:#}");
    ctx.run_bin(&other, ["status", "--session", "one"])
        .expect_code(2)
        .stderr_has("no session `one` in this borescope build; another build's daemon has it")
        .stderr_has(&ctx.bin().display().to_string());

    // The other build starts its own daemon beside the first, which keeps its session.
    ctx.run_bin(&other, ["start", "--run", "--session", "two", "--", &python(), spin]).expect_code(0);
    let two = session_pid(&ctx.run_bin(&other, ["sessions", "--json"]), "two");
    let daemons = ctx.daemon_pids();
    assert_eq!(daemons.len(), 2, "one daemon per build: {daemons:?}");
    assert!(daemons.iter().all(|pid| !pid_is_gone(i64::from(*pid))), "both daemons run");
    ctx.run(["sessions"])
        .expect_code(0)
        .stdout_has("one [python")
        .stdout_has(&format!("another borescope build has 1 session: two (use `{}` to reach it", other.display()));

    // Ending one build's session leaves the other's alone, and the other way round.
    ctx.run_bin(&other, ["stop", "--session", "two"]).expect_code(0).stdout_has("Session `two` stopped");
    assert!(pid_is_gone(two), "the other build's program ended");
    assert!(!pid_is_gone(one), "this build's program must keep running");
    ctx.run(["status", "--session", "one"]).expect_code(0).stdout_has("running");
    ctx.run(["stop", "--session", "one"]).expect_code(0);
    assert!(pid_is_gone(one));
    let after = ctx.run(["sessions"]);
    after.expect_code(0).stdout_has("(no sessions)");
    assert!(!after.stdout.contains("another borescope build"), "{}", after.stdout);
}

/// A long-running borescope (`borescope mcp`) whose executable file is replaced (a rebuild, an
/// upgrade) still starts a daemon of its own build, not one of the new file's.
#[test]
fn a_running_borescope_keeps_its_build_after_its_file_is_replaced() {
    use std::io::{BufRead, Write};
    let ctx = ctx();
    let copy = other_build(&ctx);
    let mut server = ctx
        .isolated(&copy)
        .arg("mcp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = server.stdin.take().unwrap();
    let mut output = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut call = |message: serde_json::Value, answered: bool| -> serde_json::Value {
        writeln!(input, "{message}").unwrap();
        input.flush().unwrap();
        if !answered {
            return serde_json::Value::Null;
        }
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    call(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
        true,
    );
    call(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), false);
    // The file is replaced while the server runs (no daemon has been started yet).
    std::fs::remove_file(&copy).unwrap();
    std::fs::copy(ctx.bin(), &copy).unwrap();
    let answer = call(
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_sessions", "arguments": {}}}),
        true,
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_ne!(answer["result"]["isError"], true, "{answer:#}");
    assert!(answer["result"]["content"][0]["text"].as_str().is_some_and(|t| t.contains("(no sessions)")), "{answer:#}");
}
