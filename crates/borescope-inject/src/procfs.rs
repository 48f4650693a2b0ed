//! What `/proc` says about a process, parsed: no `ps`, no `lsof`, nothing that must exist
//! inside a container.
//!
//! Functions return `std::io::Result`; callers decide whether `NotFound` means "no such
//! process" and whether `PermissionDenied` needs a diagnosis. `/proc/PID/cmdline`, `stat` and
//! `status` are readable by anyone; `environ`, `maps`, `root`, `cwd` and `fd/` need the same
//! access as reading the process's memory (same user, or `CAP_SYS_PTRACE`).

use std::io;
use std::path::{Path, PathBuf};

/// The fields of `/proc/PID/status` borescope uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `Name:` (the command name, at most 15 bytes).
    pub name: String,
    /// `State:` letter (`R`, `S`, `D`, `T`, `Z`, ...).
    pub state: char,
    /// `PPid:`.
    pub ppid: u32,
    /// `Uid:` real, effective, saved, filesystem.
    pub uids: [u32; 4],
    /// `Gid:` real, effective, saved, filesystem.
    pub gids: [u32; 4],
    /// `NSpid:`: the pid in each nested PID namespace, outermost first.
    pub ns_pids: Vec<u32>,
    /// `CapEff:` effective capabilities.
    pub cap_eff: u64,
    /// `Seccomp:` 0 none, 1 strict, 2 filter.
    pub seccomp: Option<u8>,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
    /// `Threads:`.
    pub threads: u32,
    /// `TracerPid:`: the process tracing this one (a debugger, `strace`), 0 for none.
    pub tracer_pid: u32,
}

impl Status {
    /// The pid as the process itself sees it (innermost PID namespace).
    pub fn pid_inside(&self) -> Option<u32> {
        self.ns_pids.last().copied()
    }
}

/// `CAP_SYS_PTRACE`'s bit in capability masks.
pub const CAP_SYS_PTRACE: u64 = 1 << 19;
/// `CAP_SYS_ADMIN`'s bit (needed to enter another network namespace).
pub const CAP_SYS_ADMIN: u64 = 1 << 21;

/// Reads `/proc/PID/status` (`pid` may be `self`).
pub fn status(pid: &str) -> io::Result<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(parse_status(&text))
}

fn parse_status(text: &str) -> Status {
    let mut status = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let numbers = || value.split_whitespace().filter_map(|v| v.parse::<u32>().ok()).collect::<Vec<_>>();
        match key {
            "Name" => status.name = value.to_string(),
            "State" => status.state = value.chars().next().unwrap_or('?'),
            "PPid" => status.ppid = value.parse().unwrap_or(0),
            "Uid" => status.uids = four(&numbers()),
            "Gid" => status.gids = four(&numbers()),
            "NSpid" => status.ns_pids = numbers(),
            "CapEff" => status.cap_eff = u64::from_str_radix(value, 16).unwrap_or(0),
            "Seccomp" => status.seccomp = value.parse().ok(),
            "NoNewPrivs" => status.no_new_privs = value == "1",
            "Threads" => status.threads = value.parse().unwrap_or(0),
            "TracerPid" => status.tracer_pid = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    status
}

fn four(values: &[u32]) -> [u32; 4] {
    let mut out = [0; 4];
    for (slot, value) in out.iter_mut().zip(values) {
        *slot = *value;
    }
    out
}

/// The fields of `/proc/PID/stat` borescope uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stat {
    /// State letter.
    pub state: char,
    /// Parent pid.
    pub ppid: u32,
    /// User-mode CPU time, in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time, in clock ticks.
    pub stime: u64,
    /// Start time after boot, in clock ticks (with the pid, identifies a process uniquely).
    pub start_time: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Reads `/proc/PID/stat`.
pub fn stat(pid: u32) -> io::Result<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc/PID/stat"))
}

fn parse_stat(text: &str) -> Option<Stat> {
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let after = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let number = |index: usize| fields.get(index).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: number(1)? as u32,
        utime: number(11)?,
        stime: number(12)?,
        start_time: number(19)?,
        rss_pages: number(21)?,
    })
}

