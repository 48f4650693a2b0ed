//! File paths as borescope sees them versus as the debuggee sees them.
//!
//! A program borescope started shares its filesystem, so both are the same. A process attached
//! in a container (another mount namespace, or a chroot) names its files from its own root.
//! Reports keep the debuggee's names (they are what its tracebacks and logs say), and files
//! are read through `/proc/PID/root`, which reaches them in any namespace while the process
//! lives. Breakpoints typed by the user are checked against a file we can read and sent in the
//! debuggee's terms.
//!
//! A program reached by address (`attach HOST:PORT`) may run on another machine or in a
//! container whose files the user has locally under another directory; [`PathMappings`] holds
//! those directory pairs, and there the user's local names are shown.

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

/// Directories that hold the same files here and in a program on another machine or in a
/// container reached by address (`--path-map LOCAL=REMOTE`): breakpoints typed against local
/// files are sent with the program's paths, and the program's paths are shown as local ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMappings {
    /// (local, remote) directory pairs, longest local first.
    pairs: Vec<(String, String)>,
}

impl PathMappings {
    /// Mappings from (local, remote) directory pairs; trailing slashes are ignored.
    pub fn new(pairs: Vec<(String, String)>) -> PathMappings {
        let trim = |p: String| if p.len() > 1 { p.trim_end_matches('/').to_string() } else { p };
        let mut pairs: Vec<(String, String)> = pairs.into_iter().map(|(l, r)| (trim(l), trim(r))).collect();
        pairs.sort_by_key(|(local, _)| std::cmp::Reverse(local.len()));
        PathMappings { pairs }
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The (local, remote) pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A local path as the program names it.
    pub fn to_remote(&self, local: &str) -> String {
        for (from, to) in &self.pairs {
            if let Some(rest) = under(local, from) {
                return join(to, rest);
            }
        }
        local.to_string()
    }

    /// A path the program names, as a local one (the longest matching remote directory wins).
    pub fn to_local(&self, remote: &str) -> String {
        let best = self
            .pairs
            .iter()
            .filter_map(|(to, from)| Some((from.len(), to, under(remote, from)?)))
            .max_by_key(|(len, _, _)| *len);
        match best {
            Some((_, to, rest)) => join(to, rest),
            None => remote.to_string(),
        }
    }
}

/// The rest of `path` below `dir` (a whole path component), if it is below it.
fn under<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    if dir == "/" {
        return path.strip_prefix('/');
    }
    match path.strip_prefix(dir)? {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

fn join(dir: &str, rest: &str) -> String {
    match (dir, rest) {
        (_, "") => dir.to_string(),
        ("/", _) => format!("/{rest}"),
        _ => format!("{dir}/{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_translate_whole_components_both_ways() {
        let map = PathMappings::new(vec![("/home/me/proj/".into(), "/app".into()), ("/home/me/proj/vendor".into(), "/opt/vendor".into())]);
        assert_eq!(map.to_remote("/home/me/proj/main.py"), "/app/main.py");
        assert_eq!(map.to_remote("/home/me/proj/vendor/lib.py"), "/opt/vendor/lib.py");
        assert_eq!(map.to_remote("/home/me/project2/x.py"), "/home/me/project2/x.py");
        assert_eq!(map.to_local("/app/pkg/mod.py"), "/home/me/proj/pkg/mod.py");
        assert_eq!(map.to_local("/opt/vendor/lib.py"), "/home/me/proj/vendor/lib.py");
        assert_eq!(map.to_local("/apple/x.py"), "/apple/x.py");
        let root = PathMappings::new(vec![("/srv/rootfs".into(), "/".into())]);
        assert_eq!(root.to_local("/app/x.js"), "/srv/rootfs/app/x.js");
        assert_eq!(root.to_remote("/srv/rootfs/app/x.js"), "/app/x.js");
        assert!(PathMappings::default().is_empty());
    }

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
