//! Starting a Node program paused in the inspector (`node --inspect-brk=127.0.0.1:0`) and
//! finding the inspector's WebSocket URL in what Node prints.

use crate::command::find_program;
use crate::output::OutputBuffer;
use crate::process::{ProgramProcess, StdinMode};
use crate::DebuggerError;
use std::path::Path;
use std::time::Duration;

/// How long Node may take to open its inspector.
const INSPECTOR_TIMEOUT: Duration = Duration::from_secs(15);

/// A Node program waiting for the debugger.
pub(crate) struct Inspected {
    pub process: ProgramProcess,
    pub ws_url: String,
    pub argv: Vec<String>,
}

/// Lines Node prints about the inspector itself (not program output).
fn is_inspector_line(line: &str) -> bool {
    [
        "Debugger listening on ",
        "For help, see: https://nodejs.org/en/docs/inspector",
        "Debugger attached.",
        "Waiting for the debugger to disconnect...",
        "Debugger ending on ",
    ]
    .iter()
    .any(|prefix| line.starts_with(prefix))
}

/// The argv with the inspector flag added after the `node` executable.
pub(crate) fn inspector_argv(argv: &[String], cwd: &Path) -> Result<Vec<String>, DebuggerError> {
    let flag = "--inspect-brk=127.0.0.1:0".to_string();
    let Some(first) = argv.first() else {
        return Err(DebuggerError::BadCommand("empty command".into()));
    };
    let name = Path::new(first).file_name().and_then(|n| n.to_str()).unwrap_or(first);
    if matches!(name, "node" | "nodejs") {
        let mut out = vec![first.clone(), flag];
        out.extend(argv[1..].iter().cloned());
        return Ok(out);
    }
    // A script that runs itself with `#!/usr/bin/env node`: run it with node.
    if let Some(script) = find_program(first, cwd) {
        let head = std::fs::read(&script).unwrap_or_default();
        let first_line = String::from_utf8_lossy(&head[..head.len().min(256)]).lines().next().unwrap_or("").to_string();
        if first_line.starts_with("#!") && first_line.contains("node") {
            let mut out = vec!["node".to_string(), flag, script.display().to_string()];
            out.extend(argv[1..].iter().cloned());
            return Ok(out);
        }
    }
    Err(DebuggerError::BadCommand(format!(
        "borescope debugs Node programs started as `node FILE ...`, and `{first}` is not node; \
         run the script with node directly (for npm scripts: `node node_modules/.bin/TOOL`)"
    )))
}

/// Starts the program paused and waits for the inspector URL.
pub(crate) async fn start_inspected(
    argv: &[String],
    cwd: &Path,
    base_env: Option<&[(String, String)]>,
    env: &[(String, String)],
    stdin: &StdinMode,
) -> Result<Inspected, DebuggerError> {
    let argv = inspector_argv(argv, cwd)?;
    let output = OutputBuffer::diverting(is_inspector_line);
    let mut process = ProgramProcess::spawn_into(&argv, cwd, base_env, env, stdin, output)?;
    let deadline = tokio::time::Instant::now() + INSPECTOR_TIMEOUT;
    loop {
        let announced = process
            .output
            .diverted()
            .iter()
            .find_map(|line| line.strip_prefix("Debugger listening on ").map(str::to_string));
        if let Some(url) = announced {
            return Ok(Inspected { process, ws_url: url.trim().to_string(), argv });
        }
        if let Some(exit) = process.try_exit() {
            process.drain_output().await;
            let tail = process.output.tail_since(0, 5);
            let output: String = tail.lines.iter().map(|l| format!("\n  {}", l.text)).collect();
            return Err(DebuggerError::ExitedEarly { exit: exit.describe(), output });
        }
        if tokio::time::Instant::now() > deadline {
            process.terminate().await;
            return Err(DebuggerError::Timeout(format!(
                "node did not open its inspector within {}s",
                INSPECTOR_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_goes_after_node() {
        let argv: Vec<String> = ["node", "--enable-source-maps", "app.js", "x"].map(String::from).to_vec();
        let got = inspector_argv(&argv, Path::new("/")).unwrap();
        assert_eq!(got, ["node", "--inspect-brk=127.0.0.1:0", "--enable-source-maps", "app.js", "x"]);
        // A program that is neither node nor a script with a node shebang is refused.
        let shell: Vec<String> = vec!["sh".into(), "-c".into(), "true".into()];
        assert!(inspector_argv(&shell, Path::new("/")).is_err());
    }
}
