//! Node.js through the Chrome DevTools Protocol, against the machine's real `node`: probes and
//! sessions with the same commands and report shapes as Python, and each thing other tools get
//! wrong about V8 (breakpoint vs step, block scopes, internal frames, pending breakpoints, paths
//! with spaces and symlinks, the initial pause, ending the program).

mod probe;
mod remote;
mod session;

use borescope_test::TestContext;

/// A test context with the Node fixtures copied in.
pub fn ctx() -> TestContext {
    let ctx = TestContext::new(env!("CARGO_BIN_EXE_borescope"));
    for file in ["orders.js", "lib/helper.js", "throws.js", "never.js", "spin.js", "app.mjs", "dir with space/app.js"] {
        ctx.fixture("node", file);
    }
    ctx
}

/// Runs `probe --json ARGS -- node FILE` and returns (exit code, report).
pub fn probe_json(ctx: &TestContext, args: &[&str], file: &str) -> (i32, serde_json::Value) {
    let mut all = vec!["probe", "--json"];
    all.extend_from_slice(args);
    all.extend(["--", "node", file]);
    let run = ctx.run(&all);
    (run.code, run.json())
}

/// The value text of a local in a stop.
pub fn local(stop: &serde_json::Value, name: &str) -> String {
    stop["locals"]
        .as_array()
        .and_then(|vars| vars.iter().find(|v| v["name"] == name))
        .and_then(|v| v["value"].as_str())
        .unwrap_or_else(|| panic!("no local {name} in {stop:#}"))
        .to_string()
}
