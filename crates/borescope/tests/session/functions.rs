//! Breakpoints on functions by name (debugpy's `setFunctionBreakpoints`), dotted names
//! narrowed to the function meant.

use crate::{ctx, python};
use insta::assert_snapshot;

#[test]
fn function_breakpoints_stop_where_the_function_starts() {
    let ctx = ctx();
    let file = ctx.fixture("python", "shop.py");
    ctx.run(["start", "--stop-on-entry", "--", &python(), file.to_str().unwrap()]).expect_code(0).stdout_has("Stopped on entry");

    // `Other.total` runs first on every request; the dotted name must skip it.
    ctx.run(["break", "--function", "Shop.total"]).expect_code(0).stdout_has("#1 function Shop.total [verified]");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:6 in total").stdout_has("self: Shop");
    ctx.run(["break", "--function", "handle", "--if", "n == 3"]).expect_code(0);
    ctx.run(["break", "--delete", "Shop.total"]).expect_code(0).stdout_has("deleted the breakpoint on function `Shop.total`");
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:15 in handle").stdout_has("n: int = 3");
    ctx.run(["break", "--function", "shop.Other.total"]).expect_code(0);
    let listed = ctx.run(["break", "--list"]);
    assert_snapshot!("function_breakpoint_list", listed.snapshot());
    let json = ctx.run(["break", "--list", "--json"]).json();
    assert_eq!(json["breakpoints"][0]["spec"], serde_json::json!({"function": "handle", "condition": "n == 3"}));
    assert_eq!(json["breakpoints"][0]["state"], "verified");
    ctx.run(["break", "--delete", "handle"]).expect_code(0);
    // The name qualified by the script's stem matches (its module is `__main__`).
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:11 in total").stdout_has("self: Other");
    ctx.run(["break", "--delete", "shop.Other.total"]).expect_code(0);
    // A bare name with a hit count: debugpy counts the calls of every `handle`.
    ctx.run(["break", "--function", "handle", "--hit", "2"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Stopped at breakpoint shop.py:15 in handle");
    ctx.run(["break", "--function", "Shop.total", "--hit", "2"]).expect_code(2).stderr_has("use --if alone, or --hit with a bare function name");

    ctx.run(["break", "--function", "total", "--log", "x"]).expect_code(2).stderr_has("cannot be used with");
    ctx.run(["break", "--function", "a b"]).expect_code(2).stderr_has("`a b` is not a function name");
    ctx.run(["break", "--delete", "nosuch"]).expect_code(2).stderr_has("no breakpoint on function `nosuch`");
    ctx.run(["break", "--clear"]).expect_code(0).stdout_has("deleted 1 breakpoint");
    ctx.run(["stop"]).expect_code(0);
}
