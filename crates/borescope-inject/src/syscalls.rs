//! What a blocked thread waits for, in words: the system call it is in
//! (`/proc/PID/task/TID/syscall`) and, for calls on a file descriptor, what that descriptor is
//! (`/proc/PID/fd/N`). Only the calls a program typically blocks in are named.

/// `(number, name, first argument is a file descriptor)` for this architecture.
#[cfg(target_arch = "aarch64")]
const BLOCKING: &[(i64, &str, bool)] = &[
    (4, "io_getevents", false), (22, "epoll_pwait", true), (32, "flock", true), (56, "openat", false),
    (63, "read", true), (64, "write", true), (72, "pselect6", false), (73, "ppoll", false),
    (82, "fsync", true), (95, "waitid", false), (98, "futex", false), (101, "nanosleep", false),
    (115, "clock_nanosleep", false), (124, "sched_yield", false), (133, "rt_sigsuspend", false),
    (137, "rt_sigtimedwait", false), (192, "semtimedop", false), (202, "accept", true),
    (203, "connect", true), (206, "sendto", true), (207, "recvfrom", true), (212, "recvmsg", true),
    (242, "accept4", true), (243, "recvmmsg", true), (260, "wait4", false), (441, "epoll_pwait2", true),
];
#[cfg(not(target_arch = "aarch64"))]
const BLOCKING: &[(i64, &str, bool)] = &[
    (0, "read", true), (1, "write", true), (7, "poll", false), (23, "select", false),
    (24, "sched_yield", false), (34, "pause", false), (35, "nanosleep", false), (42, "connect", true),
    (43, "accept", true), (44, "sendto", true), (45, "recvfrom", true), (47, "recvmsg", true),
    (61, "wait4", false), (73, "flock", true), (74, "fsync", true), (128, "rt_sigtimedwait", false),
    (130, "rt_sigsuspend", false), (202, "futex", false), (208, "io_getevents", false),
    (220, "semtimedop", false), (230, "clock_nanosleep", false), (232, "epoll_wait", true),
    (247, "waitid", false), (257, "openat", false), (270, "pselect6", false), (271, "ppoll", false),
    (281, "epoll_pwait", true), (288, "accept4", true), (299, "recvmmsg", true), (441, "epoll_pwait2", true),
];

/// "system call `recvfrom` on fd 5, a socket", when the thread is in a call named here.
pub fn blocking_call(pid: u32, tid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let mut fields = text.split_whitespace();
    let number: i64 = fields.next()?.parse().ok()?;
    let (_, name, on_fd) = BLOCKING.iter().find(|(n, _, _)| *n == number)?;
    let mut out = format!("system call `{name}`");
    if *on_fd {
        let fd = fields.next().and_then(|arg| i64::from_str_radix(arg.trim_start_matches("0x"), 16).ok())?;
        out.push_str(&format!(" on fd {fd}"));
        if let Some(what) = describe_fd(pid, fd) {
            out.push_str(&format!(", {what}"));
        }
    }
    Some(out)
}

fn describe_fd(pid: u32, fd: i64) -> Option<String> {
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let target = target.to_string_lossy();
    Some(if target.starts_with("socket:") {
        "a socket".to_string()
    } else if target.starts_with("pipe:") {
        "a pipe".to_string()
    } else if let Some(kind) = target.strip_prefix("anon_inode:") {
        format!("an {}", kind.trim_matches(|c| c == '[' || c == ']'))
    } else {
        format!("`{target}`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_thread_blocked_on_a_pipe_is_described() {
        let (reader, _writer) = std::io::pipe().expect("pipe");
        let child = std::thread::spawn(move || {
            use std::io::Read;
            let mut reader = reader;
            let mut byte = [0u8; 1];
            let _ = reader.read(&mut byte);
        });
        let pid = std::process::id();
        let mut said = None;
        for _ in 0..200 {
            std::thread::sleep(Duration::from_millis(5));
            let tasks = crate::procfs::tasks(pid).expect("tasks");
            said = tasks.iter().filter_map(|tid| blocking_call(pid, *tid)).find(|s| s.contains("a pipe"));
            if said.is_some() {
                break;
            }
        }
        assert!(said.as_deref().is_some_and(|s| s.starts_with("system call `read` on fd ")), "{said:?}");
        drop(_writer);
        child.join().expect("reader ends");
    }
}
