//! Interactive sessions against real debugpy: the full command flow, exceptions, logpoints,
//! several sessions, pause, every way a session can end (the program exits, is killed, the
//! daemon dies, `stop`), and two builds side by side. Python 3.11 from the test venv; one flow
//! on Python 3.14 in the sid rootfs (debugpy from Debian, an older release). Also: how `start`
//! holds a program, debugpy started by the user and reached by address, function breakpoints,
//! and source listings.

mod builds;
mod flow;
mod functions;
mod lifecycle;
mod start;
mod values;
mod remote;
mod source;

use borescope_test::TestContext;

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// The venv interpreter (has debugpy).
pub fn python() -> String {
    borescope_test::interpreters::venv_python().display().to_string()
}
