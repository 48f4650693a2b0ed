//! File paths as borescope sees them versus as the debuggee sees them.
//!
//! A program borescope started shares its filesystem, so both are the same. A process attached
//! in a container (another mount namespace, or a chroot) names its files from its own root.
//! Reports keep the debuggee's names (they are what its tracebacks and logs say), and files
//! are read through `/proc/PID/root`, which reaches them in any namespace while the process
//! lives. Below that link, paths are resolved the way the debuggee would resolve them
//! ([`resolve_in_root`]: its symlinks, its `..`), never canonicalised from here, which would
//! land in the host's filesystem. Breakpoints typed by the user are checked against the file
//! the debuggee would open and sent in its terms.
//!
//! A program reached by address (`attach HOST:PORT`) may run on another machine or in a
//! container whose files the user has locally under another directory; [`PathMappings`] holds
//! those directory pairs, and there the user's local names are shown.

use crate::error::LocationProblem;
use crate::locate::{check_file, problem, resolve_location};
use borescope_inject::rootfs::resolve_in_root;
use borescope_model::{Language, Location};
use std::path::{Path, PathBuf};

/// Translates paths between our view and the debuggee's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMap {
    /// Where the debuggee's `/` can be reached from here (`/proc/PID/root`); `None` when the
    /// views are the same.
    reach: Option<PathBuf>,
    /// Where its root directory is in our view, when the kernel can name it (a chroot's rootfs).
    root: Option<PathBuf>,
    /// Its working directory, for relative paths, when ours means nothing to it (a pod).
    cwd: Option<String>,
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
            cwd: None,
        }
    }

    /// A debuggee on another machine whose files were copied to `mirror` (their paths below
    /// it); relative paths are taken from its working directory `cwd`.
    pub fn mirrored(mirror: PathBuf, cwd: String) -> PathMap {
        PathMap {
            reach: Some(mirror),
            root: None,
            cwd: Some(cwd),
        }
    }

    /// True when the views differ.
    pub fn is_rooted(&self) -> bool {
        self.reach.is_some()
    }

    /// Where a file the debuggee names `theirs` can be read from here (resolved in its root;
    /// a name that does not resolve there is returned joined, for the read to fail).
    pub fn readable(&self, theirs: &str) -> PathBuf {
        match &self.reach {
            Some(reach) if theirs.starts_with('/') => match resolve_in_root(reach, theirs) {
                Ok(found) => found.readable,
                Err(_) => reach.join(theirs.trim_start_matches('/')),
            },
            _ => PathBuf::from(theirs),
        }
    }

    /// Resolves and checks a location as the user typed it (relative paths from `base`).
    ///
    /// In the same view this is [`resolve_location`]. For a debuggee with its own root, an
    /// absolute path, or one of ours that lies under its root, is looked up in its root as it
    /// would resolve it and reported in its names; a file found only in our view is checked
    /// here (a mount it shares with us).
    pub fn resolve(&self, location: &Location, base: &Path, language: Language) -> Result<Location, LocationProblem> {
        let Some(reach) = &self.reach else {
            return resolve_location(location, base, Some(language));
        };
        let ours = base.join(&location.file);
        let theirs = match &self.cwd {
            Some(cwd) => Some(Path::new(cwd).join(&location.file).display().to_string()),
            None => self
                .strip_ours(&ours)
                .or_else(|| location.file.starts_with('/').then(|| location.file.clone())),
        };
        let missed = match theirs.as_deref().map(|theirs| resolve_in_root(reach, theirs)) {
            Some(Ok(found)) => return check_file(location, found.inside, &found.readable, Some(language)),
            Some(Err(error)) => Some(error),
            None => None,
        };
        if let (Some(cwd), Some(error)) = (&self.cwd, &missed) {
            return Err(problem(
                location,
                format!("not among the program's files borescope copied from {cwd} ({error}); name a file under its working directory, or by its absolute path there"),
            ));
        }
        if ours.exists() {
            return resolve_location(location, base, Some(language));
        }
        Err(problem(
            location,
            match missed {
                Some(error) => format!(
                    "file not found in the attached process's filesystem ({error}), nor here (`{}`)",
                    ours.display()
                ),
                None => format!(
                    "file not found (looked for `{}`; name a file of the attached process by its absolute path there)",
                    ours.display()
                ),
            },
        ))
    }

    /// Our path under the debuggee's root or its `/proc/PID/root`, as the debuggee names it.
    fn strip_ours(&self, ours: &Path) -> Option<String> {
        [&self.root, &self.reach]
            .into_iter()
            .flatten()
            .find_map(|prefix| ours.strip_prefix(prefix).ok())
            .map(|rest| Path::new("/").join(rest).display().to_string())
    }

    /// True when our path `ours` and the debuggee's `theirs` name the same file (through its
    /// root, or through symlinks on a shared filesystem).
    pub fn same_file(&self, ours: &str, theirs: &str) -> bool {
        if ours == theirs || self.to_theirs(ours) == theirs {
            return true;
        }
        match &self.reach {
            // Resolved in its root as it would resolve it (its symlinks), never from here.
            Some(reach) if theirs.starts_with('/') => resolve_in_root(reach, theirs)
                .is_ok_and(|found| found.inside == ours || found.inside == self.to_theirs(ours)),
            Some(_) => false,
            None => std::fs::canonicalize(theirs).is_ok_and(|real| Path::new(ours) == real),
        }
    }

    /// Our path as the debuggee names it: under its root or its `/proc/PID/root`, the rest of
    /// the path; anything else is assumed to be the same path there (a shared mount).
    pub fn to_theirs(&self, ours: &str) -> String {
        self.strip_ours(Path::new(ours)).unwrap_or_else(|| ours.to_string())
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

    /// A stand-in for `/proc/PID/root`: a directory whose absolute symlinks mean something
    /// only inside it (`/srv/app/current -> /srv/app/v2`).
    fn fake_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("srv/app");
        std::fs::create_dir_all(app.join("v2")).unwrap();
        std::fs::write(app.join("v2/main.py"), "import os\n\nx = 1\n").unwrap();
        std::os::unix::fs::symlink("/srv/app/v2", app.join("current")).unwrap();
        dir
    }

    fn at(file: &str, line: u32) -> Location {
        Location { file: file.into(), line }
    }

    #[test]
    fn locations_resolve_in_the_debuggee_root_and_keep_its_names() {
        let root = fake_root();
        let map = PathMap::rooted(root.path().to_path_buf(), None);
        let here = Path::new("/");
        let found = map.resolve(&at("/srv/app/current/main.py", 3), here, Language::Python).unwrap();
        assert_eq!(found.file, "/srv/app/v2/main.py");
        // Our own path into its root names the same file.
        let ours = root.path().join("srv/app/current/main.py").display().to_string();
        assert_eq!(map.resolve(&at(&ours, 3), here, Language::Python).unwrap().file, "/srv/app/v2/main.py");
        let blank = map.resolve(&at("/srv/app/current/main.py", 2), here, Language::Python).unwrap_err();
        assert!(blank.reason.contains("blank line"), "{blank}");
        assert_eq!((blank.before, blank.after), (Some(1), Some(3)));
        let missing = map.resolve(&at("/srv/app/current/nope.py", 1), here, Language::Python).unwrap_err();
        assert!(missing.reason.contains("`/srv/app/v2/nope.py` does not exist"), "{missing}");
        let relative = map.resolve(&at("nope.py", 1), here, Language::Python).unwrap_err();
        assert!(relative.reason.contains("by its absolute path there"), "{relative}");
        assert_eq!(map.readable("/srv/app/current/main.py"), root.path().join("srv/app/v2/main.py"));
    }

    #[test]
    fn a_file_only_we_can_see_is_checked_here() {
        let root = fake_root();
        let map = PathMap::rooted(root.path().to_path_buf(), None);
        let shared = tempfile::tempdir().unwrap();
        std::fs::write(shared.path().join("tool.py"), "y = 2\n").unwrap();
        let found = map.resolve(&at("tool.py", 1), shared.path(), Language::Python).unwrap();
        let canonical = shared.path().canonicalize().unwrap().join("tool.py");
        assert_eq!(found.file, canonical.display().to_string());
        assert_eq!(map.to_theirs(&found.file), found.file);
    }
}
