//! `borescope probe` against real interpreters: every scenario runs on the host's Python 3.11
//! with each of its engines (rewrite, and settrace forced) and on Python 3.14 inside the Debian
//! sid root filesystem (sys.monitoring engine, another mount namespace). Text shapes are
//! snapshot-tested on the host Python.

mod bad_input;
mod outcomes;
mod shapes;

use borescope_test::interpreters;
use borescope_test::TestContext;

/// Which interpreter (and engine) a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub enum Py {
    /// Host CPython 3.11 (rewrite engine where the line allows, else settrace).
    Host,
    /// Host CPython 3.11 with the settrace engine forced.
    HostSettrace,
    /// CPython 3.14 in the sid rootfs (sys.monitoring).
    Sid,
}

impl Py {
    /// The argv prefix that runs this Python.
    pub fn prefix(self) -> Vec<String> {
        match self {
            Py::Host => vec![interpreters::host_python().display().to_string()],
            Py::HostSettrace => vec![
                "env".into(),
                format!("{}=settrace", borescope_static::EnvVars::BORESCOPE_PROBE_ENGINE),
                interpreters::host_python().display().to_string(),
            ],
            Py::Sid => vec![interpreters::in_sid().display().to_string(), "python3.14".into()],
        }
    }

    /// `python ARGS...` as a command after `--`.
    pub fn cmd(self, args: &[&str]) -> Vec<String> {
        let mut argv = self.prefix();
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    /// The engine the agent should pick for a line inside a function.
    pub fn engine(self) -> &'static str {
        match self {
            Py::Host => "rewrite",
            Py::HostSettrace => "settrace",
            Py::Sid => "sys.monitoring",
        }
    }
}

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// `probe` + args + `--json` + `--` + command, returning the parsed report and exit code.
pub fn probe_json(ctx: &TestContext, args: &[&str], command: &[String]) -> (i32, serde_json::Value) {
    let mut all: Vec<String> = vec!["probe".into(), "--json".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.push("--".into());
    all.extend(command.iter().cloned());
    let run = ctx.run(&all);
    (run.code, run.json())
}

/// `probe` + args + `--json` without a command (borescope runs the location's file with the
/// interpreter of `py`, given as `--python`, and the engine `py` forces).
pub fn probe_json_with(ctx: &TestContext, args: &[&str], py: Py) -> (i32, serde_json::Value) {
    let mut all: Vec<String> = vec!["probe".into(), "--json".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    let mut command = ctx.command();
    match py {
        Py::Sid => {
            // An executable that runs Python 3.14 in the sid rootfs, to pass as --python.
            let wrapper = ctx.write(
                "python-sid",
                &format!("#!/bin/sh\nexec {} python3.14 \"$@\"\n", interpreters::in_sid().display()),
            );
            std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            all.extend(["--python".into(), wrapper.display().to_string()]);
        }
        Py::Host | Py::HostSettrace => {
            all.extend(["--python".into(), interpreters::host_python().display().to_string()]);
            if matches!(py, Py::HostSettrace) {
                command.env(borescope_static::EnvVars::BORESCOPE_PROBE_ENGINE, "settrace");
            }
        }
    }
    let output = command.args(&all).current_dir(ctx.work()).output().expect("run borescope");
    let code = output.status.code().unwrap_or(-1);
    let text = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}\n{}", String::from_utf8_lossy(&output.stderr)));
    (code, report)
}

/// Defines one test per interpreter.
#[macro_export]
macro_rules! each_python {
    ($name:ident, |$ctx:ident, $py:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn python311_rewrite() {
                let $ctx = $crate::ctx();
                let $py = $crate::Py::Host;
                $body
            }
            #[test]
            fn python311_settrace() {
                let $ctx = $crate::ctx();
                let $py = $crate::Py::HostSettrace;
                $body
            }
            #[test]
            fn python314_monitoring() {
                let $ctx = $crate::ctx();
                let $py = $crate::Py::Sid;
                $body
            }
        }
    };
}
