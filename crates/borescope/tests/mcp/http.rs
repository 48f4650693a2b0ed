//! Streamable HTTP: the bearer token, and one session shared by an HTTP client, a stdio
//! client and the CLI.

use crate::clients::{http, stdio, HttpServer};
use crate::{ctx, python};
use serde_json::json;

#[test]
fn http_requires_the_bearer_token() {
    let ctx = ctx();
    let server = HttpServer::start(&ctx, Some("test-token-0123456789"));
    assert!(server.url.starts_with("http://127.0.0.1:") && server.url.ends_with("/mcp"), "{}", server.url);
    let none = http(&ctx, &server.url, "", json!([["list_sessions", {}]]));
    assert_eq!(none.code, 3, "{:#}", none.out);
    assert!(none.out["connection_error"].as_str().unwrap_or_default().contains("HTTP status 401"), "{:#}", none.out);
    let wrong = http(&ctx, &server.url, "test-token-wrong-000000", json!([["list_sessions", {}]]));
    assert_eq!(wrong.code, 3, "{:#}", wrong.out);
    let right = http(&ctx, &server.url, &server.token, json!([["list_sessions", {}], ["status", {}]]));
    assert_eq!(right.code, 0, "{:#}", right.out);
    assert!(right.ok_text(0).contains("(no sessions)"));
    assert!(right.error_text(1).contains("no session `default`"));
}

#[test]
fn a_generated_token_is_printed_and_short_tokens_are_refused() {
    let ctx = ctx();
    let server = HttpServer::start(&ctx, None);
    assert!(server.token.len() >= 16, "{}", server.token);
    let drive = http(&ctx, &server.url, &server.token, json!([["list_sessions", {}]]));
    assert!(drive.ok_text(0).contains("(no sessions)"));
    ctx.run(["mcp", "--http", "127.0.0.1:0", "--token", "short"])
        .expect_code(2)
        .stderr_has("--token must be at least 16 characters");
}

#[test]
fn two_clients_and_the_cli_share_one_session() {
    let ctx = ctx();
    let file = ctx.fixture("python", "flow.py");
    let started = stdio(
        &ctx,
        json!([["start_session", {"session": "shared", "command": [python(), file], "breakpoints": ["flow.py:34"]}]]),
        &[],
    );
    assert!(started.ok_text(0).contains("flow.py:34"));
    // A person at a terminal looks at the session the agent started, and moves it on.
    ctx.run(["vars", "--session", "shared"]).expect_code(0).stdout_has("argv: list = []");
    ctx.run(["next", "--session", "shared"]).expect_code(0).stdout_has("flow.py:35");
    // A second agent, over HTTP, sees where the person left it.
    let server = HttpServer::start(&ctx, None);
    let drive = http(
        &ctx,
        &server.url,
        &server.token,
        json!([["status", {"session": "shared"}], ["evaluate", {"session": "shared", "expression": "total"}], ["stop_session", {"session": "shared"}]]),
    );
    assert!(drive.ok_text(0).contains("flow.py:35"), "{}", drive.ok_text(0));
    assert!(drive.ok_text(1).contains("total: int = 2"));
    assert!(drive.ok_text(2).contains("Session `shared` stopped"));
    ctx.run(["status", "--session", "shared"]).expect_code(2).stderr_has("no session `shared`");
}
