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

/// Waits for the target's "ready" line.
pub fn ready(target: &TargetProcess) -> &TargetProcess {
    target.wait_for("ready pid=", Duration::from_secs(20))
}
