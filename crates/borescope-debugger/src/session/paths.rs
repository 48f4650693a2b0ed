//! File paths as borescope sees them versus as the debuggee sees them.
//!
//! A program borescope started shares its filesystem, so both are the same. A process attached
//! in a container (another mount namespace, or a chroot) names its files from its own root.
//! Reports keep the debuggee's names (they are what its tracebacks and logs say), and files
//! are read through `/proc/PID/root`, which reaches them in any namespace while the process
//! lives. Breakpoints typed by the user are checked against a file we can read and sent in the
//! debuggee's terms.

use borescope_model::Location;
use std::path::{Path, PathBuf};

/// Translates paths between our view and the debuggee's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMap {
    /// Where the debuggee's `/` can be reached from here (`/proc/PID/root`); `None` when the
    /// views are the same.
    reach: Option<PathBuf>,
    /// Where its root directory is in our view, when the kernel can name it (a chroot's rootfs).
    root: Option<PathBuf>,
}

impl PathMap {
    /// Same filesystem view.
    pub fn same() -> PathMap {
        PathMap::default()
    }

    /// The debuggee's `/` is reachable at `reach` (`/proc/PID/root`) and, when `root` is given
    /// and not `/`, is that directory of ours.
    pub fn rooted(reach: PathBuf, root: Option<PathBuf>) -> PathMap {
        PathMap {
            reach: Some(reach),
            root: root.filter(|r| r != Path::new("/")),
        }
    }

    /// True when the views differ.
    pub fn is_rooted(&self) -> bool {
        self.reach.is_some()
    }

    /// Where a file the debuggee names `theirs` can be read from here.
    pub fn readable(&self, theirs: &str) -> PathBuf {
        match &self.reach {
            Some(reach) if theirs.starts_with('/') => reach.join(theirs.trim_start_matches('/')),
            _ => PathBuf::from(theirs),
        }
    }

    /// A location as the user typed it, made checkable here: a path that exists only in the
    /// debuggee's view (`/app/main.py` in a container) is rewritten to where we can read it.
    pub fn locate(&self, location: Location, base: &Path) -> Location {
        if self.reach.is_some() && location.file.starts_with('/') && !base.join(&location.file).exists() {
            let readable = self.readable(&location.file);
            if readable.exists() {
                return Location { file: readable.display().to_string(), ..location };
            }
        }
        location
    }

    /// True when our path `ours` and the debuggee's `theirs` name the same file (through its
    /// root, or through symlinks on a shared filesystem).
    pub fn same_file(&self, ours: &str, theirs: &str) -> bool {
        ours == theirs
            || self.to_theirs(ours) == theirs
            || std::fs::canonicalize(self.readable(theirs)).is_ok_and(|real| Path::new(ours) == real)
    }

    /// Our path as the debuggee names it: under its root or its `/proc/PID/root`, the rest of
    /// the path; anything else is assumed to be the same path there (a shared mount).
    pub fn to_theirs(&self, ours: &str) -> String {
        for prefix in [&self.root, &self.reach].into_iter().flatten() {
            if let Ok(rest) = Path::new(ours).strip_prefix(prefix) {
                return Path::new("/").join(rest).display().to_string();
            }
        }
        ours.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_through_the_process_root_and_sends_its_names() {
        let map = PathMap::rooted(PathBuf::from("/proc/42/root"), Some(PathBuf::from("/srv/rootfs")));
        assert_eq!(map.readable("/app/main.py"), PathBuf::from("/proc/42/root/app/main.py"));
        assert_eq!(map.to_theirs("/srv/rootfs/app/main.py"), "/app/main.py");
        assert_eq!(map.to_theirs("/proc/42/root/app/main.py"), "/app/main.py");
        assert_eq!(map.to_theirs("/tmp/shared.py"), "/tmp/shared.py");
        assert_eq!(map.readable("<string>"), PathBuf::from("<string>"));
        let same = PathMap::same();
        assert!(!same.is_rooted());
        assert_eq!(same.readable("/app/x.py"), PathBuf::from("/app/x.py"));
    }
}
