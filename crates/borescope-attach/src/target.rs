//! One process as attach sees it: who owns it, which namespaces it shares with us, where its
//! filesystem is from here, and whether the pid still names the same process.

use crate::AttachError;
use borescope_inject::procfs::{self, Namespace, Status};
use borescope_inject::rootfs::{resolve_in_root, RootPathError};
use borescope_inject::InjectError;
use std::path::{Path, PathBuf};

/// A process to attach to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The pid (in our PID namespace).
    pub pid: u32,
    /// Its `/proc/PID/status`.
    pub status: Status,
    /// Its start time, which tells a reused pid from the original process.
    pub start_time: u64,
    /// Where its root directory is in our view (`/` for most processes, a rootfs for a chroot);
    /// `None` when the kernel cannot express it from here.
    pub root: Option<PathBuf>,
    /// True when it sees the same filesystem as we do (same mount namespace and root).
    pub same_filesystem: bool,
    /// True when its 127.0.0.1 is ours.
    pub same_network: bool,
    /// Its pid as it sees itself (differs inside a container's PID namespace).
    pub pid_inside: u32,
}

impl Target {
    /// Looks the process up.
    pub fn open(pid: u32) -> Result<Target, AttachError> {
        let status = procfs::status(&pid.to_string()).map_err(|_| InjectError::NoSuchProcess { pid })?;
        let start_time = procfs::stat(pid).map_err(|_| InjectError::NoSuchProcess { pid })?.start_time;
        if status.state == 'Z' {
            return Err(InjectError::Exited { pid }.into());
        }
        let root = procfs::root_link(pid).ok();
        let same_mount = procfs::shares_namespace(pid, Namespace::Mount).unwrap_or(false);
        let same_filesystem = same_mount && root.as_deref() == Some(Path::new("/"));
        let same_network = procfs::shares_namespace(pid, Namespace::Net).unwrap_or(true);
        let pid_inside = status.pid_inside().unwrap_or(pid);
        Ok(Target {
            pid,
            status,
            start_time,
            root,
            same_filesystem,
            same_network,
            pid_inside,
        })
    }

    /// True while the pid still names this process.
    pub fn alive(&self) -> bool {
        procfs::stat(self.pid).is_ok_and(|s| s.start_time == self.start_time && s.state != 'Z')
    }

    /// The error to return when it is gone.
    pub fn exited(&self) -> AttachError {
        InjectError::Exited { pid: self.pid }.into()
    }

    /// A path in the target's view, reachable from ours.
    pub fn outside(&self, inside: &str) -> PathBuf {
        if self.same_filesystem {
            PathBuf::from(inside)
        } else {
            procfs::in_root(self.pid, inside)
        }
    }

    /// An existing directory of the target's, resolved as the target resolves it (its own
    /// symlinks, never the host's): its symlink-free name in the target's view and where we
    /// reach it.
    pub fn directory(&self, inside: &str) -> Result<(String, PathBuf), RootPathError> {
        let reach = (!self.same_filesystem).then(|| self.outside("/"));
        directory_in(reach.as_deref(), inside)
    }

    /// Our thread id for the thread the target calls `tid` (they differ across PID namespaces).
    pub fn host_tid(&self, tid: u64) -> Option<u32> {
        if self.pid_inside == self.pid {
            return u32::try_from(tid).ok();
        }
        procfs::tasks(self.pid).ok()?.into_iter().find(|task| {
            procfs::status(&format!("{}/task/{task}", self.pid))
                .ok()
                .and_then(|s| s.pid_inside())
                .is_some_and(|inside| u64::from(inside) == tid)
        })
    }

    /// The owner's effective uid and gid.
    pub fn owner(&self) -> (u32, u32) {
        (self.status.uids[1], self.status.gids[1])
    }
}

/// [`Target::directory`] for a target whose `/` we reach at `reach` (`None`: the same view).
fn directory_in(reach: Option<&Path>, inside: &str) -> Result<(String, PathBuf), RootPathError> {
    match reach {
        None => Ok((inside.to_string(), PathBuf::from(inside))),
        Some(reach) => resolve_in_root(reach, inside).map(|found| (found.inside, found.readable)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_behind_the_targets_own_symlink_is_found_in_its_root() {
        // The target's /tmp is a symlink to /var/tmp, which the host's /var/tmp is not.
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/tmp")).unwrap();
        std::os::unix::fs::symlink("/var/tmp", root.path().join("tmp")).unwrap();
        let (inside, outside) = directory_in(Some(root.path()), "/tmp").unwrap();
        assert_eq!(inside, "/var/tmp");
        assert_eq!(outside, root.path().join("var/tmp"));
        assert!(directory_in(Some(root.path()), "/dev/shm").is_err());
        assert_eq!(directory_in(None, "/tmp").unwrap(), ("/tmp".to_string(), PathBuf::from("/tmp")));
    }
}
