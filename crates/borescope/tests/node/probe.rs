//! `borescope probe` on Node programs.

use crate::{ctx, local, probe_json};
use insta::assert_snapshot;

#[test]
fn breakpoint_is_reported_as_a_breakpoint_with_block_scopes() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["orders.js:20", "--eval", "subtotal * 2"], "orders.js");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["engine"], "cdp");
    let stop = &report["stops"][0];
    assert_eq!(stop["reason"]["kind"], "breakpoint", "V8 says `other`; it is a breakpoint");
    assert_eq!(stop["function"], "total");
    assert_eq!(local(stop, "subtotal"), "29.97", "const in the loop body (block scope)");
    assert_eq!(local(stop, "order"), "{item: 'widget', qty: 3, price: 9.99}");
    assert_eq!(local(stop, "sum"), "0", "let in the function (local scope)");
    assert!(local(stop, "list").starts_with("[{item: 'widget'"), "depth 2: {}", local(stop, "list"));
    assert_eq!(stop["evals"][0]["value"]["value"], "59.94");
    let frames = stop["stack"].as_array().unwrap();
    assert_eq!(frames[0]["kind"], "user");
    assert!(frames.iter().any(|f| f["kind"] == "runtime" && f["file"].as_str().unwrap_or("").starts_with("node:internal")), "{frames:?}");
    assert!(borescope_test::pid_is_gone(report["pid"].as_i64().unwrap()));
}

#[test]
fn report_shape() {
    let ctx = ctx();
    let run = ctx.run(["probe", "orders.js:20", "--", "node", "orders.js"]);
    run.expect_code(0);
    let text = ctx.filter(&run.stdout).replace(&node_version(), "[NODE]");
    assert_snapshot!(text);
}

fn node_version() -> String {
    let out = std::process::Command::new("node").arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn condition_hit_and_hits() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["orders.js:20", "--if", "order.qty < 3"], "orders.js");
    assert_eq!(code, 0);
    assert!(local(&report["stops"][0], "order").contains("gadget"));
    let (_, report) = probe_json(&ctx, &["orders.js:20", "--hit", "3"], "orders.js");
    assert!(local(&report["stops"][0], "order").contains("gizmo"));
    assert_eq!(report["stops"][0]["reason"]["hit"], 3);
    let (_, report) = probe_json(&ctx, &["orders.js:20", "--hits", "2"], "orders.js");
    let stops = report["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 2);
    assert!(local(&stops[1], "order").contains("gadget"));
}

#[test]
fn closure_line_and_lazily_required_module() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["lib/helper.js:3"], "orders.js");
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["function"], "shout");
    assert_eq!(local(stop, "loud"), "'DONE'");
}

#[test]
fn uncaught_exception() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["throws.js:3"], "throws.js");
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "exception");
    let stop = &report["stops"][0];
    assert_eq!(stop["reason"]["type_name"], "TypeError");
    assert!(stop["reason"]["message"].as_str().unwrap().contains("Cannot read properties of undefined"), "{stop:#}");
    assert_eq!(stop["location"]["line"], 2);
    assert_eq!(stop["function"], "parse");
}

#[test]
fn exit_without_reaching() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["never.js:2"], "never.js");
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "not_reached");
    assert_eq!(report["exit"]["code"], 3);
    let lines = report["output"]["lines"].to_string();
    assert!(lines.contains("hello from never.js") && lines.contains("to stderr"), "{lines}");
    assert!(!lines.contains("Debugger listening"), "inspector chatter is not program output: {lines}");
    assert!(report["notices"].to_string().contains("line 2 never ran"));
}

#[test]
fn timeout_pauses_to_show_where_it_was() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["spin.js:3", "--if", "ticks > 1e9", "--timeout", "1"], "spin.js");
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "timeout");
    assert!(report["threads"][0]["stack"].is_array());
    assert!(borescope_test::pid_is_gone(report["pid"].as_i64().unwrap()));
}

#[test]
fn es_module_and_async_stack() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["app.mjs:5"], "app.mjs");
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["function"], "fetchValue");
    assert_eq!(local(stop, "doubled"), "40");
    let names: Vec<&str> = stop["stack"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert!(names.contains(&"async pipeline"), "async callers are shown: {names:?}");
}

#[test]
fn paths_with_spaces_and_symlinks_bind() {
    let ctx = ctx();
    let (code, report) = probe_json(&ctx, &["dir with space/app.js:2"], "dir with space/app.js");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(local(&report["stops"][0], "greeting"), "'hello from a path with spaces'");
    std::os::unix::fs::symlink(ctx.work(), ctx.root.join("linked")).unwrap();
    let via_link = ctx.root.join("linked/orders.js");
    let location = format!("{}:17", via_link.display());
    let (code, report) = probe_json(&ctx, &[&location], via_link.to_str().unwrap());
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn blank_line_is_refused() {
    let ctx = ctx();
    ctx.run(["probe", "orders.js:15", "--", "node", "orders.js"])
        .expect_code(2)
        .stderr_has("`orders.js:15`: no code on this line (blank line); nearest lines with code: 14, 16");
    ctx.run(["probe", "orders.js:1", "--", "node", "orders.js"]).expect_code(2).stderr_has("comment line");
}

#[test]
fn non_node_launcher_is_refused_with_the_fix() {
    let ctx = ctx();
    ctx.run(["probe", "orders.js:20", "--", "bash", "-c", "node orders.js"])
        .expect_code(2)
        .stderr_has("run the script with node directly");
}

#[test]
fn a_condition_that_does_not_compile_is_bad_input_not_never_true() {
    let ctx = ctx();
    let run = ctx.run(["probe", "orders.js:20", "--if", "order.qty >", "--", "node", "orders.js"]);
    run.expect_code(2).stderr_has("--if `order.qty >` is not a valid expression: Unexpected token");
    assert!(!run.stdout.contains("never true"), "{}", run.stdout);
}
