//! What a process that is already running is given to run an agent job (PEP 768): the small
//! bootstrap script, and which parts of a shipped debugpy it needs. Shared by local attach and
//! Kubernetes attach, which deliver the same files by different routes.

use std::path::Path;

/// The script PEP 768 runs for a job in `directory` (a Python expression evaluating to the
/// job directory's path, e.g. a JSON string literal) with `nonce`. It removes itself, imports
/// `borescope_agent.remote` from the directory without leaving it on `sys.path`, runs the job,
/// and never fails into the program: every error ends in the status file.
pub fn bootstrap(directory: &str, nonce: &str) -> String {
    let dir = directory;
    let nonce = string_literal(nonce);
    format!(
        r#"# Written by borescope; runs once in this process (PEP 768) and removes itself.
def _borescope_run(directory):
    import os
    import sys

    try:
        os.unlink(os.path.join(directory, "run.py"))
    except OSError:
        pass
    if os.path.exists(os.path.join(directory, "cancelled")):
        # borescope withdrew the request: only its directory is left to remove.
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        return
    previous = sys.modules.get("borescope_agent.remote")
    state = dict(getattr(previous, "_state", None) or {{}})
    for name in [m for m in sys.modules if m == "borescope_agent" or m.startswith("borescope_agent.")]:
        del sys.modules[name]
    agent = os.path.join(directory, "agent")
    sys.path.insert(0, agent)
    try:
        from borescope_agent import remote
    finally:
        while agent in sys.path:
            sys.path.remove(agent)
    remote.run(directory, state)


try:
    _borescope_run({dir})
except BaseException as _borescope_error:
    try:
        import json as _json
        import os as _os

        with open(_os.path.join({dir}, "status.json"), "w") as _f:
            _json.dump({{"state": "failed", "error": repr(_borescope_error), "nonce": {nonce}}}, _f)
    except BaseException:
        pass
"#
    )
}

/// The statement a Python older than 3.14 runs as a pending call (`PyRun_SimpleString`, in
/// `__main__`, scheduled by `borescope-inject::pending_call`) to start the job whose bootstrap is
/// at `run_py` (a path in the target's view): it runs the bootstrap in a fresh namespace as PEP
/// 768 does, binds no name in `__main__`, and never lets an error out. An error escaping a
/// pending call would surface in the main thread as an exception of the program's own, so every
/// failure (even a vanished file after a withdrawn request) is swallowed here; the bootstrap
/// reports its own failures in the status file.
pub fn pending_call_source(run_py: &str) -> String {
    let path = string_literal(run_py);
    let inner = string_literal(&format!(
        "with open({path}, 'rb') as f:\n    code = compile(f.read(), {path}, 'exec')\nexec(code, {{'__name__': '__borescope_job__'}})\n"
    ));
    format!("# borescope: one agent job (Python < 3.14)\ntry:\n    exec({inner}, {{}})\nexcept BaseException:\n    pass\n")
}

/// A Python (and JSON) string literal for `text`.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// False for the parts of debugpy an in-process listener never loads: the helpers that attach
/// to *other* processes (20 MB of native binaries) and compiled speed-ups built for another
/// Python.
pub fn debugpy_part_needed_in_process(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    !(name == "pydevd_attach_to_process"
        || [".so", ".dll", ".dylib", ".exe", ".pdb", ".pyd"].iter().any(|ext| name.ends_with(ext)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_is_valid_python_with_the_directory_quoted() {
        let script = bootstrap(&string_literal("/tmp/borescope-x \"quoted\""), "n1");
        assert!(script.contains(r#"_borescope_run("/tmp/borescope-x \"quoted\"")"#), "{script}");
        let checked = std::process::Command::new("python3")
            .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().map(|mut s| s.write_all(script.as_bytes()));
                child.wait()
            })
            .expect("python3");
        assert!(checked.success());
    }

    #[test]
    fn the_pending_call_runs_the_bootstrap_and_leaves_main_untouched() {
        let dir = tempfile::tempdir().expect("dir");
        let run = dir.path().join("run \"q\".py");
        std::fs::write(&run, "import sys\nsys.stdout.write(__name__ + ' ran\\n')\n").expect("write");
        let source = pending_call_source(&run.to_string_lossy());
        let check = format!(
            "import __main__\nbefore = set(vars(__main__))\nexec(compile({src}, 'pending', 'exec'), vars(__main__))\nprint(sorted(set(vars(__main__)) - before - {{'before'}}))\nimport os\nos.unlink({run})\nexec(compile({src}, 'pending', 'exec'), vars(__main__))\nprint('missing file swallowed')\n",
            src = string_literal(&source),
            run = string_literal(&run.to_string_lossy()),
        );
        let out = std::process::Command::new("python3").args(["-c", &check]).output().expect("python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout, "__borescope_job__ ran\n[]\nmissing file swallowed\n");
        assert!(source.is_ascii() && !source.contains('\0'));
    }

    #[test]
    fn shipped_debugpy_leaves_native_helpers_out() {
        assert!(!debugpy_part_needed_in_process(Path::new("debugpy/_vendored/pydevd/pydevd_attach_to_process")));
        assert!(!debugpy_part_needed_in_process(Path::new("x/speedups.cpython-311-x86_64-linux-gnu.so")));
        assert!(debugpy_part_needed_in_process(Path::new("debugpy/server/api.py")));
    }
}
