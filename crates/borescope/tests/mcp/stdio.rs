//! The SDK client over stdio: the tool list, probes, full sessions, and bad calls.

use crate::clients::stdio;
use crate::{ctx, python};
use serde_json::json;

#[test]
fn tools_instructions_and_a_probe() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let drive = stdio(
        &ctx,
        json!([["probe", {"locations": ["flow.py:8"], "command": [python(), file], "evals": ["a * 10"]}]]),
        &[],
    );
    assert_eq!(drive.out["server"], "borescope");
    let instructions = drive.out["instructions"].as_str().unwrap_or_default();
    assert!(instructions.contains("probe") && instructions.contains("start_session"), "{instructions}");
    let mut names: Vec<&str> = drive.out["tools"].as_object().expect("tools").keys().map(String::as_str).collect();
    names.sort();
    insta::assert_snapshot!("tool_names", names.join("\n"));
    let text = drive.ok_text(0);
    assert!(text.contains("Stopped at breakpoint flow.py:8 in add"), "{text}");
    assert!(text.contains("a * 10: int = 0"), "{text}");
    let structured = &drive.call(0)["structured"];
    assert_eq!(structured["schema"], "borescope.probe/1");
    assert_eq!(structured["outcome"], "hit");
    assert_eq!(structured["stops"][0]["function"], "add");
}

#[test]
fn bad_calls_are_one_line_tool_errors_and_the_server_lives_on() {
    let ctx = ctx();
    ctx.fixture("python", "flow.py");
    let drive = stdio(
        &ctx,
        json!([
            ["evaluate", {}],
            ["probe", {"locations": "flow.py:8"}],
            ["probe", {"location": ["flow.py:8"]}],
            ["probe", {"locations": ["flow.py:5"]}],
            ["probe", {"locations": ["missing.py:1"]}],
            ["status", {}],
            ["variables", {"session": "nope"}],
            ["continue", {"timeout_secs": -1}],
            ["list_sessions", {}]
        ]),
        &[],
    );
    assert!(drive.error_text(0).contains("missing field `expression`"));
    assert!(drive.error_text(1).contains("invalid type"));
    assert!(drive.error_text(2).contains("unknown field `location`"));
    let blank = drive.error_text(3);
    assert!(blank.contains("flow.py:5") && blank.contains("no code"), "{blank}");
    assert!(drive.error_text(4).contains("missing.py"));
    let sessionless = drive.error_text(5);
    assert!(sessionless.contains("no session `default`") && sessionless.contains("start_session"), "{sessionless}");
    assert!(drive.error_text(6).contains("no session `nope`"));
    assert!(drive.error_text(7).contains("timeout_secs"));
    for index in 0..8 {
        let text = drive.call(index)["text"].as_str().unwrap_or_default();
        assert!(text.lines().filter(|l| !l.starts_with("hint:")).count() <= 2, "call {index}: {text}");
    }
    assert!(drive.ok_text(8).contains("(no sessions)"), "{}", drive.ok_text(8));
}

#[test]
fn responses_stay_within_the_budget_and_say_so() {
    let ctx = ctx();
    let file = ctx.fixture("python", "big.py");
    let drive = stdio(
        &ctx,
        json!([["probe", {"locations": ["big.py:9"], "command": [python(), file]}]]),
        &["--max-response", "4096"],
    );
    let call = drive.call(0);
    let text = drive.ok_text(0);
    let size = text.len() + call["structured"].to_string().len();
    assert!(size <= 4096 + 512, "response of {size} bytes");
    assert!(text.contains("--max-"), "no truncation notice:\n{text}");
}

