//! Every text shape of `borescope snap` against a real server and a real agent: keys, agents,
//! probes created (installed, and refused by the instance), listed, shown, disabled, enabled
//! and removed, and snapshots listed and followed. Times, ids and hosts are filtered; values
//! are made deterministic by a condition that selects one call.
//!
//! (Enable with `mod cli_shapes;` in `main.rs` once `borescope server` is in the binary.)

use crate::{ctx, instances, run_app, Py, Server};
use borescope_test::{Run, TestContext};
use regex::Regex;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Calls `handle` for orders 2, 3 and 3 each time a `trigger` file appears.
const ORDERS: &str = "\
import os
import time


def handle(order_id, customer):
    password = \"not-for-logs\"
    total = order_id * 10
    return total


def main():
    print(\"ready\", flush=True)
    while True:
        if os.path.exists(\"trigger\"):
            os.remove(\"trigger\")
            for order_id in (2, 3, 3):
                handle(order_id, {\"name\": \"Ada\", \"tier\": \"gold\"})
        time.sleep(0.05)


main()
";

/// The run's snapshot text with what changes from run to run replaced (the app's `pid`, ids,
/// times, the host), and runs of spaces (table columns sized by what was replaced) made one
/// width.
pub(crate) fn shape(run: &Run, pid: Option<u32>) -> String {
    let mut text = run.snapshot().to_string();
    if let Some(pid) = pid {
        text = Regex::new(&format!(r"\b{pid}\b")).expect("pid").replace_all(&text, "[PID]").into_owned();
    }
    for (pattern, replacement) in [
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})? UTC", "[DATE]"),
        (r"\b(\d+[dhms])+ ago|just now", "[AGO]"),
        (r"\bin (\d+[dhms])+", "in [SPAN]"),
        (r"captured in \d+\.\dms", "captured in [MS]"),
        (r"bsk_[0-9A-Za-z]{10,}", "bsk_[KEY]"),
        (r"bsk_[0-9A-Za-z]{4}\.\.\.", "bsk_[PREFIX]..."),
        (r"(?m)^[0-9a-f]{8}  ", "[INSTANCE]  "),
        (r"3\.\d+\.\d+", "3.[PY]"),
        (r"\b(id|probe|Probe|snapshot|Snapshot|key) \d+", "$1 [ID]"),
        (r"(?m)^\d+(\s+)", "[ID]$1"),
        (r"snap (hits|rm|show|enable) \d+", "snap $1 [ID]"),
        (r"--after \d+", "--after [ID]"),
    ] {
        text = Regex::new(pattern).expect("filter").replace_all(&text, replacement).into_owned();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    if !host.trim().is_empty() {
        text = Regex::new(&format!(r"\b{}\b", regex::escape(host.trim()))).expect("host").replace_all(&text, "[HOST]").into_owned();
    }
    Regex::new(" {2,}").expect("spaces").replace_all(&text, "  ").into_owned()
}

fn snap(server: &Server, ctx: &TestContext, args: &[&str]) -> Run {
    let run = server.snap_run(ctx, args, false);
    run.expect_code(0);
    run
}

#[test]
fn snap_text_shapes_on_a_real_server() {
    let ctx = ctx();
    ctx.write("orders.py", ORDERS);
    let server = Server::start(&ctx);
    let mut shown = String::new();
    let mut pid = None;
    let mut show = |title: &str, run: &Run, pid: Option<u32>| shown.push_str(&format!("$ snap {title}\n{}\n", shape(run, pid)));

    let created = snap(&server, &ctx, &["key", "add", "--service", "orders"]);
    show("key add --service orders", &created, pid);
    let key = Regex::new(r"bsk_[0-9A-Za-z]+").expect("re").find(&created.stdout).expect("a key").as_str().to_string();
    show("key list", &snap(&server, &ctx, &["key", "list"]), pid);

    let app = run_app(&ctx, &server, &key, "orders", Py::Host, &["orders.py"]);
    app.wait_for("ready", WAIT);
    pid = Some(app.pid);
    instances(&server, "orders", 1);
    show("agents", &snap(&server, &ctx, &["agents"]), pid);

    let add = ["add", "orders.py:8", "--service", "orders", "--if", "order_id == 3", "--capture", "customer['tier']", "--max-hits", "2", "--rate", "100", "--wait", "10"];
    show(&add.join(" "), &snap(&server, &ctx, &add), pid);
    let module_level = ["add", "orders.py:1", "--service", "orders", "--wait", "10"];
    show(&module_level.join(" "), &snap(&server, &ctx, &module_level), pid);

    // Before anything runs the line: every status is final (installed, or the error).
    let listing = server.snap(&ctx, &["list"]);
    let id = listing["probes"][1]["id"].as_i64().expect("the first probe's id").to_string();
    let other = listing["probes"][0]["id"].as_i64().expect("the second probe's id").to_string();
    show("list", &snap(&server, &ctx, &["list"]), pid);
    show("show ID (refused by the instance)", &snap(&server, &ctx, &["show", &other]), pid);

    std::fs::write(ctx.work().join("trigger"), "").expect("trigger");
    server.wait_probe(id.parse().expect("id"), WAIT, |v| v["state"] == "done");
    show("hits ID", &snap(&server, &ctx, &["hits", &id]), pid);
    show("hits ID --limit 1", &snap(&server, &ctx, &["hits", &id, "--limit", "1"]), pid);
    show("hits ID --follow --limit 1 --since 1h", &snap(&server, &ctx, &["hits", &id, "--follow", "--limit", "1", "--since", "1h"]), pid);

    let page = server.snap(&ctx, &["hits", &id]);
    assert_eq!(page["schema"], "borescope.snapshots/1");
    assert_eq!(page["snapshots"].as_array().map(Vec::len), Some(2), "{page:#}");
    assert_eq!(page["snapshots"][0]["locals"][0]["value"], "3");
    assert_eq!(page["more"], false);

    let done = server.snap_run(&ctx, &["enable", &id], false);
    done.expect_code(2);
    show("enable ID (done)", &done, pid);
    show("disable ID", &snap(&server, &ctx, &["disable", &other]), pid);
    show("enable ID", &snap(&server, &ctx, &["enable", &other]), pid);
    show("rm ID", &snap(&server, &ctx, &["rm", &id]), pid);
    let missing = server.snap_run(&ctx, &["show", &id], false);
    missing.expect_code(2);
    show("show ID (deleted)", &missing, pid);
    let key_id = server.snap(&ctx, &["key", "list"])["keys"][0]["id"].as_i64().expect("key id").to_string();
    show("key rm ID", &snap(&server, &ctx, &["key", "rm", &key_id]), pid);
    assert!(app.is_running(), "{}", app.output());
    insta::assert_snapshot!("snap_text_shapes", shown);
}
