//! Attaching to running Python processes: real Python 3.14 targets from the Debian sid rootfs,
//! as plain processes and in container stand-ins (own mount, PID and network namespaces; one
//! entered with `pivot_root`, so the host cannot name its root, as with runc),
//! web servers with reloaders, and every way an attach can be refused; Python 3.9–3.13 through
//! ptrace and a pending call (`legacy`). Needs root (namespaces, ptrace, and the permission test
//! runs borescope as `nobody`).

mod failures;
mod legacy;
mod listen_only;
mod processes;
mod rooted;
mod sessions;
mod web;

use borescope_test::targets::TargetProcess;
use borescope_test::TestContext;
use std::time::Duration;

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// Copies an attach fixture into the test's work directory.
pub fn fixture(ctx: &TestContext, name: &str) -> String {
    ctx.fixture("attach", name).display().to_string()
}

/// `service.py` run by `python` (`python3.13`, `python3.14`) in a container stand-in with its
/// own PID, network and `/tmp` (the rootfs's own, so the file is not visible on the host):
/// the directory holding it (kept alive with the target), its path inside, the ready target.
pub fn service_in_container(ctx: &TestContext, python: &str) -> (tempfile::TempDir, String, TargetProcess) {
    let rootfs_tmp = borescope_test::interpreters::shared_cache().join("sid-rootfs/tmp");
    let dir = tempfile::Builder::new().prefix("bstest-ctr-").tempdir_in(&rootfs_tmp).expect("dir in the rootfs");
    let inside = format!("/tmp/{}", dir.path().file_name().unwrap().to_string_lossy());
    let source = std::fs::read_to_string(fixture(ctx, "service.py")).unwrap();
    std::fs::write(dir.path().join("service.py"), source).unwrap();
    let script = format!("{inside}/service.py");
    let target = TargetProcess::container(&ctx.work(), &["--pid", "--net", "--private-tmp"], &[python, &script], &[]);
    ready(&target);
    assert!(!std::path::Path::new(&script).exists(), "the container's file must not be visible on the host");
    (dir, script, target)
}

/// Waits for the target's "ready" line.
pub fn ready(target: &TargetProcess) -> &TargetProcess {
    target.wait_for("ready pid=", Duration::from_secs(20))
}
