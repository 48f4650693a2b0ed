//! `borescope source`: lines around FILE:LINE, or around the selected frame of a session.

use crate::{ctx, python};
use insta::assert_snapshot;

#[test]
fn source_of_a_file_and_bad_input() {
    let ctx = ctx();
    ctx.fixture("python", "flow.py");
    let text = ctx.run(["source", "flow.py:8", "-C", "2"]);
    text.expect_code(0);
    assert_snapshot!("file_lines", text.snapshot());
    let json = ctx.run(["source", "flow.py:1", "--context", "1", "--json"]);
    json.expect_code(0);
    assert_snapshot!("file_lines_json", json.snapshot());

    let missing = ctx.run(["source", "missing.py:3"]);
    missing.expect_code(2);
    assert_snapshot!("missing_file", missing.snapshot());
    let past = ctx.run(["source", "flow.py:999"]);
    past.expect_code(2);
    assert_snapshot!("line_past_the_end", past.snapshot());
    ctx.run(["source", "flow.py"]).expect_code(2).stderr_has("is not FILE:LINE");
    ctx.run(["source"]).expect_code(2).stderr_has("no session `default`");
}

#[test]
fn source_of_the_selected_frame() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    ctx.run(["start", "--break", "flow.py:8", "--", &python(), file.to_str().unwrap()]).expect_code(0);
    let top = ctx.run(["source", "-C", "1"]);
    top.expect_code(0);
    assert_snapshot!("frame_lines", top.snapshot());
    ctx.run(["frame", "1"]).expect_code(0);
    ctx.run(["source", "-C", "0"]).expect_code(0).stdout_has("--- flow.py:34 (frame #1 main) ---\n> 34 |     total = add(len(argv), 2)\n");
    let json = ctx.run(["source", "--json"]).json();
    assert_eq!(json["type"], "source");
    assert_eq!(json["frame"]["function"], "main");
    assert_eq!(json["source"]["current_line"], 34);
    ctx.run(["break", "--clear"]).expect_code(0);
    ctx.run(["continue"]).expect_code(0).stdout_has("Program exited");
    ctx.run(["source"]).expect_code(1).stderr_has("the program has exited");
}
