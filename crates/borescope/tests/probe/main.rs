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
