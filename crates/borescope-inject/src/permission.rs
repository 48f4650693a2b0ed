//! Turning "operation not permitted" into the actual reason and its fix.
//!
//! The kernel allows `process_vm_readv/writev` (and `/proc/PID/maps`, `environ`, `root`) when
//! the caller may "ptrace-attach" the target: the same user (real, effective and saved uids and
//! gids all match) or `CAP_SYS_PTRACE`; the target must be dumpable unless the caller has the
//! capability; and Yama (`kernel.yama.ptrace_scope`) may further require the caller to be an
//! ancestor (1), to have the capability (2), or refuse everyone (3). Inside containers a
//! seccomp profile may also forbid the calls. [`diagnose`] checks each in that order.

use crate::procfs::{self, CAP_SYS_PTRACE};

/// A one-line reason plus a `hint:` line for why this process may not inspect `pid`.
pub fn diagnose(pid: u32) -> String {
    let Ok(me) = procfs::status("self") else {
        return "access denied (cannot read our own /proc/self/status)".into();
    };
    let target = procfs::status(&pid.to_string()).ok();
    let scope = ptrace_scope();
    let has_cap = me.cap_eff & CAP_SYS_PTRACE != 0;
    let my_uid = me.uids[1];
    if scope == Some(3) {
        return "kernel.yama.ptrace_scope is 3: no process may inspect another on this host until it reboots\n\
                hint: restart the program under borescope instead (`borescope start -- COMMAND`)"
            .into();
    }
    if let Some(target) = &target {
        let same_user = target.uids[..3].iter().all(|u| *u == my_uid) && target.gids[..3].iter().all(|g| *g == me.gids[1]);
        if !same_user && !has_cap {
            let owner = procfs::user_name(target.uids[0]);
            let fix = if target.uids[0] == 0 {
                "run borescope as root (`sudo borescope ...`)".to_string()
            } else {
                format!("run borescope as that user (`sudo -u {owner} borescope ...`) or as root (`sudo borescope ...`)")
            };
            return format!(
                "pid {pid} runs as user `{owner}` (uid {}) and borescope runs as uid {my_uid} without CAP_SYS_PTRACE\nhint: {fix}",
                target.uids[0]
            );
        }
        if same_user && !has_cap && !dumpable(pid, my_uid) {
            return format!(
                "pid {pid} is not dumpable (a setuid or file-capability binary, or it called prctl(PR_SET_DUMPABLE, 0)), so only a process with CAP_SYS_PTRACE may inspect it\n\
                 hint: run borescope as root (`sudo borescope ...`)"
            );
        }
    }
    if !has_cap {
        match scope {
            Some(1) if !is_ancestor_of(pid) => {
                return format!(
                    "kernel.yama.ptrace_scope is 1: only a parent of pid {pid} or a process with CAP_SYS_PTRACE may inspect it, and borescope is neither\n\
                     hint: `sudo borescope ...`, or give borescope the capability (`sudo setcap cap_sys_ptrace+ep \"$(command -v borescope)\"`), or allow it host-wide (less safe: `sudo sysctl kernel.yama.ptrace_scope=0`)"
                );
            }
            Some(2) => {
                return "kernel.yama.ptrace_scope is 2: only processes with CAP_SYS_PTRACE may inspect others\n\
                        hint: `sudo borescope ...`, or `sudo setcap cap_sys_ptrace+ep \"$(command -v borescope)\"`"
                    .into();
            }
            _ => {}
        }
    }
    if me.seccomp == Some(2) {
        return "borescope runs under a seccomp filter (common in containers) that forbids reading or writing another process's memory\n\
                hint: give the container CAP_SYS_PTRACE (`docker run --cap-add=SYS_PTRACE`, or `securityContext.capabilities.add: [SYS_PTRACE]` in Kubernetes), or run it with `--security-opt seccomp=unconfined`"
            .into();
    }
    let cap = if has_cap { "with" } else { "without" };
    format!(
        "the kernel refused access (EPERM) to a process of the same user, {cap} CAP_SYS_PTRACE (a security module such as AppArmor or SELinux may forbid it)\n\
         hint: run borescope as root (`sudo borescope ...`)"
    )
}

/// `kernel.yama.ptrace_scope`, when Yama is present.
pub fn ptrace_scope() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// A process that is not dumpable has its /proc files owned by root.
fn dumpable(pid: u32, my_uid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(format!("/proc/{pid}/mem")) {
        Ok(meta) => my_uid == 0 || meta.uid() != 0,
        Err(_) => true,
    }
}

/// True when we are `pid`'s parent, grandparent, ...
fn is_ancestor_of(pid: u32) -> bool {
    let me = std::process::id();
    let mut current = pid;
    for _ in 0..64 {
        let Ok(stat) = procfs::stat(current) else { return false };
        if stat.ppid == me {
            return true;
        }
        if stat.ppid <= 1 {
            return false;
        }
        current = stat.ppid;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_diagnosis_has_a_hint() {
        let text = diagnose(std::process::id());
        assert!(text.contains("\nhint: "), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