#[test]
fn python_session_through_mcp() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let drive = stdio(
        &ctx,
        json!([
            ["start_session", {"session": "agent", "command": [python(), file], "breakpoints": ["flow.py:34"]}],
            ["variables", {"session": "agent"}],
            ["evaluate", {"session": "agent", "expression": "len(argv) + 40"}],
            ["step_into", {"session": "agent"}],
            ["stack", {"session": "agent"}],
            ["step_out", {"session": "agent"}],
            ["step_over", {"session": "agent"}],
            ["set_breakpoint", {"session": "agent", "location": "flow.py:13"}],
            ["continue", {"session": "agent"}],
            ["threads", {"session": "agent"}],
            ["select_frame", {"session": "agent", "index": 0}],
            ["set_breakpoint", {"session": "agent", "location": "flow.py:19", "condition": "i == 2"}],
            ["list_breakpoints", {"session": "agent"}],
            ["remove_breakpoint", {"session": "agent", "location": "flow.py:13"}],
            ["continue", {"session": "agent"}],
            ["variables", {"session": "agent", "path": "sq"}],
            ["remove_breakpoint", {"session": "agent", "all": true}],
            ["continue", {"session": "agent"}],
            ["output", {"session": "agent"}],
            ["status", {"session": "agent"}],
            ["stop_session", {"session": "agent"}],
            ["list_sessions", {}]
        ]),
        &[],
    );
    assert!(drive.ok_text(0).contains("Stopped at breakpoint flow.py:34 in main"));
    assert_eq!(drive.call(0)["structured"]["schema"], "borescope.session/1");
    assert!(drive.ok_text(1).contains("argv: list = []"));
    assert!(drive.ok_text(2).contains("len(argv) + 40: int = 40"));
    assert!(drive.ok_text(3).contains("flow.py:8 in add"));
    assert_eq!(drive.call(4)["structured"]["frames"][0]["function"], "add");
    assert!(drive.ok_text(5).contains("flow.py:34 in main"));
    assert!(drive.ok_text(6).contains("flow.py:35 in main") && drive.ok_text(6).contains("total: int = 2"));
    assert!(drive.ok_text(7).contains("flow.py:13 [verified]"));
    assert!(drive.ok_text(8).contains("Stopped at breakpoint flow.py:13 in worker (thread Worker-7, hit 1)"));
    assert!(drive.ok_text(9).contains("MainThread"));
    assert!(drive.ok_text(10).contains("value") || drive.ok_text(10).contains("n: int = 7"));
    assert!(drive.ok_text(12).contains("i == 2"));
    assert!(drive.ok_text(14).contains("i: int = 2"));
    assert!(drive.ok_text(15).contains("sq"));
    assert!(drive.ok_text(17).contains("Program exited (exit code 0)"));
    assert!(drive.ok_text(18).contains("gathered [2, 4]"));
    assert!(drive.ok_text(19).contains("exited (exit code 0)"));
    assert!(drive.ok_text(20).contains("Session `agent` stopped"));
    assert!(drive.ok_text(21).contains("(no sessions)"));
}

#[test]
fn node_session_through_mcp() {
    let ctx = ctx();
    ctx.fixture("node", "lib/helper.js");
    let file = ctx.fixture("node", "orders.js");
    let drive = stdio(
        &ctx,
        json!([
            ["start_session", {"session": "js", "command": ["node", file], "breakpoints": ["orders.js:20"]}],
            ["variables", {"session": "js", "path": "order"}],
            ["evaluate", {"session": "js", "expression": "subtotal * 2"}],
            ["step_over", {"session": "js"}],
            ["stack", {"session": "js"}],
            ["continue", {"session": "js"}],
            ["remove_breakpoint", {"session": "js", "all": true}],
            ["continue", {"session": "js"}],
            ["output", {"session": "js"}],
            ["stop_session", {"session": "js"}]
        ]),
        &[],
    );
    let first = drive.ok_text(0);
    assert!(first.contains("Stopped at breakpoint orders.js:20 in total"), "{first}");
    assert!(first.contains("subtotal") && first.contains("order"), "{first}");
    assert!(drive.ok_text(1).contains("item: string = 'widget'") || drive.ok_text(1).contains("widget"), "{}", drive.ok_text(1));
    assert!(drive.ok_text(2).contains("subtotal * 2"));
    assert!(drive.ok_text(3).contains("orders.js:18"), "{}", drive.ok_text(3));
    assert_eq!(drive.call(4)["structured"]["frames"][0]["function"], "total");
    assert!(drive.ok_text(5).contains("orders.js:20"), "{}", drive.ok_text(5));
    assert!(drive.ok_text(7).contains("Program exited (exit code 0)"), "{}", drive.ok_text(7));
    assert!(drive.ok_text(8).contains("gross"), "{}", drive.ok_text(8));
    assert!(drive.ok_text(9).contains("Session `js` stopped"));
}

