//! The ptrace injector on real arm64 Linux: an emulated arm64 machine (`scripts/arm64-vm`:
//! QEMU, Debian sid's kernel and Python 3.13) runs borescope built for aarch64 against
//! Python 3.13 processes there. It checks `ps` (method `ptrace`), `exec` into a running loop
//! (twice), the blocked diagnosis of a main thread in `clock_nanosleep` and in `read`, that
//! thread's system call carrying on after the stop (the `read` returns the data written after
//! the diagnosis), and borescope-inject's register test (a vector register kept across a call
//! that clobbers it) on aarch64.
//!
//! What it needs is built before the suite runs (`scripts/test.sh`): `cargo build --target
//! aarch64-unknown-linux-gnu -p borescope` and `cargo test --target aarch64-unknown-linux-gnu
//! -p borescope-inject --test registers --no-run`. On an aarch64 host the rest of the suite
//! covers all of this natively, so it only runs on x86-64.
#![cfg(target_arch = "x86_64")]

use crate::ctx;
use std::path::{Path, PathBuf};
use std::process::Command;

const SERVICE: &str = "import time\nn = 0\nprint('ready', flush=True)\nwhile True:\n    n += 1\n    time.sleep(0.01)\n";
const SLEEPER: &str = "import time\nprint('ready', flush=True)\ntime.sleep(600)\n";
const READER: &str = "import os, time\nfd = os.open('/tmp/pipe', os.O_RDWR)\nprint('ready', flush=True)\ngot = os.read(fd, 100)\nprint('got', got, flush=True)\nwhile True:\n    time.sleep(0.01)\n";

/// What runs in the machine: each part under a `=== NAME` line, ending with `exit STATUS`.
const RUN: &str = r#"#!/bin/sh
mkfifo /tmp/pipe
python3.13 /t/service.py >/tmp/service.out 2>&1 &
SVC=$!
python3.13 /t/sleeper.py >/tmp/sleeper.out 2>&1 &
SLP=$!
python3.13 /t/reader.py >/tmp/reader.out 2>&1 &
RDR=$!
wait_for() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}
for name in service sleeper reader; do wait_for /tmp/$name.out ready; done
echo "=== registers"
BORESCOPE_TEST_VECTOR_WATCHER=/t/watcher /t/registers --test-threads 1 --color never 2>&1; echo "exit $?"
echo "=== ps"
/t/borescope ps --json --interval 0 2>&1; echo "exit $?"
echo "=== exec"
/t/borescope exec $SVC -c 'import sys, platform; print(6 * 7, n > 0, platform.machine(), sys.version_info[:2])' 2>&1; echo "exit $?"
echo "=== exec again"
/t/borescope exec $SVC -c 'print("again", n > 0)' 2>&1; echo "exit $?"
echo "=== blocked in sleep"
/t/borescope exec $SLP --timeout 2 -c 'print(1)' 2>&1; echo "exit $?"
echo "=== blocked in read"
/t/borescope exec $RDR --timeout 2 -c 'print(1)' 2>&1; echo "exit $?"
echo "=== after the read"
echo ping >/tmp/pipe
wait_for /tmp/reader.out got
cat /tmp/reader.out
/t/borescope exec $RDR -c 'print("reader has", got)' 2>&1; echo "exit $?"
echo "=== alive"
kill -0 $SVC && kill -0 $SLP && kill -0 $RDR; echo "exit $?"
"#;

/// The aarch64 build directory next to this (x86-64) build's.
fn aarch64_build() -> PathBuf {
    let host = Path::new(env!("CARGO_BIN_EXE_borescope"));
    let target = host.parent().and_then(Path::parent).expect("the target directory");
    target.join("aarch64-unknown-linux-gnu").join("debug")
}

