//! Node programs started by someone else with `--inspect`, reached by address: the same
//! commands, function breakpoints, path mappings, sources only V8 has, the program's end, and
//! detaching without ending it.

use crate::ctx;
use borescope_test::targets::{inspector_port, TargetProcess};
use insta::assert_snapshot;
use std::time::Duration;

/// `node --inspect=127.0.0.1:0 ARGS` in `cwd`, and its inspector's address.
fn inspected(cwd: &std::path::Path, args: &[&str]) -> (TargetProcess, String) {
    let mut all = vec!["--inspect=127.0.0.1:0"];
    all.extend_from_slice(args);
    let target = TargetProcess::program(cwd, "node", &all);
    let port = inspector_port(&target);
    (target, format!("127.0.0.1:{port}"))
}

#[test]
fn attach_to_node_inspect_drive_and_detach() {
    let ctx = ctx();
    ctx.fixture("node", "shop.js");
    let (target, address) = inspected(&ctx.work(), &["shop.js"]);
    target.wait_for("ready", Duration::from_secs(20));

    let attached = ctx.run(["attach", &address, "--break", "shop.js:13"]);
    attached.expect_code(0);
    // V8 replays the console messages it kept, so what the program printed before shows up as
    // output; how many ticks that is depends on timing.
    let shown: Vec<&str> = attached.snapshot().lines().filter(|l| !l.starts_with("out| ") && *l != "--- output ---").collect();
    assert_snapshot!("attached_by_address", shown.join("\n"));
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.js:13 in handle (thread main, hit 1)");
    ctx.run(["vars"]).expect_code(0).stdout_has("n: number = ");
    ctx.run(["break", "--function", "Shop.total"]).expect_code(0).stdout_has("#2 function Shop.total at shop.js:4 [verified]");
    ctx.run(["break", "--function", "other"]).expect_code(0).stdout_has("#3 function other at shop.js:9 [verified]");
    ctx.run(["break", "--delete", "shop.js:13"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.js:9 in other");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.js:4 in total");
    let source = ctx.run(["source", "-C", "1"]);
    source.expect_code(0);
    assert_snapshot!("source_of_the_frame", source.snapshot());
    ctx.run(["break", "--delete", "other"]).expect_code(0).stdout_has("deleted the breakpoint on function `other`");
    ctx.run(["sessions"]).expect_code(0).stdout_has(&format!("default [node attached] paused at shop.js:4 on a breakpoint (hit 1); 1 breakpoint; attach {address}"));

    // The program's console output is relayed over the inspector.
    ctx.run(["break", "--clear"]).expect_code(0);
    ctx.run(["continue", "--timeout", "1"]).expect_code(0).stdout_has("still running");
    ctx.run(["output"]).expect_code(0).stdout_has("out| tick ");
    ctx.run(["stop"]).expect_code(0).stdout_has("Session `default` detached; the process keeps running");
    let later = target.output().matches("tick ").count() + 2;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while target.output().matches("tick ").count() < later && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(target.output().matches("tick ").count() >= later, "the program runs on:\n{}", target.output());
    assert!(target.is_running());
}

#[test]
fn path_map_pairs_local_files_with_the_programs() {
    let ctx = ctx();
    let text = std::fs::read_to_string(ctx.fixture("node", "shop.js")).unwrap();
    ctx.write("remote/shop.js", &text);
    ctx.write("local/shop.js", &text);
    let remote_dir = ctx.work().join("remote");
    let (target, address) = inspected(&remote_dir, &["shop.js"]);
    target.wait_for("ready", Duration::from_secs(20));

    let map = format!("local={}", remote_dir.display());
    ctx.run(["attach", &address, "--path-map", &map, "--break", "local/shop.js:14"]).expect_code(0);
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint local/shop.js:14 in handle")
        .stdout_has("> 14 |   const mine = new Shop().total(n);");
    ctx.run(["break", "--function", "Shop.total"]).expect_code(0).stdout_has("function Shop.total at local/shop.js:4");
    ctx.run(["stop"]).expect_code(0);

    assert!(target.is_running());
}

#[test]
fn sources_only_v8_has() {
    let ctx = ctx();
    // A container's file: the program has it, this machine does not (any more).
    let file = ctx.write("beat.js", "function beat(n) {\n  debugger;\n  return n;\n}\nsetInterval(() => beat(1), 100);\n");
    let (target, address) = inspected(&ctx.work(), &[file.to_str().unwrap()]);
    ctx.run(["attach", &address]).expect_code(0);
    std::fs::remove_file(&file).unwrap();
    ctx.run(["continue"]).expect_code(0).stdout_has("beat.js:2 in beat").stdout_has("> 2 |   debugger;");
    ctx.run(["source", "-C", "1"]).expect_code(0).stdout_has("--- beat.js:2 (frame #0 beat) ---\n  1 | function beat(n) {\n> 2 |   debugger;\n  3 |   return n;\n");
    ctx.run(["break", "beat.js:3"]).expect_code(2).stderr_has("file not found");
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running());
}

#[test]
fn the_program_ending_while_attached() {
    let ctx = ctx();
    let file = ctx.write("short.js", "function work(n) {\n  return n + 1;\n}\nsetTimeout(() => console.log(work(41)), 200);\n");
    let target = TargetProcess::program(&ctx.work(), "node", &["--inspect-brk=127.0.0.1:0", file.to_str().unwrap()]);
    let address = format!("127.0.0.1:{}", inspector_port(&target));
    ctx.run(["attach", &address, "--break", "short.js:2"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint short.js:2 in work");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit status unknown)").stdout_has("out| 42");
    ctx.run(["status"]).expect_code(0).stdout_has("exited");
    ctx.run(["stop"]).expect_code(0).stdout_has("Session `default` stopped");
}

#[test]
fn function_breakpoints_in_a_started_session() {
    let ctx = ctx();
    ctx.run(["start", "--stop-on-entry", "--", "node", "orders.js"]).expect_code(0).stdout_has("Stopped on entry");
    // Function declarations are hoisted: `total` is known before its line runs.
    ctx.run(["break", "--function", "total", "--if", "list.length > 2"])
        .expect_code(0)
        .stdout_has("breakpoint #1 set on `total` (its body starts at line 17)");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint orders.js:17 in total");
    ctx.run(["break", "--list", "--json"]).json()["breakpoints"][0]["spec"]["function"]
        .as_str()
        .filter(|f| *f == "total")
        .expect("the function is listed");
    ctx.run(["break", "--delete", "total"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 0)");
    ctx.run(["stop"]).expect_code(0);

    ctx.run(["start", "--run", "--session", "spin", "--", "node", "spin.js"]).expect_code(0);
    ctx.run(["break", "--session", "spin", "--function", "tick"])
        .expect_code(2)
        .stderr_has("cannot find function `tick` while the program runs");
    ctx.run(["stop", "--session", "spin"]).expect_code(0);
}