/// Every pid in `/proc`, ascending.
pub fn pids() -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// The thread ids of a process, ascending.
pub fn tasks(pid: u32) -> io::Result<Vec<u32>> {
    let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    tids.sort_unstable();
    Ok(tids)
}

/// The command line, split at NULs. Empty for kernel threads and zombies.
pub fn cmdline(pid: u32) -> io::Result<Vec<String>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline"))?;
    Ok(bytes
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect())
}

/// The environment the process started with (later changes made inside it are not shown).
pub fn environ(pid: u32) -> io::Result<Vec<(String, String)>> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ"))?;
    Ok(bytes
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let text = String::from_utf8_lossy(part);
            match text.split_once('=') {
                Some((key, value)) => (key.to_string(), value.to_string()),
                None => (text.into_owned(), String::new()),
            }
        })
        .collect())
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Permissions, e.g. `r-xp`.
    pub perms: String,
    /// Offset into the file.
    pub offset: u64,
    /// Inode of the mapped file (0 for anonymous mappings).
    pub inode: u64,
    /// The mapped file's path as the kernel prints it for us, without a ` (deleted)` suffix:
    /// in our view when the file is reachable from our root (a chroot), else relative to the
    /// target's (a container).
    pub path: Option<String>,
    /// The file was deleted (replaced by a package upgrade, say) after it was mapped.
    pub deleted: bool,
}

/// Reads `/proc/PID/maps`.
pub fn maps(pid: u32) -> io::Result<Vec<Mapping>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    Ok(text.lines().filter_map(parse_mapping).collect())
}

fn parse_mapping(line: &str) -> Option<Mapping> {
    let mut parts = line.splitn(6, char::is_whitespace);
    let range = parts.next()?;
    let perms = parts.next()?.to_string();
    let offset = u64::from_str_radix(parts.next()?, 16).ok()?;
    let _device = parts.next()?;
    let inode = parts.next()?.parse().ok()?;
    let rest = parts.next().unwrap_or("").trim_start();
    let (start, end) = range.split_once('-')?;
    let (path, deleted) = if rest.starts_with('/') {
        match rest.strip_suffix(" (deleted)") {
            Some(path) => (Some(path.to_string()), true),
            None => (Some(rest.to_string()), false),
        }
    } else {
        (None, false)
    };
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        inode,
        path,
        deleted,
    })
}

/// A path at which the file of `mapping` can be opened from here, checked by inode:
/// `/proc/PID/map_files/...` (exact, any namespace; needs privileges), then the path inside the
/// target's root, then the path in our own view.
pub fn mapped_file(pid: u32, mapping: &Mapping) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let path = mapping.path.as_deref()?;
    let candidates = [
        PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", mapping.start, mapping.end)),
        in_root(pid, path),
        PathBuf::from(path),
    ];
    candidates.into_iter().find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|meta| meta.ino() == mapping.inode)
            && std::fs::File::open(candidate).is_ok()
    })
}

/// A path inside the process's filesystem view, reachable from ours: `/proc/PID/root/PATH`.
/// This is how files of a process in another mount namespace (a container) are opened.
pub fn in_root(pid: u32, path: &str) -> PathBuf {
    Path::new(&format!("/proc/{pid}/root")).join(path.trim_start_matches('/'))
}

/// Where the process's root directory is in our view (e.g. a container's rootfs), when the
/// kernel can express it; `/` when it shares ours.
pub fn root_link(pid: u32) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/root"))
}

/// The process's working directory in *its own* view (what `os.getcwd()` returns there).
pub fn cwd_inside(pid: u32) -> io::Result<PathBuf> {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))?;
    let root = root_link(pid)?;
    Ok(match cwd.strip_prefix(&root) {
        Ok(rest) if root != Path::new("/") => Path::new("/").join(rest),
        _ => cwd,
    })
}

/// Namespace kinds borescope compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// Mount namespace (filesystem view).
    Mount,
    /// PID namespace.
    Pid,
    /// Network namespace (what 127.0.0.1 means).
    Net,
}

