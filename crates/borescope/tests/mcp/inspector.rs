//! The MCP Inspector's CLI (npm `@modelcontextprotocol/inspector --cli`) as a second,
//! independent client.

use crate::{ctx, python};
use borescope_static::EnvVars;
use serde_json::Value;

fn inspector(ctx: &borescope_test::TestContext, args: &[&str]) -> Value {
    let runtime = format!("{}={}", EnvVars::BORESCOPE_RUNTIME_DIR, ctx.runtime.display());
    let cache = format!("{}={}", EnvVars::BORESCOPE_CACHE_DIR, ctx.cache.display());
    let work = ctx.work().display().to_string();
    let output = ctx
        .isolated(borescope_test::interpreters::mcp_inspector())
        .args(["--cli", "-e", &runtime, "-e", &cache, "--cwd", &work])
        .arg(ctx.bin())
        .arg("mcp")
        .args(args)
        .output()
        .expect("run the MCP Inspector");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("inspector printed no JSON ({e}):\n{stdout}\n--- stderr ---\n{}", String::from_utf8_lossy(&output.stderr))
    })
}

#[test]
fn inspector_lists_tools_and_calls_probe() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let listed = inspector(&ctx, &["--method", "tools/list"]);
    let names: Vec<&str> = listed["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    for expected in ["probe", "start_session", "set_breakpoint", "continue", "variables", "evaluate", "stop_session"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let command = format!("command=[\"{}\", \"{}\"]", python(), file.display());
    let called = inspector(
        &ctx,
        &["--method", "tools/call", "--tool-name", "probe", "--tool-arg", "locations=[\"flow.py:13\"]", &command],
    );
    let text = called["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Stopped at breakpoint flow.py:13 in worker"), "{called:#}");
    assert_eq!(called["structuredContent"]["outcome"], "hit");
}
