//! Makes a child die with borescope: `PR_SET_PDEATHSIG` set between fork and exec.
//!
//! This is the crate's only `unsafe`: `pre_exec` runs in the forked child, where only
//! async-signal-safe calls are allowed. `prctl` is one.

#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;

/// Arranges for the child to get SIGKILL when the spawning thread's process dies.
pub fn arrange(command: &mut std::process::Command) {
    // SAFETY: the closure only calls prctl(2), which is async-signal-safe, and touches no
    // memory shared with the parent.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
}