impl Namespace {
    fn file(self) -> &'static str {
        match self {
            Namespace::Mount => "mnt",
            Namespace::Pid => "pid",
            Namespace::Net => "net",
        }
    }

    /// `/proc/PID/ns/<kind>`, the handle `setns` takes.
    pub fn path(self, pid: u32) -> PathBuf {
        PathBuf::from(format!("/proc/{pid}/ns/{}", self.file()))
    }
}

/// True when the process shares this namespace with us; `None` when we may not look.
pub fn shares_namespace(pid: u32, kind: Namespace) -> Option<bool> {
    let ours = std::fs::read_link(format!("/proc/self/ns/{}", kind.file())).ok()?;
    let theirs = std::fs::read_link(kind.path(pid)).ok()?;
    Some(ours == theirs)
}

/// The kernel function a thread is sleeping in (`hrtimer_nanosleep`, `do_sys_poll`, ...), if
/// it is sleeping and the kernel says.
pub fn wchan(pid: u32, tid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/wchan")).ok()?;
    let text = text.trim();
    (!text.is_empty() && text != "0").then(|| text.to_string())
}

/// A thread's name (`comm`).
pub fn thread_name(pid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).ok().map(|s| s.trim().to_string())
}

/// TCP ports the process listens on (IPv4 and IPv6), found by matching the socket inodes of
/// its open files against its network namespace's listening sockets.
pub fn listening_ports(pid: u32) -> io::Result<Vec<u16>> {
    let mut listening = std::collections::HashMap::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1 (`ADDR:PORT` in hex), st is field 3 (0A = LISTEN), inode field 9.
            if fields.len() > 9 && fields[3] == "0A" {
                let port = fields[1].rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
                if let (Some(port), Ok(inode)) = (port, fields[9].parse::<u64>()) {
                    listening.insert(inode, port);
                }
            }
        }
    }
    let mut ports = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        let target = target.to_string_lossy();
        let inode = target.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse::<u64>().ok());
        if let Some(port) = inode.and_then(|i| listening.get(&i)) {
            ports.push(*port);
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// Clock ticks per second (for `Stat` times).
pub fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().map(|v| v as u64).filter(|v| *v > 0).unwrap_or(100)
}

/// Bytes per page (for `Stat::rss_pages`).
pub fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map(|v| v as u64).filter(|v| *v > 0).unwrap_or(4096)
}

/// The name of a user id, from the password database (falls back to the number).
pub fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let text = "Name:\tpython3.14\nState:\tS (sleeping)\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n\
                    Gid:\t100\t100\t100\t100\nNSpid:\t4242\t7\nCapEff:\t0000000000080000\nSeccomp:\t2\nThreads:\t3\n";
        let status = parse_status(text);
        assert_eq!(status.state, 'S');
        assert_eq!(status.uids, [1000; 4]);
        assert_eq!(status.pid_inside(), Some(7));
        assert_eq!(status.cap_eff & CAP_SYS_PTRACE, CAP_SYS_PTRACE);
        assert_eq!(status.seccomp, Some(2));
    }

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let text = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 12345 1000 55 18446744073709551615";
        let stat = parse_stat(text).expect("stat");
        assert_eq!((stat.state, stat.ppid, stat.utime, stat.stime, stat.start_time, stat.rss_pages), ('S', 1, 7, 3, 12345, 55));
    }

    #[test]
    fn parses_maps_lines() {
        let m = parse_mapping("7f00-7f80 r--p 00001000 fd:01 123  /usr/lib/libpython3.14.so.1.0 (deleted)").expect("mapping");
        assert_eq!((m.start, m.end, m.offset, m.deleted), (0x7f00, 0x7f80, 0x1000, true));
        assert_eq!(m.path.as_deref(), Some("/usr/lib/libpython3.14.so.1.0"));
        let anon = parse_mapping("7f00-7f80 rw-p 00000000 00:00 0 [heap]").expect("mapping");
        assert_eq!(anon.path, None);
    }

    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        assert!(pids().contains(&me));
        assert!(!cmdline(me).expect("cmdline").is_empty());
        assert!(stat(me).expect("stat").start_time > 0);
        assert_eq!(shares_namespace(me, Namespace::Mount), Some(true));
        assert!(maps(me).expect("maps").iter().any(|m| m.path.is_some()));
    }
}