#[test]
fn running_python_processes_through_mcp() {
    let ctx = ctx();
    let file = ctx.fixture("attach", "service.py");
    let target = borescope_test::targets::TargetProcess::plain(&ctx.work(), &[file.to_str().unwrap(), "mcpmarker"], &[]);
    target.wait_for("ready pid=", std::time::Duration::from_secs(20));
    let pid = target.pid;
    let drive = stdio(
        &ctx,
        json!([
            ["list_python_processes", {"name": "mcpmarker"}],
            ["exec_in_process", {"pid": pid, "code": "import sys; print(sys.version_info[:2])"}],
            ["exec_in_process", {"pid": pid, "code": "raise ValueError('nope')"}],
            ["attach", {"pid": pid, "session": "live", "breakpoints": ["service.py:9"]}],
            ["continue", {"session": "live"}],
            ["variables", {"session": "live"}],
            ["stop_session", {"session": "live"}],
            ["attach", {"pid": 4194303}]
        ]),
        &[],
    );
    let listed = &drive.call(0)["structured"];
    assert_eq!(listed["schema"], "borescope.ps/1");
    assert_eq!(listed["processes"][0]["pid"], pid);
    assert_eq!(listed["processes"][0]["attachable"], true);
    assert!(drive.ok_text(1).contains("(3, 14)"));
    assert!(drive.error_text(2).contains("ValueError: nope"));
    assert!(drive.ok_text(3).contains(&format!("attached to pid {pid}")));
    assert!(drive.ok_text(4).contains("Stopped at breakpoint service.py:9 in handle"), "{}", drive.ok_text(4));
    assert!(drive.ok_text(5).contains("label: str = 'req-"));
    assert!(drive.ok_text(6).contains("detached"));
    assert!(drive.error_text(7).contains("no process with pid 4194303"));
    assert!(target.is_running());
}

