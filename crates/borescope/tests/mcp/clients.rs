//! Running the MCP clients: the Python SDK through `fixtures/mcp/drive.py`, and a
//! `borescope mcp --http` server to point them at.

use borescope_test::TestContext;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

fn drive_script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp/drive.py").to_string()
}

/// What one client connection saw.
pub struct Drive {
    /// The whole JSON object `drive.py` printed.
    pub out: Value,
    /// Exit code of `drive.py` (3: the connection itself failed).
    pub code: i32,
}

impl Drive {
    /// The result of the `index`th call.
    pub fn call(&self, index: usize) -> &Value {
        &self.out["results"][index]
    }

    /// The text of the `index`th call, asserting it succeeded.
    #[track_caller]
    pub fn ok_text(&self, index: usize) -> &str {
        let call = self.call(index);
        assert_eq!(call["is_error"], false, "call {index} failed: {call:#}");
        call["text"].as_str().unwrap_or_default()
    }

    /// The text of the `index`th call, asserting it is a tool error.
    #[track_caller]
    pub fn error_text(&self, index: usize) -> &str {
        let call = self.call(index);
        assert_eq!(call["is_error"], true, "call {index} should be a tool error: {call:#}");
        call["text"].as_str().unwrap_or_default()
    }
}

fn finish(output: std::process::Output) -> Drive {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let out: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "drive.py printed no JSON ({e})\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Drive { out, code: output.status.code().unwrap_or(-1) }
}

/// Starts `borescope mcp` over stdio with the SDK client and makes `calls` ([tool, args]).
pub fn stdio(ctx: &TestContext, calls: Value, server_args: &[&str]) -> Drive {
    let output = ctx
        .isolated(crate::python())
        .arg(drive_script())
        .arg("stdio")
        .arg(ctx.bin())
        .arg(calls.to_string())
        .arg(serde_json::to_string(server_args).unwrap_or_default())
        .output()
        .expect("run drive.py");
    finish(output)
}

/// Connects the SDK client to `url` (with `token` unless empty) and makes `calls`.
pub fn http(ctx: &TestContext, url: &str, token: &str, calls: Value) -> Drive {
    let output = ctx
        .isolated(crate::python())
        .args([drive_script(), "http".into(), url.into(), token.into(), calls.to_string()])
        .output()
        .expect("run drive.py");
    finish(output)
}

/// A `borescope mcp --http 127.0.0.1:0` server, killed on drop.
pub struct HttpServer {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// The token it printed (generated) or was given.
    pub token: String,
}

impl HttpServer {
    /// Starts the server, with `--token` when given, and reads the lines it prints.
    pub fn start(ctx: &TestContext, token: Option<&str>) -> HttpServer {
        let mut command = ctx.command();
        command.args(["mcp", "--http", "127.0.0.1:0"]);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("start mcp --http");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("read the URL line");
        let url = first.trim().strip_prefix("borescope MCP server: ").unwrap_or_else(|| panic!("unexpected first line {first:?}")).to_string();
        let token = match token {
            Some(token) => token.to_string(),
            None => {
                let mut second = String::new();
                lines.read_line(&mut second).expect("read the token line");
                second.trim().strip_prefix("bearer token: ").unwrap_or_else(|| panic!("unexpected second line {second:?}")).to_string()
            }
        };
        HttpServer { child, url, token }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
