//! Node sessions: the same commands as Python.

use crate::ctx;

#[test]
fn full_node_session() {
    let ctx = ctx();
    let start = ctx.run(["start", "--break", "orders.js:19", "--", "node", "orders.js"]);
    start.expect_code(0).stdout_has("Stopped at breakpoint orders.js:19 in total (thread main, hit 1)");
    ctx.run(["vars"]).expect_code(0).stdout_has("order: Object = {item: 'widget', qty: 3, price: 9.99}").stdout_has("sum: number = 0");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at orders.js:20 in total");
    ctx.run(["eval", "subtotal * 2"]).expect_code(0).stdout_has("subtotal * 2: number = 59.94");
    ctx.run(["vars", "order"]).expect_code(0).stdout_has("--- order (frame #0 total").stdout_has("item: string = 'widget'");
    let stack = ctx.run(["stack"]);
    stack.expect_code(0).stdout_has("#0   total").stdout_has("runtime frames");
    let frame = ctx.run(["frame", "1"]);
    frame.expect_code(0).stdout_has("taxed: function = [Function (anonymous)]");
    assert!(!frame.stdout.contains("__dirname"), "CommonJS wrapper parameters are hidden:\n{}", frame.stdout);
    ctx.run(["threads"]).expect_code(0).stdout_has("main");
    ctx.run(["break", "orders.js:11"]).expect_code(0);
    ctx.run(["break", "--delete", "orders.js:19"]).expect_code(0);
    let closure = ctx.run(["continue"]);
    closure.expect_code(0).stdout_has("Stopped at breakpoint orders.js:11");
    let vars = ctx.run(["vars", "--closures"]);
    // V8 keeps only the closure variables the inner function uses (`rate`, not `label`).
    vars.expect_code(0).stdout_has("amount: number").stdout_has("rate: number = 0.2");
    let plain = ctx.run(["vars"]);
    assert!(!plain.stdout.contains("rate"), "closure values only on request:\n{}", plain.stdout);
    ctx.run(["break", "--clear"]).expect_code(0);
    let end = ctx.run(["continue"]);
    end.expect_code(0).stdout_has("Program exited (exit code 0)").stdout_has("out| shout DONE!");
    ctx.run(["next"]).expect_code(0).stdout_has("Program exited (exit code 0)");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn pending_breakpoint_binds_when_the_module_loads() {
    let ctx = ctx();
    ctx.run(["start", "--stop-on-entry", "--", "node", "orders.js"]).expect_code(0).stdout_has("Stopped on entry at orders.js");
    let set = ctx.run(["break", "lib/helper.js:2"]);
    set.expect_code(0).stdout_has("lib/helper.js:2 [pending: script not loaded yet; binds when it loads]");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint lib/helper.js:2 in shout");
    ctx.run(["break", "--list"]).expect_code(0).stdout_has("lib/helper.js:2 [verified]");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn steps_are_steps_and_breakpoints_are_breakpoints() {
    let ctx = ctx();
    ctx.run(["start", "--break", "lib/helper.js:2", "--", "node", "orders.js"]).expect_code(0).stdout_has("Stopped at breakpoint");
    ctx.run(["step"]).expect_code(0).stdout_has("Stopped after step at lib/helper.js:3");
    ctx.run(["out"]).expect_code(0).stdout_has("Stopped after step at orders.js");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn logpoint_never_pauses() {
    let ctx = ctx();
    ctx.run(["start", "--stop-on-entry", "--", "node", "orders.js"]).expect_code(0);
    ctx.run(["break", "orders.js:20", "--log", "subtotal={subtotal}"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 0)");
    ctx.run(["output"]).expect_code(0).stdout_has("subtotal=29.97").stdout_has("subtotal=8.5");
}

#[test]
fn exception_stop_and_pause() {
    let ctx = ctx();
    ctx.run(["start", "--stop-on-entry", "--", "node", "throws.js"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Uncaught exception TypeError: Cannot read properties of undefined");
    ctx.run(["stop"]).expect_code(0);
    ctx.run(["start", "--run", "--", "node", "spin.js"]).expect_code(0).stdout_has("is running");
    ctx.run(["pause"]).expect_code(0).stdout_has("Paused at");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn initial_pause_is_silent_and_exit_is_prompt() {
    let ctx = ctx();
    // The program ends only once the test lets it, so `start` always answers while it runs.
    ctx.write(
        "gated.js",
        "const fs = require('fs');\nconst timer = setInterval(() => {\n  if (fs.existsSync('go')) {\n    clearInterval(timer);\n    process.exit(3);\n  }\n}, 10);\n",
    );
    let start = ctx.run(["start", "--run", "--", "node", "gated.js"]);
    start.expect_code(0).stdout_has("is running");
    ctx.write("go", "");
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited (exit code 3)");
    ctx.run(["status"]).expect_code(0).stdout_has("exited (exit code 3)");
}

#[test]
fn start_holds_node_before_its_first_line() {
    let ctx = ctx();
    ctx.fixture("node", "quick.js");
    ctx.run(["start", "--", "node", "quick.js"]).expect_code(0).stdout_has("is ready: the program is held before its first line");
    ctx.run(["status"]).expect_code(0).stdout_has("ready (held before its first line)");
    // The line Node is held at: a breakpoint there is the first stop, not skipped.
    ctx.run(["break", "quick.js:1"]).expect_code(0).stdout_has("[verified]");
    ctx.run(["break", "quick.js:3"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.js:1 in (anonymous) (thread main, hit 1)");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint quick.js:3").stdout_has("y: number = 2");
    ctx.run(["restart"]).expect_code(0).stdout_has("is ready");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped on entry at quick.js:1");
    ctx.run(["next"]).expect_code(0).stdout_has("Stopped after step at quick.js:2");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn node_conditions_are_checked_when_set() {
    let ctx = ctx();
    ctx.run(["start", "--break", "orders.js:19", "--if", "sum ==", "--", "node", "orders.js"])
        .expect_code(2)
        .stderr_has("--if `sum ==` is not a valid expression: Unexpected token");
    ctx.run(["sessions"]).expect_code(0).stdout_has("(no sessions)");
    ctx.run(["start", "--", "node", "orders.js"]).expect_code(0);
    ctx.run(["break", "orders.js:19", "--if", "order.qty >"]).expect_code(2).stderr_has("is not a valid expression");
    ctx.run(["break", "orders.js:19", "--log", "q={order.qty"]).expect_code(2).stderr_has("never closed");
    ctx.run(["break", "orders.js:19", "--if", "order.qty > 2"]).expect_code(0).stdout_has("if order.qty > 2");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn node_eval_redacts_secret_names_unless_asked() {
    let ctx = ctx();
    ctx.write("secret.js", "const api_token = 's3cr3t';\nconst config = {password: 'pw', port: 1};\nconsole.log(config.port);\n");
    ctx.run(["start", "--break", "secret.js:3", "--", "node", "secret.js"]).expect_code(0);
    let token = ctx.run(["eval", "api_token"]);
    token.expect_code(0).stdout_has("<redacted>");
    assert!(!token.stdout.contains("s3cr3t"), "{}", token.stdout);
    let nested = ctx.run(["eval", "config['password']"]);
    assert!(!nested.stdout.contains("'pw'"), "{}", nested.stdout);
    ctx.run(["eval", "config"]).expect_code(0).stdout_has("password: <redacted>");
    ctx.run(["eval", "api_token", "--no-redact"]).expect_code(0).stdout_has("'s3cr3t'");
    ctx.run(["stop"]).expect_code(0);
}

#[test]
fn stop_lets_a_paused_program_run_its_sigterm_handler() {
    // Node runs `process.on('SIGTERM')` handlers on the event loop, which does not turn while
    // the program is paused: borescope hangs up after SIGTERM, which resumes it.
    let ctx = ctx();
    ctx.write(
        "graceful.js",
        "process.on('SIGTERM', () => {\n  console.log('SIGTERM: cleaning up');\n  process.exit(3);\n});\nlet n = 0;\nsetInterval(() => {\n  n += 1;\n}, 20);\n",
    );
    ctx.run(["start", "--break", "graceful.js:7", "--", "node", "graceful.js"]).expect_code(0).stdout_has("Stopped at breakpoint graceful.js:7");
    let pid = ctx.run(["sessions", "--json"]).json()["sessions"][0]["pid"].as_i64().expect("pid");
    ctx.run(["stop"])
        .expect_code(0)
        .stdout_has("Session `default` stopped: the program exited with code 3 on SIGTERM")
        .stdout_has("out| SIGTERM: cleaning up");
    assert!(borescope_test::pid_is_gone(pid), "the program is left behind");
}

#[test]
fn stop_without_a_handler_ends_the_program_by_sigterm() {
    let ctx = ctx();
    ctx.run(["start", "--break", "spin.js:1", "--", "node", "spin.js"]).expect_code(0);
    ctx.run(["stop"]).expect_code(0).stdout_has("Session `default` stopped: the program was ended by SIGTERM");
}

#[test]
fn node_eval_answers_in_the_shape_python_does() {
    let ctx = ctx();
    ctx.fixture("node", "quick.js");
    ctx.run(["start", "--break", "quick.js:3", "--", "node", "quick.js"]).expect_code(0);
    ctx.run(["eval", "x = 5"]).expect_code(0).stdout_has("x: number = 5");
    ctx.run(["eval", "x += 1"]).expect_code(0).stdout_has("x: number = 6");
    ctx.run(["eval", "let fresh = 1"]).expect_code(0).stdout_has("(ran; a statement has no value)");
    ctx.run(["eval", "x == 6"]).expect_code(0).stdout_has("x == 6: boolean = true");
    ctx.run(["eval", "undefined"]).expect_code(0).stdout_has("undefined: undefined = undefined");
    ctx.run(["eval", "nosuch"]).expect_code(1).stdout_has("error: ReferenceError: nosuch is not defined");
    ctx.run(["stop"]).expect_code(0);
}