#[test]
fn debugpy_by_address_function_breakpoints_and_source_through_mcp() {
    let ctx = ctx();
    let file = ctx.fixture("python", "shop.py");
    let server = borescope_test::targets::DebugpyServer::start(&ctx.work(), &file, true);
    let address = server.address();
    let drive = stdio(
        &ctx,
        json!([
            ["attach", {"address": address, "session": "remote"}],
            // The line first: the program runs while breakpoints are set, and with the
            // function's first it could reach `Shop.total` from line 17 between the two.
            ["set_breakpoint", {"session": "remote", "location": "shop.py:17"}],
            ["set_breakpoint", {"session": "remote", "function": "Shop.total"}],
            ["continue", {"session": "remote"}],
            ["continue", {"session": "remote"}],
            ["source", {"session": "remote", "context": 1}],
            ["source", {"location": "shop.py:6", "context": 0}],
            ["list_breakpoints", {"session": "remote"}],
            ["remove_breakpoint", {"session": "remote", "function": "Shop.total"}],
            ["clear_breakpoints", {"session": "remote"}],
            ["list_breakpoints", {"session": "remote"}],
            ["stop_session", {"session": "remote"}],
            ["set_breakpoint", {"location": "shop.py:17", "function": "handle"}],
            ["attach", {}],
            ["attach", {"pid": 1, "path_map": {".": "/app"}}],
            ["source", {"location": "missing.py:1"}],
            ["remove_breakpoint", {"function": "f", "all": true}]
        ]),
        &[],
    );
    assert!(drive.ok_text(0).contains("attached to debugpy at"), "{}", drive.ok_text(0));
    assert!(drive.ok_text(1).contains("#1 shop.py:17 [verified]"), "{}", drive.ok_text(1));
    assert!(drive.ok_text(2).contains("#2 function Shop.total [verified]"), "{}", drive.ok_text(2));
    assert!(drive.ok_text(3).contains("Stopped at breakpoint shop.py:17 in handle"), "{}", drive.ok_text(3));
    assert!(drive.ok_text(4).contains("Stopped at breakpoint shop.py:6 in total"), "{}", drive.ok_text(4));
    assert_eq!(drive.ok_text(5), "--- shop.py:6 (frame #0 total) ---\n  5 | class Shop:\n> 6 |     def total(self, n):\n  7 |         return n * 2\n");
    assert_eq!(drive.call(5)["structured"]["type"], "source");
    assert!(drive.ok_text(6).contains("> 6 |     def total(self, n):"), "{}", drive.ok_text(6));
    assert!(drive.call(6)["structured"].get("session").is_none());
    assert!(drive.ok_text(7).contains("#1 shop.py:17 [verified]") && drive.ok_text(7).contains("#2 function Shop.total [verified]"));
    assert!(drive.ok_text(8).contains("deleted the breakpoint on function `Shop.total`"));
    assert!(drive.ok_text(9).contains("deleted 1 breakpoint"), "{}", drive.ok_text(9));
    assert!(drive.ok_text(10).contains("(no breakpoints)"));
    assert!(drive.ok_text(11).contains("detached"));
    assert!(drive.error_text(12).contains("give either `location`"));
    assert!(drive.error_text(13).contains("give one of `pid`"));
    assert!(drive.error_text(14).contains("`path_map` applies to attaching by `address`"));
    assert!(drive.error_text(15).contains("no file `missing.py`"));
    assert!(drive.error_text(16).contains("give one of `location`"));
    assert!(server.target.is_running());
}

#[test]
fn held_start_input_and_restart_through_mcp() {
    let ctx = ctx();
    let file = ctx.fixture("python", "ask.py");
    let file = file.to_str().unwrap();
    let drive = stdio(
        &ctx,
        json!([
            ["start_session", {"command": [python(), file], "session": "m"}],
            ["set_breakpoint", {"location": "ask.py:2", "session": "m", "condition": "name =="}],
            ["set_breakpoint", {"location": "ask.py:2", "session": "m"}],
            ["send_input", {"text": "world\n", "session": "m"}],
            ["continue", {"session": "m"}],
            ["send_input", {"text": "more\n", "eof": true, "session": "m"}],
            ["continue", {"session": "m"}],
            ["restart_session", {"session": "m"}],
            ["list_breakpoints", {"session": "m"}],
            ["send_input", {"text": "again\n", "session": "m"}],
            ["continue", {"session": "m"}],
            ["stop_session", {"session": "m"}],
            ["start_session", {"command": [python(), file], "run": true, "stop_on_entry": true}],
            ["send_input", {"session": "m"}],
        ]),
        &[],
    );
    let held = drive.ok_text(0);
    assert!(held.contains("is ready: the program is held before its first line") && held.contains("send_input"), "{held}");
    assert!(drive.error_text(1).contains("`name ==` is not a valid expression"));
    assert!(drive.ok_text(3).contains("sent 6 bytes"));
    assert!(drive.ok_text(4).contains("Stopped at breakpoint ask.py:2") && drive.ok_text(4).contains("name: str = 'world'"), "{}", drive.ok_text(4));
    assert!(drive.ok_text(5).contains("closed it"));
    assert!(drive.ok_text(6).contains("then ['more']"), "{}", drive.ok_text(6));
    assert!(drive.ok_text(7).contains("is ready"), "{}", drive.ok_text(7));
    assert!(drive.ok_text(8).contains("ask.py:2 [verified]"), "{}", drive.ok_text(8));
    assert!(drive.ok_text(10).contains("name: str = 'again'"), "{}", drive.ok_text(10));
    assert!(drive.error_text(12).contains("not both"));
    assert!(drive.error_text(13).contains("give `text`"));
}