/// The newest aarch64 build of borescope-inject's register test.
fn registers_test(build: &Path) -> PathBuf {
    let deps = std::fs::read_dir(build.join("deps")).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    deps.into_iter()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("registers-") && !name.contains('.')
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("no aarch64 build of borescope-inject's register test: `cargo test --target aarch64-unknown-linux-gnu -p borescope-inject --test registers --no-run` (scripts/test.sh runs it)")
}

/// The machine's console split into its parts (kernel messages dropped).
fn parts(console: &str) -> Vec<(String, String)> {
    let kernel = regex::Regex::new(r"^\[\s*\d+\.\d+\]").expect("regex");
    let mut parts: Vec<(String, String)> = Vec::new();
    for line in console.lines().filter(|l| !kernel.is_match(l)) {
        if let Some(name) = line.strip_prefix("=== ") {
            parts.push((name.to_string(), String::new()));
        } else if let Some((_, text)) = parts.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    parts
}

#[test]
fn python_3_13_on_arm64_through_ptrace() {
    let ctx = ctx();
    let build = aarch64_build();
    let borescope = build.join("borescope");
    assert!(
        borescope.is_file(),
        "no aarch64 build of borescope at {}: `cargo build --target aarch64-unknown-linux-gnu -p borescope` (scripts/test.sh runs it)",
        borescope.display()
    );
    let dir = ctx.work().join("vm");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&borescope, dir.join("borescope")).unwrap();
    std::fs::copy(registers_test(&build), dir.join("registers")).unwrap();
    let watcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("../borescope-inject/tests/fixtures/vector_watcher.c");
    let compiled = Command::new("aarch64-linux-gnu-gcc").args(["-O1", "-o"]).arg(dir.join("watcher")).arg(&watcher).status();
    assert!(compiled.is_ok_and(|s| s.success()), "aarch64-linux-gnu-gcc failed (scripts/arm64-vm setup installs it)");
    for (name, text) in [("service.py", SERVICE), ("sleeper.py", SLEEPER), ("reader.py", READER), ("run.sh", RUN)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::set_permissions(dir.join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let vm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/arm64-vm");
    let out = Command::new(vm).arg("run").arg(&dir).output().expect("run scripts/arm64-vm");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the machine's run failed ({}): {}\n{console}", out.status, String::from_utf8_lossy(&out.stderr));
    let parts = parts(&console);
    let part = |name: &str| -> &str {
        parts.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str()).unwrap_or_else(|| panic!("no part `{name}` in:\n{console}"))
    };
    let has = |name: &str, needles: &[&str]| {
        let text = part(name);
        for needle in needles {
            assert!(text.contains(needle), "`{name}` lacks {needle:?}:\n{text}");
        }
    };

    has("registers", &["test result: ok. 1 passed", "exit 0"]);

    let listed = part("ps");
    let json: serde_json::Value = serde_json::from_str(listed.rsplit_once("exit ").map(|(j, _)| j).unwrap_or(listed)).unwrap_or_else(|e| panic!("ps --json: {e}:\n{listed}"));
    let pythons: Vec<_> = json["processes"].as_array().expect("processes").iter().filter(|p| p["command"][0] == "python3.13").collect();
    assert_eq!(pythons.len(), 3, "{json:#}");
    assert!(pythons.iter().all(|p| p["method"] == "ptrace" && p["python"].as_str().is_some_and(|v| v.starts_with("3.13"))), "{json:#}");

    has("exec", &["42 True aarch64 (3, 13)", "exit 0"]);
    has("exec again", &["again True", "exit 0"]);
    has("blocked in sleep", &["never picked up borescope's request", "(system call `clock_nanosleep`)", "<module> (/t/sleeper.py:3)", "exit 1"]);
    has("blocked in read", &["never picked up borescope's request", "system call `read` on fd", "<module> (/t/reader.py:4)", "exit 1"]);
    has("after the read", &["got b'ping\\n'", "reader has b'ping\\n'", "exit 0"]);
    has("alive", &["exit 0"]);
}
